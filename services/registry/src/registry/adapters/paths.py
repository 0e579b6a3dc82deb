"""Area paths, the one place that knows how they are stored.

A path is the ids from the city down to an area (``("140500", "140502", "140502001")``); it is
stored as ``/140500/140502/140502001/`` in ``area.path`` and in the ``path``/``community_path``
column of every record attached to a community, so an area's subtree is every row whose
stored path starts with the area's: one prefix match on an indexed column, no join. A path
never changes (merges and splits create new areas), so copies never go stale.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute


def path_text(ids: Iterable[str]) -> str:
    """The stored form of a path: ``/city/district/street/community/``."""
    return "/" + "/".join(ids) + "/"


def path_ids(text: str) -> tuple[str, ...]:
    """The ids of a stored path, from the city down."""
    return tuple(part for part in text.split("/") if part)


def in_subtree(column: InstrumentedAttribute[str], path: str | None) -> ColumnElement[bool]:
    """Rows whose stored path ``column`` lies in the subtree of the stored ``path`` (the area
    itself included); every row when ``path`` is None (no confinement)."""
    if path is None:
        return true()
    return column.startswith(path, autoescape=True)
