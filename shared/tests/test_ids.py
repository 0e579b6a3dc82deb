"""Random ids: the fast version-4 UUIDs are valid UUIDs, written as ``uuid`` writes them."""

from __future__ import annotations

import uuid

import pytest

from shared.ids import new_uuid4, new_uuid4s

pytestmark = pytest.mark.unit


def test_every_id_is_a_version_4_uuid_in_its_canonical_text() -> None:
    ids = [*new_uuid4s(5000), *(new_uuid4() for _ in range(500))]
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
    assert len(set(ids)) == len(ids)


def test_the_variant_digit_takes_each_of_its_four_values() -> None:
    assert {text[19] for text in new_uuid4s(2000)} == set("89ab")
    assert new_uuid4s(0) == []
