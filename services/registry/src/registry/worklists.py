"""Worklists of a community worker: the floating residents whose residence permit is to be
renewed.

The permit scan (:mod:`registry.jobs`) publishes ``resident.permit_expiring`` once per permit
for integrators; this is where a person sees it: every living floating resident of the
caller's area whose permit expires within :data:`registry.domain.people.PERMIT_WARNING_DAYS`
days, or has expired, soonest first, with whether the warning event was raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.adapters.paths import in_subtree, path_ids
from registry.adapters.people import ResidentRow
from registry.area_service import scope_path
from registry.domain.people import permit_warning_window
from shared.auth import Principal


@dataclass(frozen=True)
class PermitRenewal:
    """A floating resident whose permit is to be renewed."""

    resident_id: str
    name: str
    household_id: str
    community_id: str
    path: tuple[str, ...]
    permit_expires_on: date
    warned: bool


async def permit_renewals(
    session: AsyncSession,
    *,
    principal: Principal | None,
    within: str | None = None,
    today: date | None = None,
    after: tuple[date, str] | None = None,
    limit: int = 100,
) -> list[PermitRenewal]:
    """Living floating residents of the area whose permit expires by the end of the warning
    window (expired ones included), by expiry date then id; ``after`` is the last
    (expiry, id) of the previous page."""
    _, last = permit_warning_window(today or date.today())
    scope = await scope_path(session, within=within, principal=principal)
    query = (
        select(ResidentRow)
        .where(
            ResidentRow.status == "alive",
            ResidentRow.registration == "floating",
            ResidentRow.permit_expires_on <= last,
            in_subtree(ResidentRow.community_path, scope),
        )
        .order_by(ResidentRow.permit_expires_on, ResidentRow.id)
        .limit(limit)
    )
    if after is not None:
        expires, resident_id = after
        query = query.where(
            or_(
                ResidentRow.permit_expires_on > expires,
                and_(ResidentRow.permit_expires_on == expires, ResidentRow.id > resident_id),
            )
        )
    return [
        PermitRenewal(
            resident_id=row.id,
            name=row.name,
            household_id=row.household_id,
            community_id=row.community_id,
            path=path_ids(row.community_path),
            permit_expires_on=row.permit_expires_on,
            warned=row.permit_warned_for == row.permit_expires_on,
        )
        for row in await session.scalars(query)
        if row.permit_expires_on is not None  # always: the query selects expiry dates
    ]
