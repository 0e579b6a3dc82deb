"""Every event type of every service has a schema, an example, an AsyncAPI message and a
changelog entry, and its example is one the schema and the model accept.

The tests enumerate :data:`shared.contracts.CONTRACTS`, so a new event type is covered (and
fails until it has a changelog entry) without a new test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.contracts import CONTRACTS, EventContract
from shared.contracts.changelog import CHANGELOG, FIRST_PUBLISHED, changes_of
from shared.contracts.core import DEFAULT_SCHEMA_BASE_URL, ContractRegistry
from shared.contracts.docs import (
    asyncapi_document,
    catalogue_markdown,
    channel_id,
    event_schema,
    message_id,
    payload_schema,
)
from shared.contracts.envelope import CloudEvent
from shared.contracts.examples import example_event, example_payload, example_value

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENT_TYPES = list(CONTRACTS)


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """JSON Schema 2020-12 validation, raising on the first error."""
    jsonschema.Draft202012Validator(schema).validate(instance)


@pytest.mark.parametrize("contract", EVENT_TYPES, ids=lambda c: c.type)
def test_every_event_type_has_a_valid_example_in_its_committed_schema(
    contract: EventContract,
) -> None:
    committed = json.loads((REPO_ROOT / "docs" / "events" / contract.schema_file).read_text())
    examples = committed.get("examples")
    assert examples, f"docs/events/{contract.schema_file} has no example: make schemas"
    validate(examples[0], committed)
    contract.payload.model_validate(examples[0])


@pytest.mark.parametrize("contract", EVENT_TYPES, ids=lambda c: c.type)
def test_the_example_event_is_valid_against_the_whole_event_schema(
    contract: EventContract,
) -> None:
    event = example_event(contract)
    validate(event, event_schema(contract))
    parsed = CloudEvent.model_validate(event)
    assert parsed.dataschema == f"{DEFAULT_SCHEMA_BASE_URL}/{contract.type}.json"
    assert CONTRACTS.parse_payload(parsed) == contract.payload.model_validate(event["data"])


def test_every_event_type_has_an_asyncapi_message_with_an_example() -> None:
    committed = yaml.safe_load((REPO_ROOT / "docs" / "asyncapi.yaml").read_text())
    for contract in EVENT_TYPES:
        channel = committed["channels"][channel_id(contract.topic)]
        message = channel["messages"].get(message_id(contract))
        assert message, f"{contract.type}: no AsyncAPI message (make schemas)"
        assert message["name"] == contract.type
        (example,) = message["examples"]
        assert example["payload"]["type"] == contract.type
        assert example["headers"]["ce_type"] == contract.type
        assert example["headers"]["ce_id"] == example["payload"]["id"]
        contract.payload.model_validate(example["payload"]["data"])


def test_every_event_type_has_a_changelog_entry() -> None:
    missing = [c.type for c in EVENT_TYPES if c.type not in CHANGELOG]
    assert missing == [], (
        "event types without a changelog entry; add them to "
        "shared/src/shared/contracts/changelog.py (`_first_published(date(...))`):\n"
        + "\n".join(missing)
    )
    unknown = sorted(set(CHANGELOG) - {c.type for c in EVENT_TYPES})
    assert unknown == [], f"changelog entries of types no contract declares: {unknown}"


@pytest.mark.parametrize("contract", EVENT_TYPES, ids=lambda c: c.type)
def test_each_changelog_starts_with_the_first_publication_in_date_order(
    contract: EventContract,
) -> None:
    changes = changes_of(contract.type)
    assert changes[0].note == FIRST_PUBLISHED
    assert [c.on for c in changes] == sorted(c.on for c in changes)


def test_the_catalogue_shows_each_example_and_changelog() -> None:
    catalogue = catalogue_markdown(CONTRACTS)
    for contract in EVENT_TYPES:
        section = catalogue.split(f"### {contract.type}\n", 1)[1].split("\n### ", 1)[0]
        assert f'"type": "{contract.type}"' in section
        assert "Changelog:\n\n- " in section
        assert "No entry yet" not in section
    assert "Deprecation window: 180 days." in catalogue


def test_the_production_server_declares_sasl_ssl_with_scram() -> None:
    document = asyncapi_document(CONTRACTS)
    production = document["servers"]["production"]
    assert production["protocol"] == "kafka-secure"
    (requirement,) = production["security"]
    scheme = requirement["$ref"].rsplit("/", 1)[-1]
    assert document["components"]["securitySchemes"][scheme]["type"] == "scramSha512"


def test_a_model_without_an_example_of_its_own_gets_a_generated_one() -> None:
    from pydantic import Field

    from shared.contracts import EventPayload

    registry = ContractRegistry()

    @registry.contract(service="test", aggregate="thing", name="made")
    class ThingMade(EventPayload):
        """Emitted in this test."""

        thing_id: str = Field(description="Id.")
        path: list[str] = Field(description="Area path.")
        made_on: str = Field(description="Day.", json_schema_extra={"format": "date"})
        rating: int = Field(ge=3, le=5, description="Rating.")
        counts: dict[str, int] = Field(description="Map.")
        kind: str | None = Field(default=None, description="Kind.")

    (contract,) = list(registry)
    example = example_payload(contract)
    assert example["rating"] == 3
    assert example["made_on"] == "2026-03-02"
    assert example["kind"] is not None
    assert example["path"][-1] == example_value({"type": "string"}, {}, field="community_id")
    validate(example, payload_schema(contract))


def test_an_own_example_the_model_refuses_is_an_error() -> None:
    from pydantic import ConfigDict, Field, ValidationError

    from shared.contracts import EventPayload

    registry = ContractRegistry()

    @registry.contract(service="test", aggregate="thing", name="wrong")
    class ThingWrong(EventPayload):
        """Emitted in this test."""

        model_config = ConfigDict(json_schema_extra={"examples": [{"count": "many"}]})
        count: int = Field(description="How many.")

    with pytest.raises(ValidationError):
        example_payload(next(iter(registry)))
