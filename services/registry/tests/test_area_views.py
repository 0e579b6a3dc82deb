"""``GET /areas`` answers with plain values drawn straight from rows
(:func:`registry.api.areas.area_views`): they must serialise to exactly the JSON
:meth:`AreaOut.of` gives for the same row, current or retired, with or without links
(no I/O)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic_core import to_json

from registry.api.areas import AreaOut, area_views
from registry.area_service import SHOWN_COLUMNS


class Row(dict[str, Any]):
    """A row of a read through SQLAlchemy: values by name, as items and attributes."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


ROWS = [
    Row(
        id="140500",
        level="city",
        name="Jincheng",
        parent_id=None,
        path="/140500/",
        kind=None,
        household_count=None,
        valid_from=date(2005, 1, 1),
        valid_to=None,
        retired_reason=None,
        predecessor_ids=None,
        successor_ids=None,
    ),
    Row(
        id="140502001001",
        level="community",
        name="Dongjie No. 1 东街",
        parent_id="140502001",
        path="/140500/140502/140502001/140502001001/",
        kind="residential",
        household_count=1947,
        valid_from=date(2005, 1, 1),
        valid_to=date(2020, 6, 30),
        retired_reason="merged",
        predecessor_ids=json.dumps(["140502001003"]),
        successor_ids=json.dumps(["140502001009", "140502001010"]),
    ),
]


def test_area_views_are_area_out() -> None:
    assert all(tuple(row) == SHOWN_COLUMNS for row in ROWS)
    views = area_views(ROWS)
    assert len(views) == len(ROWS)
    for view, row in zip(views, ROWS, strict=True):
        assert to_json(view).decode() == AreaOut.of(row).model_dump_json()
    assert views[1]["successor_ids"] == ["140502001009", "140502001010"]
    assert views[1]["current"] is False
