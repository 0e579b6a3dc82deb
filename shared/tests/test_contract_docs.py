"""Generated event docs: committed files match, contracts are documented, schemas are valid."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, Field
from typer import Typer
from typer.testing import CliRunner

from shared.cli.schemas import generate
from shared.contracts import CONTRACTS, ContractRegistry, EventContract, EventPayload
from shared.contracts.docs import (
    asyncapi_document,
    catalogue_markdown,
    channel_id,
    check_all,
    envelope_schema,
    event_schema,
    field_rows,
    payload_schema,
    render_all,
    undocumented,
    write_all,
)
from shared.contracts.registry import AreaCreated

REPO_ROOT = Path(__file__).resolve().parents[2]

try:
    import jsonschema  # type: ignore[import-untyped]
except ImportError:  # not a dependency of the workspace; the fallbacks below cover it
    jsonschema = None


# --------------------------------------------------------------------------- helpers

JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
SUBSCHEMA_MAPS = ("properties", "$defs", "patternProperties")
SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames")
SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")


def resolve(ref: str, root: dict[str, Any]) -> Any:
    """Follow a document-local ``$ref``."""
    assert ref.startswith("#/"), f"non-local $ref {ref}"
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"$ref {ref} does not resolve"
        assert part in node, f"$ref {ref} does not resolve"
        node = node[part]
    return node


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` anywhere in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def structural_errors(schema: Any, root: dict[str, Any], where: str = "#") -> list[str]:
    """Well-formedness of the JSON Schema keywords the generator emits (no jsonschema needed)."""
    if not isinstance(schema, dict):
        return [f"{where}: a schema must be an object"]
    errors: list[str] = []
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    errors += [f"{where}: unknown type {k!r}" for k in kinds if k not in JSON_TYPES]
    if "$ref" in schema:
        try:
            resolve(schema["$ref"], root)
        except AssertionError as exc:
            errors.append(f"{where}: {exc}")
    required = schema.get("required", [])
    if not isinstance(required, list) or len(set(required)) != len(required):
        errors.append(f"{where}: required must be a list of unique names")
    elif "properties" in schema:
        errors += [
            f"{where}: required {r!r} undeclared" for r in required if r not in schema["properties"]
        ]
    if "enum" in schema and not (isinstance(schema["enum"], list) and schema["enum"]):
        errors.append(f"{where}: enum must be a non-empty list")
    if "pattern" in schema:
        re.compile(schema["pattern"])
    for keyword in SUBSCHEMA_MAPS:
        for name, sub in schema.get(keyword, {}).items():
            errors += structural_errors(sub, root, f"{where}/{keyword}/{name}")
    for keyword in SUBSCHEMA_ONE:
        if isinstance(schema.get(keyword), dict):
            errors += structural_errors(schema[keyword], root, f"{where}/{keyword}")
        elif keyword in schema and not isinstance(schema[keyword], bool):
            errors.append(f"{where}/{keyword}: must be a schema or a boolean")
    for keyword in SUBSCHEMA_LISTS:
        if keyword in schema:
            subs = schema[keyword]
            if not (isinstance(subs, list) and subs):
                errors.append(f"{where}/{keyword}: must be a non-empty list")
                continue
            for i, sub in enumerate(subs):
                errors += structural_errors(sub, root, f"{where}/{keyword}/{i}")
    return errors


def mini_validate(instance: Any, schema: dict[str, Any], root: dict[str, Any]) -> list[str]:
    """Validate against the keyword subset pydantic emits (used when jsonschema is absent)."""
    if "$ref" in schema:
        return mini_validate(instance, resolve(schema["$ref"], root), root)
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "null": lambda v: v is None,
    }
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(checks[k](instance) for k in kinds):
            return [f"{instance!r} is not of type {kind}"]
    if "const" in schema and instance != schema["const"]:
        return [f"{instance!r} != {schema['const']!r}"]
    if "enum" in schema and instance not in schema["enum"]:
        return [f"{instance!r} not in {schema['enum']}"]
    if (
        "pattern" in schema
        and isinstance(instance, str)
        and not re.search(schema["pattern"], instance)
    ):
        return [f"{instance!r} does not match {schema['pattern']}"]
    if "anyOf" in schema and all(mini_validate(instance, s, root) for s in schema["anyOf"]):
        return [f"{instance!r} matches none of anyOf"]
    errors: list[str] = []
    for sub in schema.get("allOf", []):
        errors += mini_validate(instance, sub, root)
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        errors += [f"missing {r}" for r in schema.get("required", []) if r not in instance]
        for key, value in instance.items():
            if key in props:
                errors += [f"{key}: {e}" for e in mini_validate(value, props[key], root)]
            elif schema.get("additionalProperties") is False:
                errors.append(f"unexpected {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += mini_validate(value, schema["additionalProperties"], root)
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(instance):
            errors += [f"[{i}]: {e}" for e in mini_validate(value, schema["items"], root)]
    return errors


def validation_errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Errors of ``instance`` against a standalone schema, by jsonschema if installed."""
    if jsonschema is not None:
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        return [e.message for e in validator.iter_errors(instance)]
    return mini_validate(instance, schema, schema)


def check_schema(schema: dict[str, Any]) -> list[str]:
    """Errors in a standalone schema, by jsonschema's metaschema if installed."""
    errors = structural_errors(schema, schema)
    if jsonschema is not None:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            errors.append(str(exc))
    return errors


class Nested(BaseModel):
    """A nested part of a test payload."""

    code: str = Field(description="A code.")
    weight: int = Field(default=1, description="A weight.")


def fake_registry(*, with_extra_field: bool = False, with_second: bool = False) -> ContractRegistry:
    """A registry with one test contract, optionally grown by a field or a second type."""
    registry = ContractRegistry()
    if with_extra_field:

        class ThingHappened(EventPayload):
            """Emitted when a thing happens."""

            thing_id: str = Field(description="Id of the thing.")
            parts: list[Nested] = Field(description="Its parts.")
            colour: str | None = Field(default=None, description="Its colour, when known.")

    else:

        class ThingHappened(EventPayload):  # type: ignore[no-redef]
            """Emitted when a thing happens."""

            thing_id: str = Field(description="Id of the thing.")
            parts: list[Nested] = Field(description="Its parts.")

    registry.contract(service="test", aggregate="thing", name="happened")(ThingHappened)
    if with_second:

        class ThingVanished(EventPayload):
            """Emitted when a thing vanishes."""

            thing_id: str = Field(description="Id of the thing.")
            on: date = Field(description="The day it vanished.")

        registry.contract(service="test", aggregate="thing", name="vanished")(ThingVanished)
    return registry


# --------------------------------------------------------------------------- the real contracts


def test_committed_docs_match_the_contracts() -> None:
    drifted = check_all(REPO_ROOT, CONTRACTS)
    assert drifted == [], "event docs are out of date, run `make schemas`:\n" + "\n".join(drifted)


def test_every_payload_and_field_is_documented() -> None:
    assert undocumented(CONTRACTS) == []


def test_every_contract_has_a_docstring_and_field_descriptions() -> None:
    offenders: list[str] = []
    for contract in CONTRACTS:
        name = contract.payload.__name__
        if not (contract.payload.__doc__ or "").strip():
            offenders.append(f"{name}: no docstring")
        offenders += [
            f"{name}.{field}: no description"
            for field, info in contract.payload.model_fields.items()
            if not info.description
        ]
    assert offenders == [], "undocumented payloads or fields:\n" + "\n".join(offenders)


@pytest.mark.parametrize("contract", list(CONTRACTS), ids=lambda c: c.type)
def test_payload_schema_is_valid(contract: EventContract) -> None:
    schema = payload_schema(contract)
    assert check_schema(schema) == []
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == contract.schema_id
    assert schema["title"] == contract.type
    assert schema["description"] == contract.description
    assert (schema["x-topic"], schema["x-aggregate"], schema["x-version"]) == (
        contract.topic,
        contract.aggregate,
        contract.version,
    )


@pytest.mark.parametrize("contract", list(CONTRACTS), ids=lambda c: c.type)
def test_event_schema_is_valid(contract: EventContract) -> None:
    assert check_schema(event_schema(contract)) == []


def test_envelope_schema_is_valid_and_requires_what_every_event_carries() -> None:
    schema = envelope_schema()
    assert check_schema(schema) == []
    assert set(schema["properties"]) - set(schema["required"]) == {"correlationid", "causationid"}


def test_asyncapi_document_shape() -> None:
    doc = asyncapi_document(CONTRACTS)
    assert doc["asyncapi"] == "3.0.0"
    assert doc["defaultContentType"] == "application/cloudevents+json"
    assert doc["servers"]["local"] == {
        "host": "127.0.0.1:9092",
        "protocol": "kafka",
        "description": "make dev's Tansu broker",
    }
    assert doc["servers"]["production"]["protocol"] == "kafka-secure"  # SASL_SSL

    channels = doc["channels"]
    assert sorted(c["address"] for c in channels.values()) == CONTRACTS.topics()
    assert all(re.fullmatch(r"[A-Za-z0-9_\-]+", key) for key in [*channels, *doc["operations"]])
    by_channel = {op["channel"]["$ref"]: op for op in doc["operations"].values()}
    assert sorted(by_channel) == sorted(f"#/channels/{key}" for key in channels)
    assert len(doc["operations"]) == len(channels)

    types = set()
    for key, channel in channels.items():
        op = by_channel[f"#/channels/{key}"]
        assert op["action"] == "send"
        assert sorted(m["$ref"] for m in op["messages"]) == sorted(
            f"#/channels/{key}/messages/{m}" for m in channel["messages"]
        )
        for message in channel["messages"].values():
            types.add(message["name"])
            assert message["contentType"] == "application/cloudevents+json"
            assert message["bindings"]["kafka"]["key"]["type"] == "string"
            assert set(message["headers"]["properties"]) == {
                "ce_id",
                "ce_type",
                "ce_source",
                "content-type",
            }
            data_ref = message["payload"]["properties"]["data"]["$ref"]
            assert resolve(data_ref, doc)["title"] == message["name"]
    assert types == {c.type for c in CONTRACTS}

    for ref in refs(doc):
        resolve(ref, doc)
    for name, schema in doc["components"]["schemas"].items():
        assert structural_errors(schema, doc, f"#/components/schemas/{name}") == []
    assert "CloudEvent" in doc["components"]["schemas"]


def test_asyncapi_yaml_round_trips() -> None:
    text = render_all(CONTRACTS)["docs/asyncapi.yaml"]
    assert yaml.safe_load(text) == asyncapi_document(CONTRACTS)
    assert "&id" not in text, "no YAML anchors"
    assert "*id" not in text, "no YAML aliases"


def test_sample_event_validates_against_envelope_and_payload() -> None:
    payload = AreaCreated(
        area_id="110101",
        level="district",
        name="Dongcheng",
        parent_id="110100",
        path=["110100", "110101"],
        valid_from=date(2024, 1, 1),
    )
    event = CONTRACTS.new_event(payload, aggregate_id="110101")
    document = event.model_dump(mode="json", exclude_none=True)
    contract = CONTRACTS.for_payload(payload)

    assert validation_errors(document, envelope_schema()) == []
    assert validation_errors(document, event_schema(contract)) == []
    assert validation_errors(document["data"], payload_schema(contract)) == []

    wrong = {**document, "data": {**document["data"], "level": "galaxy"}}
    assert validation_errors(wrong, event_schema(contract)) != []
    missing = {k: v for k, v in document.items() if k != "time"}
    assert validation_errors(missing, envelope_schema()) != []


def test_catalogue_lists_every_type_and_says_it_is_generated() -> None:
    text = catalogue_markdown(CONTRACTS)
    assert "make schemas" in text.split("\n## ", 1)[0]
    assert "do not edit by hand" in text.lower()
    for topic in CONTRACTS.topics():
        assert f"\n## {topic}\n" in text
    for contract in CONTRACTS:
        assert f"\n### {contract.type}\n" in text
        assert contract.description in text
        for name in contract.payload.model_fields:
            assert f"| `{name}` |" in text


def test_generation_is_deterministic() -> None:
    assert render_all(CONTRACTS) == render_all(CONTRACTS)


# --------------------------------------------------------------------------- fake registries


def test_check_all_reports_a_new_field_as_drift(tmp_path: Path) -> None:
    write_all(tmp_path, fake_registry())
    assert check_all(tmp_path, fake_registry()) == []

    drifted = check_all(tmp_path, fake_registry(with_extra_field=True))
    assert drifted == [
        "docs/asyncapi.yaml (out of date)",
        "docs/events.md (out of date)",
        "docs/events/org.shequ.test.thing.happened.v1.json (out of date)",
    ]
    write_all(tmp_path, fake_registry(with_extra_field=True))
    assert check_all(tmp_path, fake_registry(with_extra_field=True)) == []


def test_check_all_reports_missing_and_stale_files_and_write_all_removes_stale(
    tmp_path: Path,
) -> None:
    written = write_all(tmp_path, fake_registry(with_second=True))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        render_all(fake_registry(with_second=True))
    )
    (tmp_path / "docs/events.md").unlink()
    assert check_all(tmp_path, fake_registry()) == [
        "docs/asyncapi.yaml (out of date)",
        "docs/events.md (missing)",
        "docs/events/org.shequ.test.thing.vanished.v1.json (no longer in the registry)",
    ]
    write_all(tmp_path, fake_registry())
    assert not (tmp_path / "docs/events/org.shequ.test.thing.vanished.v1.json").exists()
    assert check_all(tmp_path, fake_registry()) == []


def test_nested_models_are_embedded_resolvably() -> None:
    registry = fake_registry(with_extra_field=True)
    contract = registry.by_type("org.shequ.test.thing.happened.v1")
    doc = asyncapi_document(registry, version="1.2.3")
    assert doc["info"]["version"] == "1.2.3"
    assert "test.thing.happened.v1.Nested" in doc["components"]["schemas"]
    for ref in refs(doc):
        resolve(ref, doc)
    assert check_schema(event_schema(contract)) == []
    assert check_schema(payload_schema(contract)) == []

    rows = {
        name: (label, required) for name, label, required, _ in field_rows(payload_schema(contract))
    }
    assert rows == {
        "thing_id": ("string", True),
        "parts": ("array of Nested", True),
        "parts[].code": ("string", True),
        "parts[].weight": ("integer", False),
        "colour": ("string | null", False),
    }
    event = {"thing_id": "t1", "parts": [{"code": "a"}], "colour": None}
    assert validation_errors(event, payload_schema(contract)) == []
    assert validation_errors({**event, "parts": [{"weight": 2}]}, payload_schema(contract))


def test_undocumented_lists_offenders() -> None:
    registry = ContractRegistry()

    @registry.contract(service="test", aggregate="thing", name="sloppy")
    class Sloppy(EventPayload):
        """Emitted never."""

        thing_id: str
        note: str = Field(description="Documented.")

    assert undocumented(registry) == [
        "org.shequ.test.thing.sloppy.v1: no changelog entry in "
        "shared/src/shared/contracts/changelog.py",
        "org.shequ.test.thing.sloppy.v1: field thing_id has no description",
    ]


def test_channel_ids_are_asyncapi_identifiers() -> None:
    assert channel_id("registry.area.events") == "registry-area-events"


def test_cli_writes_and_checks(tmp_path: Path) -> None:
    app = Typer()
    app.command()(generate)
    runner = CliRunner()

    result = runner.invoke(app, ["--check", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "docs/events.md (missing)" in result.output

    stale = tmp_path / "docs/events/org.shequ.gone.thing.happened.v1.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n")
    result = runner.invoke(app, ["--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert check_all(tmp_path, CONTRACTS) == []
    assert (tmp_path / "docs/configuration.md").read_text().startswith("# Configuration")

    result = runner.invoke(app, ["--check", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
