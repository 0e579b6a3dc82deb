"""A service's own copy of the registry's areas, kept from its area events.

Services that place their objects in the area tree (employment's seekers, eldercare's centres)
never take an area path from a client: they keep each area the registry announced in a table
of their own (``id``, ``level``, stored ``path``, ``retired``) and derive paths from it.
:func:`apply_area` is the one way such a table follows ``area.created`` and ``area.retired``.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.registry import AreaCreated, AreaRetired
from shared.paths import path_text


class AreaCopy(Protocol):
    """A row of a service's copy of the registry's areas (an ORM class with these columns)."""

    id: str
    level: str
    path: str
    retired: bool

    def __init__(self, **values: Any) -> None: ...


Row = TypeVar("Row", bound=AreaCopy)


async def apply_area(
    session: AsyncSession, row_type: type[Row], payload: AreaCreated | AreaRetired
) -> None:
    """Record a created area (once: a redelivery changes nothing) or mark a retired one."""
    row = await session.get(row_type, payload.area_id)
    if isinstance(payload, AreaCreated):
        if row is None:
            session.add(
                row_type(
                    id=payload.area_id,
                    level=payload.level,
                    path=path_text(payload.path),
                    retired=False,
                )
            )
    elif row is not None:
        row.retired = True
