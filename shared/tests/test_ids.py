"""Ids: the version-7 UUIDs are valid UUIDs, written as ``uuid`` writes them, with the time."""

from __future__ import annotations

import time
import uuid

import pytest

from shared.ids import new_uuid7s

pytestmark = pytest.mark.unit


def test_version_7_ids_carry_the_millisecond_and_sort_after_earlier_ones() -> None:
    before = time.time_ns() // 1_000_000
    first = new_uuid7s(5000)
    time.sleep(0.002)
    later = new_uuid7s(10)
    after = time.time_ns() // 1_000_000
    for text in first + later:
        parsed = uuid.UUID(text)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
        assert before <= parsed.int >> 80 <= after
    assert len(set(first)) == len(first)
    assert max(first) < min(later)


def test_the_variant_digit_takes_each_of_its_four_values() -> None:
    assert {text[19] for text in new_uuid7s(2000)} == set("89ab")
    assert new_uuid7s(0) == []
