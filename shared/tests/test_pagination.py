"""Cursor pagination: cursors round-trip, malformed ones name the field, pages cut the extra row.

``Idempotency-Key`` is tested with the command runner in ``test_commands.py``."""

from __future__ import annotations

import pytest

from shared.errors import InvalidInput
from shared.pagination import decode_cursor, encode_cursor, page_of


def test_cursor_round_trip_and_malformed_cursor_names_the_field() -> None:
    assert decode_cursor(encode_cursor(["2026-01-01", 42])) == ["2026-01-01", 42]
    assert decode_cursor(None) is None
    for bad in ["!!!", encode_cursor([])[:-1] + "#", "eyJhIjoxfQ"]:  # the last is {"a":1}
        with pytest.raises(InvalidInput) as raised:
            decode_cursor(bad)
        assert raised.value.errors[0].field == "query.cursor"


def test_page_of_cuts_the_extra_row_into_a_cursor() -> None:
    rows = [1, 2, 3]
    assert page_of(rows, 2, lambda r: [r]) == ([1, 2], encode_cursor([2]))
    assert page_of(rows[:2], 2, lambda r: [r]) == ([1, 2], None)
