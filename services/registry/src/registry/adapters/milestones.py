"""Tables of the age-milestone job, its query, and the integration event of a milestone.

``age_milestone`` holds one row per (resident, age) published: its primary key is what makes
a milestone published once, even by two replicas at once (the insert skips conflicts and
returns only the rows it wrote). ``age_milestone_scan`` holds the last day the job covered
(its high-water date), updated in the same transaction as the milestones and their outbox
rows, and locked while a run works, so a run that fails changes nothing and the next one
covers the same days again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Date, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from registry.adapters.base import Base
from registry.adapters.paths import path_ids
from registry.adapters.people import CHUNK, ResidentRow
from registry.domain.milestones import ResidentAgeReached, birth_dates_reaching, birthday
from shared.contracts import registry as contracts
from shared.db import insert_ignoring_conflicts
from shared.unit_of_work import IntegrationEvent, Translations

SCAN_ROW_ID = 1
"""The one row of ``age_milestone_scan``."""


class AgeMilestoneRow(Base):
    """A milestone age a resident reached and the registry published (once)."""

    __tablename__ = "age_milestone"

    resident_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    age: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reached_on: Mapped[date] = mapped_column(Date)


class AgeMilestoneScanRow(Base):
    """The last day the age-milestone job covered."""

    __tablename__ = "age_milestone_scan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    scanned_through: Mapped[date] = mapped_column(Date)


async def scanned_through(session: AsyncSession) -> AgeMilestoneScanRow | None:
    """The high-water row, locked until the transaction ends (PostgreSQL; SQLite has a single
    writer), or None before the first run."""
    query = select(AgeMilestoneScanRow).where(AgeMilestoneScanRow.id == SCAN_ROW_ID)
    return await session.scalar(query.with_for_update())


def mark_scanned(session: AsyncSession, row: AgeMilestoneScanRow | None, through: date) -> None:
    """Store ``through`` as the last day covered."""
    if row is None:
        session.add(AgeMilestoneScanRow(id=SCAN_ROW_ID, scanned_through=through))
    else:
        row.scanned_through = through


async def reached_milestones(
    session: AsyncSession, *, ages: Iterable[int], after: date, through: date
) -> list[ResidentAgeReached]:
    """The milestones living residents reach on a day after ``after`` up to ``through`` and
    not published yet, marked published now; in order of day, age and resident. Residents
    registered on or after the birthday are left out (their registration carried the age)."""
    reached: list[ResidentAgeReached] = []
    for age in ages:
        born_after, born_on_or_before = birth_dates_reaching(age, after=after, through=through)
        query = select(
            ResidentRow.id,
            ResidentRow.community_id,
            ResidentRow.community_path,
            ResidentRow.birth_date,
            ResidentRow.registered_on,
        ).where(
            ResidentRow.status == "alive",
            ResidentRow.birth_date > born_after,
            ResidentRow.birth_date <= born_on_or_before,
        )
        for resident_id, community_id, path, birth_date, registered_on in await session.execute(
            query
        ):
            day = birthday(birth_date, age)
            if registered_on < day:
                reached.append(
                    ResidentAgeReached(resident_id, community_id, path_ids(path), age, day)
                )
    written: set[tuple[str, int]] = set()
    for start in range(0, len(reached), CHUNK):
        rows = [
            {"resident_id": item.resident_id, "age": item.age, "reached_on": item.reached_on}
            for item in reached[start : start + CHUNK]
        ]
        statement = (
            insert_ignoring_conflicts(session, AgeMilestoneRow.__table__)  # type: ignore[arg-type]
            .values(rows)
            .returning(AgeMilestoneRow.resident_id, AgeMilestoneRow.age)
        )
        written.update((row.resident_id, row.age) for row in await session.execute(statement))
    new = [item for item in reached if (item.resident_id, item.age) in written]
    return sorted(new, key=lambda item: (item.reached_on, item.age, item.resident_id))


def _age_reached(event: ResidentAgeReached) -> IntegrationEvent:
    payload = contracts.ResidentAgeReached(
        resident_id=event.resident_id,
        community_id=event.community_id,
        path=list(event.path),
        age=event.age,
        reached_on=event.reached_on,
    )
    return payload, event.resident_id


TRANSLATIONS: Translations = {ResidentAgeReached: _age_reached}
"""The integration event of a milestone."""
