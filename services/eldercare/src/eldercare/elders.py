"""Queries of the elder roster, and the look-up every use case about one elder starts with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eldercare.adapters import store
from eldercare.adapters.tables import ElderRow
from eldercare.domain.roster import ElderSnapshot, RosterStatus
from shared.auth import Principal, ensure_area
from shared.errors import Conflict, FieldError, NotFound


async def get_elder(
    session: AsyncSession, *, principal: Principal, resident_id: str
) -> ElderSnapshot:
    """A resident the roster knows (404 when unknown, outside the token's area, or never
    enrolled: the roster shows elders only)."""
    elder = await store.get_elder(session, resident_id)
    if elder is None or elder.state.enrolled_on is None:
        raise NotFound(f"no elder {resident_id}")
    ensure_area(principal, elder.state.path)
    return elder.state


async def enrolled_elder(
    session: AsyncSession, *, principal: Principal, resident_id: str
) -> ElderSnapshot:
    """An elder on the roster now (404 as :func:`get_elder`; 409 when deceased or left)."""
    elder = await get_elder(session, principal=principal, resident_id=resident_id)
    if elder.status != "enrolled":
        raise Conflict(
            f"elder is {elder.status}",
            errors=[FieldError("resident_id", f"elder is {elder.status}")],
        )
    return elder


async def list_elders(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    status: RosterStatus | None = None,
    care_level: int | None = None,
    born_before: int | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Sequence[ElderSnapshot]:
    """Elders by resident id in the token's area (and ``within``), enrolled by default."""
    query = select(ElderRow).where(
        store.in_area(ElderRow.path, principal.area, within),
        ElderRow.status == (status or "enrolled"),
    )
    if status in ("deceased", "left"):
        query = query.where(ElderRow.enrolled_on.is_not(None))
    if care_level is not None:
        query = query.where(ElderRow.care_level == care_level)
    if born_before is not None:
        query = query.where(ElderRow.birth_year < born_before)
    if after is not None:
        query = query.where(ElderRow.resident_id > after)
    rows = await session.scalars(query.order_by(ElderRow.resident_id).limit(limit))
    return [store.elder_snapshot(row) for row in rows]


def age_today(elder: ElderSnapshot, today: date) -> int:
    """The elder's age on ``today`` (exact after a registry age milestone)."""
    return elder.age(today)
