"""The write engine's pool: no ping on a busy connection, yet none handed out dead.

A ping costs three round trips (``BEGIN``, ``;``, ``ROLLBACK``), as much as a small write's own
statements, so ``shared.db.create_engine`` checks a connection at checkout without one: a
connection the server closed (a restart terminates every backend) is replaced, and only one
idle longer than ``PING_AFTER_IDLE_S`` is pinged.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import PING_AFTER_IDLE_S, create_engine
from shared.testing.postgres import terminate_connections

pytestmark = pytest.mark.integration


def _count_pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return bool(real_ping(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counted_ping)
    return pings


async def _write(engine: AsyncEngine, value: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO pool_probe VALUES (:value)"), {"value": value})


async def test_busy_connections_are_not_pinged_and_closed_ones_are_replaced(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(fresh_postgres_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE pool_probe (value integer)"))
        pings = _count_pings(engine, monkeypatch)
        for value in range(3):
            await _write(engine, value)
        assert pings == []
        terminate_connections(fresh_postgres_url)
        await asyncio.sleep(0.2)  # the driver sees the sockets close (a restart takes longer)
        await _write(engine, 3)  # no error: the dead connection was never handed out
        assert pings == []
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM pool_probe")) == 4
    finally:
        await engine.dispose()


async def test_a_connection_idle_longer_than_the_threshold_is_pinged(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert PING_AFTER_IDLE_S > 1  # busy connections (a write every few ms) are never pinged
    engine = create_engine(fresh_postgres_url, ping_after_idle_s=0.0)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE pool_probe (value integer)"))
        pings = _count_pings(engine, monkeypatch)
        await _write(engine, 1)
        assert len(pings) == 1
        answers = iter([False])  # the server went away without closing the socket
        real_ping = engine.dialect.do_ping
        monkeypatch.setattr(
            engine.dialect,
            "do_ping",
            lambda dbapi_connection: next(answers, None) or real_ping(dbapi_connection),
        )
        await _write(engine, 2)  # the dead connection is replaced by a fresh one
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM pool_probe")) == 2
    finally:
        await engine.dispose()
