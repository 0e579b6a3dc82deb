"""What the bulk import does for speed keeps its rules: the control-character scan finds what
the character-by-character check found, the garbage collector paused for a batch comes back
on as it was, and the batch validated ahead arrives in order with its producer's errors."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import unicodedata
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry import importer
from registry.adapters import people
from registry.adapters.events import translate
from registry.domain.text import BIDI_CONTROLS, control_character
from registry.pii import PiiProtector
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.migrations import upgrade


@pytest.mark.unit
def test_the_scan_finds_exactly_the_control_and_bidi_characters() -> None:
    for code in range(sys.maxunicode + 1):
        character = chr(code)
        refused = character in BIDI_CONTROLS or unicodedata.category(character) == "Cc"
        expected = f"U+{code:04X}" if refused else None
        assert control_character(f"ab{character}") == expected, hex(code)
    assert control_character("东街\u202e1\x00") == "U+202E"  # the first one found


@pytest.mark.unit
def test_the_import_ids_are_the_uuid5_of_their_names() -> None:
    for ref in ("H-1", "东城区-7", "", "x" * 300, "a:b@c"):
        for scope in (None, "c1", "110105"):
            for kind in ("household", "facility", "worker", "volunteer"):
                name = f"{kind}:{ref}" if scope is None else f"{kind}@{scope}:{ref}"
                expected = str(uuid.uuid5(importer.IMPORT_NAMESPACE, name))
                assert importer.record_id_for(kind, ref, scope) == expected
            assert importer.household_id_for(ref, scope) == str(
                uuid.uuid5(
                    importer.IMPORT_NAMESPACE,
                    f"household{'' if scope is None else '@' + scope}:{ref}",
                )
            )
            assert importer.facility_id_for(ref, scope) == importer.record_id_for(
                "facility", ref, scope
            )


@pytest.mark.unit
def test_a_paused_collector_comes_back_as_it_was() -> None:
    assert gc.isenabled()
    with importer.collection_paused():
        assert not gc.isenabled()
        with importer.collection_paused():  # another import's batch at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with importer.collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # off before: stays off
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), importer.collection_paused():
        raise RuntimeError("a failed batch")
    assert gc.isenabled()


@pytest.fixture
async def sqlite_sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a fresh SQLite database, migrated (the conftest's ``sessions`` are on
    PostgreSQL)."""
    await asyncio.to_thread(upgrade, "registry", sqlite_url)
    engine = create_engine(sqlite_url)
    yield session_factory(engine)
    await engine.dispose()


async def lines(rows: list[dict[str, str]]) -> AsyncIterator[str]:
    for row in rows:
        yield json.dumps(row) + "\n"


@pytest.mark.unit
async def test_an_import_leaves_the_collector_on(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[bool] = []

    async def on_batch(_report: importer.ImportReport) -> None:
        seen.append(gc.isenabled())

    pii = PiiProtector.from_settings(Settings(environment="development"))
    area = {"type": "area", "level": "city", "name": "C", "valid_from": "2000-01-01"}
    report = await importer.import_rows(
        sqlite_sessions,
        translate=translate,
        pii=pii,
        lines=lines([{**area, "id": f"9{n}"} for n in range(3)] + [{"type": "area"}]),
        fmt="ndjson",
        today=date(2026, 1, 1),
        batch_size=2,
        on_batch=on_batch,
    )
    assert (report.accepted, report.rejected) == (3, 1)
    assert seen == [True, True]
    assert gc.isenabled()


async def numbers(count: int, *, fail_at: int | None = None) -> AsyncIterator[int]:
    for number in range(count):
        if number == fail_at:
            raise ValueError(f"unreadable at {number}")
        yield number
        await asyncio.sleep(0)


@pytest.mark.unit
async def test_one_ahead_hands_over_in_order_and_raises_where_the_producer_failed() -> None:
    assert [n async for n in importer._one_ahead(numbers(5))] == [0, 1, 2, 3, 4]
    seen: list[int] = []

    async def consume() -> None:
        async for number in importer._one_ahead(numbers(9, fail_at=3)):
            seen.append(number)

    with pytest.raises(ValueError, match="unreadable at 3"):
        await consume()
    assert seen == [0, 1, 2]


@pytest.mark.unit
async def test_one_ahead_stops_its_producer_when_the_consumer_stops() -> None:
    produced: list[int] = []

    async def endless() -> AsyncIterator[int]:
        number = 0
        while True:
            produced.append(number)
            yield number
            number += 1

    async with aclosing(importer._one_ahead(endless())) as ahead:
        async for number in ahead:
            if number == 2:
                break
    await asyncio.sleep(0.01)
    stopped_at = len(produced)
    await asyncio.sleep(0.01)
    assert len(produced) == stopped_at <= 5  # at most one ahead, and nothing after the stop


@pytest.mark.integration
@pytest.mark.parametrize("refresh_delay_s", [0.0, 0.5], ids=["quick", "slow refreshes"])
async def test_the_statistics_refreshed_in_the_background_are_there_when_the_import_reports(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch, refresh_delay_s: float
) -> None:
    """Slow refreshes (a loaded machine) are still running when the rows next double, so the
    refresh then due is skipped: the import runs it before it reports."""
    refresh = importer._refresh_statistics

    async def slow_refresh(sessions: Any, filled: set[str]) -> None:
        await refresh(sessions, filled)
        await asyncio.sleep(refresh_delay_s)  # still running while the next batches go in

    monkeypatch.setattr(importer, "_refresh_statistics", slow_refresh)
    await asyncio.to_thread(upgrade, "registry", fresh_postgres_url)
    engine = create_engine(fresh_postgres_url)
    pii = PiiProtector.from_settings(Settings(environment="development"))
    area = {"type": "area", "level": "city", "name": "C", "valid_from": "2000-01-01"}
    report = await importer.import_rows(
        session_factory(engine),
        translate=translate,
        pii=pii,
        lines=lines([{**area, "id": f"9{n}"} for n in range(40)]),
        fmt="ndjson",
        today=date(2026, 1, 1),
        batch_size=4,
    )
    async with engine.connect() as connection:
        analysed = await connection.scalar(
            text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'area'")
        )
        counted = await connection.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'area'")
        )
        untouched = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
                " AND relname IN ('household', 'resident', 'facility')"
            )
        )
    await engine.dispose()
    assert report.accepted == 40
    assert analysed
    assert untouched == 0  # only the tables the import filled
    # A refresh is due when the rows have doubled since the last one began, and one still
    # running when it falls due is skipped, so when the refreshes began depends on the
    # machine's speed. What the import promises: the last refresh ended before it reported and
    # began with more than half of its rows in (else it runs one more), so it counted them.
    assert 40 / 2 < counted <= 40


@pytest.mark.integration
async def test_a_table_holding_rows_is_refreshed_when_the_import_doubles_them(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows an import brings are counted against those the table held: 40 areas into a
    table counted at 40 double nothing before the end (no refresh); into an empty one the
    refreshes begin at the fourth row."""
    refresh = importer._refresh_statistics
    refreshed: list[set[str]] = []

    async def counted_refresh(sessions: Any, filled: set[str]) -> None:
        refreshed.append(filled)
        await refresh(sessions, filled)

    monkeypatch.setattr(importer, "_refresh_statistics", counted_refresh)
    await asyncio.to_thread(upgrade, "registry", fresh_postgres_url)
    engine = create_engine(fresh_postgres_url)
    pii = PiiProtector.from_settings(Settings(environment="development"))
    area = {"type": "area", "level": "city", "name": "C", "valid_from": "2000-01-01"}

    async def import_areas(first: int) -> int:
        refreshed.clear()
        report = await importer.import_rows(
            session_factory(engine),
            translate=translate,
            pii=pii,
            lines=lines([{**area, "id": f"9{n}"} for n in range(first, first + 40)]),
            fmt="ndjson",
            today=date(2026, 1, 1),
            batch_size=4,
        )
        assert report.accepted == 40
        return len(refreshed)

    try:
        assert await import_areas(0) >= 1
        assert refreshed[-1] == {"area"}
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE area"))
        assert await import_areas(100) == 0
        async with engine.connect() as connection:
            counted = await connection.scalar(
                text("SELECT reltuples FROM pg_class WHERE relname = 'area'")
            )
        assert counted == 40  # half the 80 rows: what the import promises
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_a_batch_looks_its_keys_up_through_the_index(fresh_postgres_url: str) -> None:
    """A thousand keys in a table of a few thousand rows: the planner would scan the table
    (what made each batch of an import read the whole register), but not inside
    key_lookups, which leaves the setting as it found it."""
    await asyncio.to_thread(upgrade, "registry", fresh_postgres_url)
    engine = create_engine(fresh_postgres_url)
    hashes = [f"{number:064x}" for number in range(1000)]
    query = text("EXPLAIN SELECT id FROM resident WHERE national_id_hash = ANY(:hashes)")
    try:
        async with session_factory(engine)() as session, session.begin():
            for statement in (
                "INSERT INTO area (id, level, name, path, valid_from, created_at)"
                " VALUES ('c', 'community', 'C', '/c/', '2000-01-01', now())",
                "INSERT INTO household"
                " VALUES ('h', 'c', '/c/', 'A', '2000-01-01', 1, now(), now())",
                "INSERT INTO resident (id, national_id_encrypted, national_id_hash, name, sex,"
                " birth_date, household_id, community_id, community_path, registration,"
                " employment_status, disabled, flags_mask, status, registered_on, version,"
                " created_at, updated_at)"
                " SELECT md5(n::text), 'x', md5(n::text) || md5(n::text), 'x', 'male',"
                " '2000-01-01', 'h', 'c', '/c/', 'registered', 'employed', false, 0, 'alive',"
                " '2000-01-01', 1, now(), now() FROM generate_series(1, 5000) AS n",
            ):
                await session.execute(text(statement))
            await session.execute(text("ANALYZE resident"))

            async def plan() -> str:
                rows = await session.execute(query, {"hashes": hashes})
                return "\n".join(row[0] for row in rows)

            assert "Seq Scan" in await plan()
            async with people.key_lookups(session):
                inside = await plan()
                assert "Index" in inside
                assert "Seq Scan" not in inside
            assert "Seq Scan" in await plan()
    finally:
        await engine.dispose()
