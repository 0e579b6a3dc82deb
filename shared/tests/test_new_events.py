"""Envelopes built in bulk (``ContractRegistry.new_events``, what a unit of work and an import
use) are the envelopes ``CloudEvent`` validates, with the ids the context gives."""

from __future__ import annotations

import uuid

import pytest

from shared import context
from shared.contracts import CONTRACTS, EventPayload
from shared.contracts.envelope import CloudEvent, structured_json_writer
from shared.contracts.examples import example_payload

pytestmark = pytest.mark.unit


def payloads() -> list[tuple[EventPayload, str]]:
    found: list[tuple[EventPayload, str]] = []
    for contract in CONTRACTS:
        payload = contract.payload.model_validate(example_payload(contract))
        found.append((payload, f'agg-{len(found)} "東"'))
    return found


@pytest.mark.parametrize(
    ("correlation", "causation", "request_id"),
    [(None, None, None), ("corr-1", "cause-1", "req-1"), ("corr-2", None, "req-2")],
)
def test_bulk_envelopes_equal_validated_ones(
    correlation: str | None, causation: str | None, request_id: str | None
) -> None:
    pending = payloads()
    with context.bound(correlation_id=correlation, causation_id=causation, request_id=request_id):
        events = CONTRACTS.new_events(pending)
    assert len(events) == len(pending) == len(CONTRACTS)
    for event, (payload, aggregate_id) in zip(events, pending, strict=True):
        validated = CloudEvent.model_validate(event.model_dump())
        assert validated == event
        assert validated.to_json_bytes() == event.to_json_bytes()
        contract = CONTRACTS.for_payload(payload)
        assert event.type == contract.type
        assert event.source == contract.source
        assert event.dataschema == CONTRACTS.dataschema(contract)
        assert event.subject == f"{contract.aggregate}/{aggregate_id}"
        assert event.partitionkey == aggregate_id
        assert event.data == payload.model_dump(mode="json")
        assert event.correlationid == (correlation or event.id)
        assert event.causationid == (causation or request_id)
        assert uuid.UUID(event.id).version == 7
    assert len({event.id for event in events}) == len(events)


def test_one_new_event_is_the_bulk_one_for_one_payload() -> None:
    payload, aggregate_id = payloads()[0]
    event = CONTRACTS.new_event(payload, aggregate_id=aggregate_id)
    again = CONTRACTS.new_events([(payload, aggregate_id)])[0]
    assert event.model_dump(exclude={"id", "time", "correlationid"}) == again.model_dump(
        exclude={"id", "time", "correlationid"}
    )
    assert event.correlationid == event.id


@pytest.mark.parametrize(
    "aggregate_id", ["140502001001", 'a "quoted" \\ id', "東街\u2028\x01\x7f", "tab\there"]
)
@pytest.mark.parametrize("correlation", [None, "corr-東", 'c"1'])
def test_documents_are_the_json_of_the_events(aggregate_id: str, correlation: str | None) -> None:
    pending = [(payload, aggregate_id) for payload, _ in payloads()]
    with context.bound(correlation_id=correlation, causation_id=None, request_id="req\\7"):
        documents = CONTRACTS.new_documents(pending)
    for document, (payload, _) in zip(documents, pending, strict=True):
        event = CloudEvent.model_validate_json(document.json)
        assert document.json.encode() == event.to_json_bytes()
        assert (document.id, document.type, document.partitionkey) == (
            event.id,
            CONTRACTS.for_payload(payload).type,
            aggregate_id,
        )
        assert event.data == payload.model_dump(mode="json")
        assert event.correlationid == (correlation or event.id)
        assert event.causationid == "req\\7"


def test_a_time_without_microseconds_is_written_as_pydantic_writes_it() -> None:
    (payload, aggregate_id) = payloads()[0]
    event = CONTRACTS.new_events([(payload, aggregate_id)])[0]
    whole = event.model_copy(update={"time": event.time.replace(microsecond=0)})
    write = structured_json_writer(
        source=whole.source,
        type=whole.type,
        aggregate=CONTRACTS.for_payload(payload).aggregate,
        time=whole.time,
        dataschema=whole.dataschema,
        correlationid=whole.correlationid,
        causationid=whole.causationid,
    )
    written = write(whole.id, whole.partitionkey, payload.model_dump_json())
    assert written.encode() == whole.to_json_bytes()
    assert f'"time":"{whole.time:%Y-%m-%dT%H:%M:%S}Z","datacontenttype"' in written
