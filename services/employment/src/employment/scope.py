"""Area confinement of the employment service's records and lists, and today's date.

Every record is attached to an area path (a seeker's community, a vacancy's place of work …).
A token confined to an area sees only records whose path passes through it; outside, a
record does not exist (404). Vacancies, employers and courses are public offers: every token
reads them, only tokens of their area change them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from employment.adapters import store
from shared.auth import Principal, ensure_area
from shared.errors import FieldError, InvalidInput


def current_date() -> date:
    """Today on the service's clock (use cases take ``today`` to be testable)."""
    return date.today()


def within_scope(
    column: InstrumentedAttribute[str], principal: Principal, within: str | None = None
) -> ColumnElement[bool]:
    """Rows whose stored path passes through the token's area and through ``within``."""
    conditions = [
        column.contains(f"/{area}/", autoescape=True)
        for area in (principal.area, within)
        if area is not None
    ]
    return and_(true(), *conditions)


async def known_area(
    session: AsyncSession, principal: Principal, area_id: str, *, field: str
) -> tuple[str, ...]:
    """Path of a current area inside the token's area; 422 naming ``field`` otherwise (an area
    outside the token's is reported like an unknown one)."""
    path = await store.area_path(session, area_id)
    if path is None or not principal.may_access(path):
        raise InvalidInput(
            "unknown area", errors=[FieldError(field, f"no current area {area_id} known here")]
        )
    return path


def confine(principal: Principal, path: Sequence[str]) -> None:
    """404 when ``path`` lies outside the token's area."""
    ensure_area(principal, path)
