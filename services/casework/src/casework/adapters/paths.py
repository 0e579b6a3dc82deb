"""Area paths as stored: ``/city/district/street/community/`` (like the registry's), so an
area's cases are one match on an indexed column. The helpers are the platform's
(:mod:`shared.paths`); ``within`` is :func:`shared.paths.passes_through` for one area."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from shared.paths import passes_through, path_ids, path_text


def within(column: InstrumentedAttribute[str], area_id: str | None) -> ColumnElement[bool]:
    """Rows whose stored path passes through ``area_id`` (every row for None)."""
    return passes_through(column, area_id)


__all__ = ["path_ids", "path_text", "within"]
