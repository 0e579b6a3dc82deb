"""Area paths, stored the same way by every service (docs/architecture.md, DR-4).

A path is the ids from the city down to an area (``("140500", "140502", "140502001")``),
stored as ``/140500/140502/140502001/``. An area's subtree is every row whose stored path
starts with the area's (one prefix match on an indexed column); a row lies in area X when its
stored path contains ``/X/``. Paths never change (merges and splits create new areas).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute


def path_text(ids: Iterable[str]) -> str:
    """The stored form of a path: ``/city/district/street/community/``."""
    return "/" + "/".join(ids) + "/"


@functools.lru_cache(maxsize=8192)
def path_ids(text: str) -> tuple[str, ...]:
    """The ids of a stored path, from the city down (remembered: a city has a few thousand
    paths, and a bulk read or import splits the same ones for every row)."""
    return tuple(part for part in text.split("/") if part)


def in_subtree(column: InstrumentedAttribute[str], path: str | None) -> ColumnElement[bool]:
    """Rows whose stored path ``column`` lies in the subtree of the stored ``path`` (the area
    itself included); every row when ``path`` is None (no confinement)."""
    if path is None:
        return true()
    return column.startswith(path, autoescape=True)


def passes_through(column: InstrumentedAttribute[str], *areas: str | None) -> ColumnElement[bool]:
    """Rows whose stored path passes through every one of ``areas`` (an area id; None adds no
    condition, so no area at all is every row)."""
    condition: ColumnElement[bool] = true()
    for area in areas:
        if area is not None:
            condition = condition & column.contains(f"/{area}/", autoescape=True)
    return condition


__all__ = ["in_subtree", "passes_through", "path_ids", "path_text"]
