"""Consumers read events that gained an optional field after they were built (an additive
change keeps the type), while producers still cannot emit a field the model does not know."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.contracts import CONTRACTS
from shared.contracts.envelope import CloudEvent
from shared.contracts.examples import example_payload
from shared.contracts.registry import AreaCreated

pytestmark = pytest.mark.unit


def area_created() -> AreaCreated:
    return AreaCreated.model_validate(example_payload(CONTRACTS.for_payload(AreaCreated)))


def test_a_field_added_after_the_consumer_was_built_is_ignored_when_parsing() -> None:
    event = CONTRACTS.new_event(area_created(), aggregate_id="140502001001")
    newer = CloudEvent.model_validate(
        {**event.model_dump(mode="json"), "data": {**event.data, "added_later": 7}}
    )
    parsed = CONTRACTS.parse_payload(newer)
    assert parsed == CONTRACTS.parse_payload(event)


def test_a_producer_cannot_emit_a_field_the_model_does_not_know() -> None:
    with pytest.raises(ValidationError, match="added_later"):
        AreaCreated.model_validate({**area_created().model_dump(), "added_later": 7})


def test_a_missing_required_field_is_still_refused() -> None:
    event = CONTRACTS.new_event(area_created(), aggregate_id="140502001001")
    broken = CloudEvent.model_validate(
        {
            **event.model_dump(mode="json"),
            "data": {k: v for k, v in event.data.items() if k != "name"},
        }
    )
    with pytest.raises(ValidationError, match="name"):
        CONTRACTS.parse_payload(broken)
