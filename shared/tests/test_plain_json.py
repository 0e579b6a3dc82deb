"""``plain_json`` writes what pydantic would, whichever serialiser it takes."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic_core import to_json

from shared.reads import json_response, plain_json

pytestmark = pytest.mark.unit


class Colour(enum.StrEnum):
    RED = "red"


class Rank(enum.IntEnum):
    THIRD = 3


CASES: list[Any] = [
    dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 2, 3, 4, 5),
    dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    dt.date(2026, 1, 2),
    dt.time(1, 2, 3),
    uuid.UUID("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
    Colour.RED,
    Rank.THIRD,
    (1, 2),
    [1.5, 1e20, 0.1, -0.0],
    {"items": [None, True, "社区 é"], "next_cursor": None},
    # orjson refuses these; the fallback writes them as pydantic does
    dt.timedelta(seconds=3),
    Decimal("1.50"),
    {1: "integer key"},
    frozenset({"one"}),
    2**70,
]


@pytest.mark.parametrize("content", CASES, ids=repr)
def test_plain_json_writes_what_pydantic_writes(content: Any) -> None:
    assert plain_json(content) == to_json(content)


def test_json_response_of_rows_is_pydantics_json() -> None:
    page = {"items": [{"on": dt.date(2026, 11, 30), "age": 61}], "next_cursor": "x"}
    assert json_response(page).body == to_json(page)
