"""The writer of read audit rows (shared.audit_reads): a batch per interval, nothing lost while
the database refuses, the last rows written at shut-down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from shared import audit, audit_reads
from shared.audit_reads import ReadRecorder
from shared.auth import Principal
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.tables import AuditRecord

CLERK = Principal("clerk-7", frozenset({"registry:read"}), area="140502")
PATH = ("140500", "140502", "140502001", "140502001001")


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    upgrade("casework", url)  # any service: every one has the audit branch
    return url


def rows(*ids: str) -> list[audit.AuditRow]:
    return audit.entry_rows(CLERK, "read-masked", "resident", [(rid, PATH) for rid in ids])


async def stored(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            found = await session.scalars(select(AuditRecord).order_by(AuditRecord.id))
            return [row.resource_id for row in found]
    finally:
        await engine.dispose()


async def test_rows_are_written_in_a_batch_within_the_interval_and_at_shut_down(
    sqlite_database: str,
) -> None:
    engine = create_engine(sqlite_database)
    recorder = ReadRecorder(session_factory(engine))
    stop = asyncio.Event()
    task = asyncio.create_task(recorder.run(stop))
    try:
        recorder.add(rows("r-1", "r-2"))
        for _ in range(100):  # written by the task itself, within about one interval
            if recorder.pending == 0 and await stored(sqlite_database):
                break
            await asyncio.sleep(audit_reads.FLUSH_INTERVAL_S / 2)
        assert await stored(sqlite_database) == ["r-1", "r-2"]
        recorder.add(rows("r-3"))
        stop.set()  # a graceful stop writes what is still held
        await task
        assert await stored(sqlite_database) == ["r-1", "r-2", "r-3"]
    finally:
        stop.set()
        await engine.dispose()


async def test_rows_a_failed_write_held_are_written_next_in_their_order(
    sqlite_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(sqlite_database)
    recorder = ReadRecorder(session_factory(engine))
    try:
        recorder.add(rows("r-1", "r-2"))

        async def refused(*_args: object, **_kwargs: object) -> None:
            raise ConnectionRefusedError(111, "Connect call failed")

        with monkeypatch.context() as patched:
            patched.setattr(audit_reads, "insert_records", refused)
            with pytest.raises(ConnectionRefusedError):
                await recorder.flush()
        assert recorder.pending == 2
        recorder.add(rows("r-3"))
        assert await recorder.flush() == 3
        assert await stored(sqlite_database) == ["r-1", "r-2", "r-3"]
    finally:
        await engine.dispose()


def test_beyond_the_cap_the_oldest_rows_are_dropped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(audit_reads, "MAX_PENDING_ROWS", 3)
    recorder = ReadRecorder(session_factory(create_engine("sqlite+aiosqlite://")))
    recorder.add(rows("r-1", "r-2"))
    recorder.add(rows("r-3", "r-4"))
    assert recorder.pending == 3
    assert "1 read rows dropped" in caplog.text
