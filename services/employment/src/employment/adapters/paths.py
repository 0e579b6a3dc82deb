"""Area paths as stored: ``/city/district/street/community/`` (a subtree is a prefix match)."""

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


def in_subtree(column: InstrumentedAttribute[str], path: str | None) -> ColumnElement[bool]:
    """Rows whose stored path lies in the subtree of the stored ``path`` (every row for None)."""
    if path is None:
        return true()
    return column.startswith(path, autoescape=True)
