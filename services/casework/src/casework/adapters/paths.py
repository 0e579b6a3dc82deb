"""Area paths as stored: ``/city/district/street/community/`` (like the registry's), so an
area's cases are one match on an indexed column."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute


def path_text(ids: Iterable[str]) -> str:
    """The stored form of a path."""
    return "/" + "/".join(ids) + "/"


def path_ids(text: str) -> tuple[str, ...]:
    """The ids of a stored path, from the city down."""
    return tuple(part for part in text.split("/") if part)


def within(column: InstrumentedAttribute[str], area_id: str | None) -> ColumnElement[bool]:
    """Rows whose stored path passes through ``area_id`` (every row for None)."""
    if area_id is None:
        return true()
    return column.contains(f"/{area_id}/", autoescape=True)
