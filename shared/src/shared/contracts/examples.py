"""An example of every event type, made from its contract model.

A payload class may carry its own example (``model_config = ConfigDict(json_schema_extra=
{"examples": [...]})``, as the casework and eldercare contracts do); every other payload gets
one generated from its JSON Schema: the first value of an enum, a date for a date, an id shaped
like the platform's ids for ``…_id``, one item for a list, and so on. Either way the example
is validated by the model, so a documented example can never be one the platform would refuse.
Everything here is deterministic: ``make schemas`` writes the examples into the committed docs.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.contracts.core import DEFAULT_SCHEMA_BASE_URL, EventContract
from shared.contracts.envelope import CloudEvent

JSONSchema = dict[str, Any]

EXAMPLE_PATH = ["110000", "110101", "110101001", "110101001001"]
"""A community's area path: Beijing, Dongcheng district, a street office, a community."""
EXAMPLE_COMMUNITY_ID = EXAMPLE_PATH[-1]
OTHER_COMMUNITY_ID = "110101001002"
"""The community on the other side of a move, merge or split."""
EXAMPLE_DATE = "2026-03-02"
EXAMPLE_TIME = "2026-03-02T09:30:00Z"
EXAMPLE_NAMESPACE = uuid.UUID("5e1f0c8a-3d7b-4f52-9a61-2c4b8d9e0f13")
"""Namespace of the example ids (uuid5), so that they are stable from one run to the next."""

_AREA_FIELDS = {"area_id", "community_id", "scope_area_id", "merged_id"}
_PREFERRED_VALUES = {"level": "community"}
"""Enum values that agree with the example path, where the first one would not."""
_OTHER_AREA_PREFIXES = ("to_", "into", "successor")
"""Area lists naming where something moved to or what it became: another community."""
_AREA_LISTS = {"path", "from_path", "to_path"}


class ExampleError(ValueError):
    """A schema this generator cannot make a value for; give the payload class an example."""


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(EXAMPLE_NAMESPACE, "/".join(parts)))


def _resolve(ref: str, root: JSONSchema) -> JSONSchema:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    if not isinstance(node, dict):
        raise ExampleError(f"$ref {ref} does not name a schema")
    return node


def _string(field: str, schema: JSONSchema, seed: str) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return EXAMPLE_DATE
    if fmt == "date-time":
        return EXAMPLE_TIME
    if fmt == "uuid" or field.endswith("_id"):
        area = field in _AREA_FIELDS or field.endswith("community_id")
        if field.startswith(("successor", "into")) or (area and field.startswith("to_")):
            return OTHER_COMMUNITY_ID  # the area something moved to or became
        if field == "parent_id":
            return EXAMPLE_PATH[-2]
        return EXAMPLE_COMMUNITY_ID if area else _stable_id(seed, field)
    return f"example {field.replace('_', ' ')}".strip()


def _integer(field: str, schema: JSONSchema) -> int:
    if field.endswith("_year"):
        value = 1956
    elif field == "age":
        value = 70
    else:
        value = 1
    if "minimum" in schema:
        value = max(value, int(schema["minimum"]))
    if "exclusiveMinimum" in schema:
        value = max(value, int(schema["exclusiveMinimum"]) + 1)
    if "maximum" in schema:
        value = min(value, int(schema["maximum"]))
    if "exclusiveMaximum" in schema:
        value = min(value, int(schema["exclusiveMaximum"]) - 1)
    return value


def example_value(schema: JSONSchema, root: JSONSchema, *, field: str = "", seed: str = "") -> Any:
    """A value valid against ``schema`` (a node of the document ``root``) for a field named
    ``field``; ``seed`` makes generated ids differ between event types."""
    if schema.get("examples"):
        return schema["examples"][0]
    if "$ref" in schema:
        return example_value(_resolve(schema["$ref"], root), root, field=field, seed=seed)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        preferred = _PREFERRED_VALUES.get(field)
        return preferred if preferred in schema["enum"] else schema["enum"][0]
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options = [s for s in schema[combinator] if s.get("type") != "null"]
            return example_value(
                options[0] if options else {"type": "null"}, root, field=field, seed=seed
            )
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return example_value(schema["allOf"][0], root, field=field, seed=seed)
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, root, field=field, seed=seed)
    if kind == "array":
        if field in _AREA_LISTS:
            other = field.startswith(_OTHER_AREA_PREFIXES)
            return [*EXAMPLE_PATH[:-1], OTHER_COMMUNITY_ID if other else EXAMPLE_COMMUNITY_ID]
        items = schema.get("items")
        if not isinstance(items, dict):
            return []
        singular = field.removesuffix("s") if field.endswith("_ids") else field
        return [example_value(items, root, field=singular, seed=seed)]
    if kind == "string":
        return _string(field, schema, seed)
    if kind == "integer":
        return _integer(field, schema)
    if kind == "number":
        return 12.5
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    raise ExampleError(f"no example for field {field or '(root)'}: {schema}")


def _object(schema: JSONSchema, root: JSONSchema, *, field: str, seed: str) -> dict[str, Any]:
    properties: dict[str, JSONSchema] = schema.get("properties", {})
    if properties:
        return {
            name: example_value(prop, root, field=name, seed=seed)
            for name, prop in properties.items()
        }
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        by_area = "area" in field or field.startswith("households")
        key = OTHER_COMMUNITY_ID if by_area else "example"
        return {key: example_value(extra, root, field=field, seed=seed)}
    return {}


def example_payload(contract: EventContract) -> dict[str, Any]:
    """The example ``data`` of a contract's events, validated by its payload model.

    The payload class's own first example if it has one, otherwise one generated from its JSON
    Schema. Raises :class:`pydantic.ValidationError` if the model refuses it.
    """
    schema = contract.payload.model_json_schema()
    own = schema.get("examples")
    data = own[0] if own else _object(schema, schema, field="", seed=contract.type)
    return contract.payload.model_validate(data).model_dump(mode="json")


def example_event(
    contract: EventContract, *, schema_base_url: str = DEFAULT_SCHEMA_BASE_URL
) -> dict[str, Any]:
    """A whole example event of a contract: the CloudEvents envelope around its example, with
    ``dataschema`` under ``schema_base_url`` (by default the one ``make dev`` serves)."""
    aggregate_id = _stable_id(contract.type, "aggregate")
    data = example_payload(contract)
    own_id = data.get(f"{contract.aggregate}_id")
    if isinstance(own_id, str):
        aggregate_id = own_id
    event = CloudEvent.model_validate(
        {
            "id": _stable_id(contract.type, "event"),
            "source": contract.source,
            "type": contract.type,
            "subject": f"{contract.aggregate}/{aggregate_id}",
            "time": EXAMPLE_TIME,
            "dataschema": f"{schema_base_url.rstrip('/')}/{contract.schema_file}",
            "partitionkey": aggregate_id,
            "correlationid": _stable_id(contract.type, "correlation"),
            "data": data,
        }
    )
    return event.model_dump(mode="json", exclude_none=True)


__all__ = ["ExampleError", "example_event", "example_payload", "example_value"]
