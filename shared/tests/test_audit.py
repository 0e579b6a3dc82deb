"""The audit log kit (shared.audit): append-only on SQLite (here) and PostgreSQL
(tests/test_audit_log.py), free of id numbers, written with the change or not at all."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import audit
from shared.auth import Principal
from shared.context import correlation_id_var
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.tables import AuditRecord
from shared.unit_of_work import unit_of_work

CLERK = Principal("clerk-7", frozenset({"registry:read"}), area="140502")
PATH = ("140500", "140502", "140502001", "140502001001")


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    upgrade("casework", url)  # any service: every one has the audit branch
    return url


async def count(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(AuditRecord)) or 0)
    finally:
        await engine.dispose()


async def test_a_read_is_one_row_with_who_what_where_and_the_correlation_id(
    sqlite_database: str,
) -> None:
    engine = create_engine(sqlite_database)
    token = correlation_id_var.set("req-42")
    try:
        written = await audit.record_reads(
            session_factory(engine), CLERK, "resident", [("r-1", PATH), ("r-2", PATH)]
        )
        async with session_factory(engine)() as session:
            rows = (await session.scalars(select(AuditRecord).order_by(AuditRecord.id))).all()
    finally:
        correlation_id_var.reset(token)
        await engine.dispose()
    assert written == 2
    assert [(r.actor, r.action, r.resource_type, r.resource_id) for r in rows] == [
        ("clerk-7", "read", "resident", "r-1"),
        ("clerk-7", "read", "resident", "r-2"),
    ]
    assert {r.area_path for r in rows} == {"/140500/140502/140502001/140502001001/"}
    assert {r.correlation_id for r in rows} == {"req-42"}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone-else'",
        "DELETE FROM audit_log",
    ],
)
async def test_rows_cannot_be_changed_or_deleted_on_sqlite(
    sqlite_database: str, statement: str
) -> None:
    engine = create_engine(sqlite_database)
    try:
        await audit.record_reads(session_factory(engine), CLERK, "resident", [("r-1", PATH)])
        with pytest.raises(DatabaseError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()
    assert await count(sqlite_database) == 1


async def failing_change(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions, translate=lambda event: None) as uow:
        audit.record_change(uow, CLERK, "update", "resident", "r-2", PATH)
        raise RuntimeError("the change failed")


async def test_a_change_and_its_audit_row_commit_together_or_not_at_all(
    sqlite_database: str,
) -> None:
    engine = create_engine(sqlite_database)
    sessions = session_factory(engine)
    try:
        async with unit_of_work(sessions, translate=lambda event: None) as uow:
            audit.record_change(uow, CLERK, "update", "resident", "r-1", PATH)
        with pytest.raises(RuntimeError):
            await failing_change(sessions)
        async with unit_of_work(sessions, translate=lambda event: None) as uow:
            audit.record_change(uow, None, "create", "resident", "r-3", PATH)  # the platform
    finally:
        await engine.dispose()
    assert await count(sqlite_database) == 1


@pytest.mark.parametrize(
    "resource_id", ["110101199003077578", "11010119900307757X", "id 110101199003077578"]
)
def test_an_id_number_is_never_written(resource_id: str) -> None:
    with pytest.raises(ValueError, match="national id number"):
        audit.entry(CLERK, "read", "resident", resource_id, PATH)


def test_ids_that_merely_hold_digits_are_fine() -> None:
    for resource_id in ("2026113000000012", "demo-r-01", "0f8fad5b-d9cb-469f-a165-70867728950e"):
        assert audit.entry(CLERK, "read", "case", resource_id, PATH)["resource_id"] == resource_id


def test_the_quick_check_refuses_exactly_what_the_pattern_finds() -> None:
    """The run-of-digits filter before the pattern changes nothing of what is refused."""
    rng = random.Random(7)
    alphabet = "0123456789Xx-a٣ \udc80"  # an Arabic-Indic digit and a lone surrogate too
    for _ in range(3000):
        ids = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
            for _ in range(rng.randint(1, 3))
        ]
        ids += ["1" * rng.randint(15, 19) + rng.choice("0Xxa-")]
        expected = audit._ID_NUMBER.search("\n".join(ids)) is not None
        try:
            audit._refuse_id_numbers(ids)
        except ValueError:
            refused = True
        else:
            refused = False
        assert refused is expected, ids


def test_area_paths_are_stored_in_the_shared_form() -> None:
    assert audit.entry(CLERK, "read", "x", "1", PATH)["area_path"] == (
        "/140500/140502/140502001/140502001001/"
    )
    assert audit.entry(CLERK, "read", "x", "1", "/a/b/")["area_path"] == "/a/b/"


def test_the_migration_runs_twice_without_harm(sqlite_database: str) -> None:
    upgrade("casework", sqlite_database)
    assert asyncio.run(count(sqlite_database)) == 0
