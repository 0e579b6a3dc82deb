"""Two batches of an import under way at once on PostgreSQL: a batch of residents (or of
households) is stored while the one before it commits, batches commit in order, a failed batch
fails the one stored beside it, and a batch of another kind waits for the one before."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry import importer
from registry.adapters.events import translate
from registry.adapters.people import HouseholdRow, ResidentRow
from registry.domain.national_id import check_character
from registry.pii import PiiProtector
from registry.settings import Settings

pytestmark = pytest.mark.integration

BEGINS_S = 5.0
"""How long a batch waits for another that should begin beside it (it begins at once)."""
STAYS_S = 1.0
"""How long a batch waits for another that must not begin beside it (it would at once)."""

AREAS: list[dict[str, object]] = [
    {"type": "area", "id": "c1", "level": "city", "name": "C", "valid_from": "2005-01-01"},
    {
        "type": "area",
        "id": "d1",
        "level": "district",
        "name": "D",
        "parent_id": "c1",
        "valid_from": "2005-01-01",
    },
    {
        "type": "area",
        "id": "s1",
        "level": "street",
        "name": "S",
        "parent_id": "d1",
        "valid_from": "2005-01-01",
    },
    {
        "type": "area",
        "id": "m1",
        "level": "community",
        "name": "M",
        "parent_id": "s1",
        "valid_from": "2005-01-01",
    },
]

HOUSEHOLDS: list[dict[str, object]] = [
    {
        "type": "household",
        "ref": f"H-{number}",
        "community_id": "m1",
        "address": f"{number} Xijie",
        "registered_on": "2010-03-01",
    }
    for number in range(4)
]


def resident(number: int) -> dict[str, object]:
    first17 = f"110105{1950 + number}0504{number:03d}"
    return {
        "type": "resident",
        "national_id": first17 + check_character(first17),
        "name": f"R{number}",
        "sex": "male" if number % 2 else "female",
        "birth_date": f"{1950 + number}-05-04",
        "household_ref": f"H-{number % 4}",
        "employment_status": "retired",
    }


RESIDENTS = [resident(number) for number in range(6)]
"""Three batches of two (``batch_size=2``), after two batches of households."""


async def lines(rows: Sequence[dict[str, object]]) -> AsyncIterator[str]:
    for row in rows:
        yield json.dumps(row) + "\n"


class Batches:
    """Stands in for ``importer._store_batch``: notes which batch (by kind and first line)
    began storing, and lets one batch wait, before it stores, for another to begin."""

    def __init__(self) -> None:
        self.began: list[tuple[str, int]] = []
        self.events: dict[tuple[str, int], asyncio.Event] = {}
        self.waits: dict[tuple[str, int], tuple[tuple[str, int], float]] = {}
        self.saw: dict[tuple[str, int], bool] = {}
        self.fails: set[tuple[str, int]] = set()
        self.store = importer._store_batch

    def event(self, batch: tuple[str, int]) -> asyncio.Event:
        return self.events.setdefault(batch, asyncio.Event())

    async def __call__(self, uow: Any, parsed: Sequence[Any], **kwargs: Any) -> None:
        if not parsed:
            raise AssertionError("a batch of refused rows only reached the store")
        batch = (parsed[0].record.type, parsed[0].line)
        self.began.append(batch)
        self.event(batch).set()
        if batch in self.waits:
            awaited, seconds = self.waits[batch]
            try:
                await asyncio.wait_for(self.event(awaited).wait(), seconds)
                self.saw[batch] = True
            except TimeoutError:
                self.saw[batch] = False
        if batch in self.fails:
            raise RuntimeError(f"batch at line {batch[1]} failed")
        await self.store(uow, parsed, **kwargs)


async def run_import(
    sessions: async_sessionmaker[AsyncSession], rows: Sequence[dict[str, object]]
) -> importer.ImportReport:
    return await importer.import_rows(
        sessions,
        translate=translate,
        pii=PiiProtector.from_settings(Settings(environment="development")),
        lines=lines(rows),
        fmt="ndjson",
        today=date(2026, 1, 1),
        batch_size=2,
    )


async def residents_stored(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ResidentRow)) or 0)


async def test_a_batch_of_residents_is_stored_while_the_one_before_commits(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first batch of residents (lines 9-10) holds its transaction open until the
    second (lines 11-12) has begun: an import storing one batch at a time would make it wait
    in vain. The last batch of households (lines 7-8) waits likewise for the first batch of
    residents, which must not begin before the households it names have committed."""
    batches = Batches()
    batches.waits[("resident", 9)] = (("resident", 11), BEGINS_S)
    batches.waits[("household", 7)] = (("resident", 9), STAYS_S)
    monkeypatch.setattr(importer, "_store_batch", batches)

    report = await run_import(sessions, [*AREAS, *HOUSEHOLDS, *RESIDENTS])

    assert batches.saw == {("resident", 9): True, ("household", 7): False}
    assert (report.accepted, report.rejected) == (4 + 4 + 6, 0), report.rejected_rows
    assert await residents_stored(sessions) == 6


async def test_a_failed_batch_fails_the_batch_stored_beside_it(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second batch of residents is stored while the first is under way; the first then
    fails, so the second, which commits only after it, is rolled back and the import raises
    the first one's error. The batches committed before stay."""
    batches = Batches()
    batches.waits[("resident", 9)] = (("resident", 11), BEGINS_S)
    batches.fails.add(("resident", 9))
    monkeypatch.setattr(importer, "_store_batch", batches)

    with pytest.raises(RuntimeError, match="line 9 failed"):
        await run_import(sessions, [*AREAS, *HOUSEHOLDS, *RESIDENTS])

    assert batches.saw == {("resident", 9): True}
    assert ("resident", 13) not in batches.began  # nothing after the failure began
    assert await residents_stored(sessions) == 0
    async with sessions() as session:
        households = await session.scalar(select(func.count()).select_from(HouseholdRow))
    assert households == 4


async def test_a_number_in_the_batch_before_waits_for_that_batch_to_commit(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch repeating a number of the batch before is not stored beside it (its look-up
    would miss the number, its insert wait on the other's lock and fail): it begins once that
    batch committed, and finds the number registered, unchanged."""
    batches = Batches()
    batches.waits[("resident", 9)] = (("resident", 11), STAYS_S)
    monkeypatch.setattr(importer, "_store_batch", batches)
    repeated = [RESIDENTS[0], RESIDENTS[1], RESIDENTS[1], RESIDENTS[2]]

    report = await run_import(sessions, [*AREAS, *HOUSEHOLDS, *repeated])

    assert batches.saw == {("resident", 9): False}
    assert (report.accepted, report.unchanged, report.rejected) == (4 + 4 + 3, 1, 0)
    assert await residents_stored(sessions) == 3
