"""The registry's areas, kept from its area events: a centre's area path is derived from its
community here, never taken from the client."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from eldercare.adapters import store
from eldercare.adapters.tables import AreaRow
from shared import area_copies
from shared.auth import Principal
from shared.contracts.registry import AreaCreated, AreaRetired
from shared.errors import FieldError, InvalidInput
from shared.unit_of_work import UnitOfWork


async def apply_area(uow: UnitOfWork, *, payload: AreaCreated | AreaRetired) -> None:
    """Record a created area or mark a retired one (:func:`shared.area_copies.apply_area`)."""
    await area_copies.apply_area(uow.session, AreaRow, payload)


async def community_path(
    session: AsyncSession, principal: Principal, community_id: str, *, field: str
) -> tuple[str, ...]:
    """The path of a current area inside the token's area; 422 naming ``field`` otherwise (an
    area outside the token's is reported like an unknown one)."""
    row = await session.get(AreaRow, community_id)
    path = None if row is None or row.retired else store.path_ids(row.path)
    if path is None or not principal.may_access(path):
        raise InvalidInput(
            "unknown area",
            errors=[FieldError(field, f"no current area {community_id} known here")],
        )
    return path
