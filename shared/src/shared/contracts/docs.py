"""Generated documentation of the event contracts: JSON Schemas, AsyncAPI and the catalogue.

Everything here is a pure function of a :class:`ContractRegistry` except :func:`write_all` and
:func:`check_all`, which write the files under ``docs/`` and compare them (``make schemas``,
``shequ schemas --check``). Output is deterministic, so a drift check is an exact comparison.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from shared.contracts import CONTRACTS
from shared.contracts.changelog import (
    CHANGELOG,
    CHANGELOG_SOURCE,
    DEPRECATION_WINDOW_DAYS,
    MissingChangelog,
    changes_of,
)
from shared.contracts.core import (
    SCHEMA_ROUTE,
    SCHEMA_URI_PREFIX,
    TYPE_PREFIX,
    ContractRegistry,
    EventContract,
    UnknownEventType,
)
from shared.contracts.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent, kafka_headers
from shared.contracts.examples import example_event, example_payload

JSONSchema = dict[str, Any]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
ENVELOPE_ID = f"{SCHEMA_URI_PREFIX}cloudevent"
ENVELOPE_KEY = "CloudEvent"
EVENTS_DIR = "docs/events"
ENVELOPE_FILE = f"{EVENTS_DIR}/cloudevent.json"
ASYNCAPI_FILE = "docs/asyncapi.yaml"
CATALOGUE_FILE = "docs/events.md"
GENERATED_BY = "make schemas"
SECURITY_SCHEME = "scramSha512"

KAFKA_HEADERS: tuple[tuple[str, str], ...] = (
    ("ce_id", "The envelope's `id`."),
    ("ce_type", "The envelope's `type`; filter on it without parsing the value."),
    ("ce_source", "The envelope's `source`, `/services/<name>`."),
    ("content-type", f"Always `{CLOUDEVENTS_CONTENT_TYPE}`."),
)

_LOCAL_REF = "#/$defs/"


# --------------------------------------------------------------------------- JSON Schemas


def schema_key(contract: EventContract) -> str:
    """Readable name of a payload schema: its type unprefixed (``registry.area.created.v1``)."""
    return contract.type.removeprefix(f"{TYPE_PREFIX}.")


def schema_path(contract: EventContract) -> str:
    """Repository-relative path of a payload's JSON Schema file."""
    return f"{EVENTS_DIR}/{contract.type}.json"


def _docstring(cls: type) -> str:
    return inspect.cleandoc(cls.__doc__ or "")


def payload_schema(contract: EventContract) -> JSONSchema:
    """JSON Schema (draft 2020-12) of a contract's payload, the ``data`` of its events, with
    one example (:func:`shared.contracts.examples.example_payload`)."""
    generated = contract.payload.model_json_schema()
    generated.pop("title", None)
    generated.pop("description", None)
    generated["examples"] = [example_payload(contract)]
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": contract.schema_id,
        "title": contract.type,
        "description": _docstring(contract.payload),
        **generated,
        "x-topic": contract.topic,
        "x-aggregate": contract.aggregate,
        "x-version": contract.version,
    }


def envelope_schema() -> JSONSchema:
    """JSON Schema of the CloudEvents envelope; ``required`` lists what every event carries."""
    generated = CloudEvent.model_json_schema()
    # Attributes defaulting to None are left out of the JSON; every other one is always there.
    always = [
        name
        for name, field in CloudEvent.model_fields.items()
        if field.is_required() or field.default is not None or field.default_factory is not None
    ]
    generated.pop("title", None)
    generated.pop("description", None)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": ENVELOPE_ID,
        "title": ENVELOPE_KEY,
        "description": _docstring(CloudEvent),
        **generated,
        "required": always,
    }


def _relocate(
    schema: JSONSchema, key: str, prefix: str
) -> tuple[JSONSchema, dict[str, JSONSchema]]:
    """Split a standalone schema into its root and its ``$defs`` for embedding elsewhere.

    The ``$defs`` become ``<key>.<Name>`` under ``prefix`` (``#/components/schemas/`` …) and
    every local ``$ref`` is rewritten to match; ``$schema`` and ``$id`` are dropped, since an
    embedded schema resolves references against the embedding document.
    """
    root = copy.deepcopy(schema)
    defs: dict[str, JSONSchema] = root.pop("$defs", {})
    root.pop("$schema", None)
    root.pop("$id", None)

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (
                    f"{prefix}{key}.{v.removeprefix(_LOCAL_REF)}"
                    if k == "$ref" and isinstance(v, str) and v.startswith(_LOCAL_REF)
                    else fix(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    return fix(root), {f"{key}.{name}": fix(d) for name, d in sorted(defs.items())}


def _event_envelope(contract: EventContract, data: JSONSchema) -> JSONSchema:
    """The envelope narrowed to one event type, with ``data`` described by ``data``."""
    envelope = envelope_schema()
    envelope.pop("$schema")
    envelope.pop("$id")
    props: dict[str, JSONSchema] = envelope["properties"]
    props["type"] = {**props["type"], "const": contract.type}
    props["source"] = {**props["source"], "const": contract.source}
    props["dataschema"] = {
        **props["dataschema"],
        "format": "uri",
        "pattern": f"{re.escape(SCHEMA_ROUTE)}/{re.escape(contract.schema_file)}$",
    }
    props["subject"] = {**props["subject"], "pattern": f"^{re.escape(contract.aggregate)}/"}
    props["data"] = {**data, "description": props["data"]["description"]}
    envelope["title"] = contract.type
    envelope["description"] = f"Event `{contract.type}` in its CloudEvents envelope."
    return envelope


def event_schema(contract: EventContract) -> JSONSchema:
    """Self-contained JSON Schema of a whole event of one type: envelope plus payload."""
    key = schema_key(contract)
    payload, defs = _relocate(payload_schema(contract), key, _LOCAL_REF)
    schema = _event_envelope(contract, {"$ref": f"{_LOCAL_REF}{key}"})
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{contract.schema_id}:event",
        **schema,
        "$defs": {key: payload, **defs},
    }


def undocumented(registry: ContractRegistry = CONTRACTS) -> list[str]:
    """Payloads without a docstring or a changelog entry and fields without a description, one
    line each."""
    problems: list[str] = []
    for contract in registry:
        if contract.type not in CHANGELOG:
            problems.append(f"{contract.type}: no changelog entry in {CHANGELOG_SOURCE}")
        if not _docstring(contract.payload):
            problems.append(f"{contract.type}: {contract.payload.__name__} has no docstring")
        schema = contract.payload.model_json_schema()
        models = [("", schema), *((f"{n}.", d) for n, d in sorted(schema.get("$defs", {}).items()))]
        for prefix, model in models:
            for field, prop in model.get("properties", {}).items():
                if not prop.get("description"):
                    problems.append(f"{contract.type}: field {prefix}{field} has no description")
    return problems


# --------------------------------------------------------------------------- AsyncAPI


def _ident(text: str) -> str:
    """An AsyncAPI map key (``^[A-Za-z0-9_\\-]+$``) made from a dotted name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text)


def channel_id(topic: str) -> str:
    """The AsyncAPI channel id of a topic (``registry.area.events`` → ``registry-area-events``)."""
    return _ident(topic)


def message_id(contract: EventContract) -> str:
    """The id of a contract's message within its channel (``created-v1``)."""
    return _ident(f"{contract.name}-v{contract.version}")


def _headers_schema(contract: EventContract) -> JSONSchema:
    consts = {
        "ce_type": contract.type,
        "ce_source": contract.source,
        "content-type": CLOUDEVENTS_CONTENT_TYPE,
    }
    props: dict[str, JSONSchema] = {}
    for name, description in KAFKA_HEADERS:
        prop: JSONSchema = {"type": "string", "description": description}
        if name in consts:
            prop["const"] = consts[name]
        props[name] = prop
    return {
        "type": "object",
        "properties": props,
        "required": [name for name, _ in KAFKA_HEADERS],
    }


def _message_example(contract: EventContract) -> JSONSchema:
    """The AsyncAPI example of a contract's message: record headers and the whole event."""
    event = example_event(contract)
    headers = dict(kafka_header_values(event["id"], contract))
    return {
        "name": message_id(contract),
        "summary": f"An example `{contract.type}` event.",
        "headers": headers,
        "payload": event,
    }


def kafka_header_values(event_id: str, contract: EventContract) -> list[tuple[str, str]]:
    """The record headers of an event of ``contract`` with id ``event_id``, as text."""
    return [
        (name, value.decode())
        for name, value in kafka_headers(
            event_id=event_id, event_type=contract.type, source=contract.source
        )
    ]


def _message(contract: EventContract) -> JSONSchema:
    ref = f"#/components/schemas/{schema_key(contract)}"
    return {
        "name": contract.type,
        "title": f"{contract.payload.__name__} (v{contract.version})",
        "summary": _docstring(contract.payload),
        "contentType": CLOUDEVENTS_CONTENT_TYPE,
        "headers": _headers_schema(contract),
        "payload": _event_envelope(contract, {"$ref": ref}),
        "correlationId": {
            "description": "Shared by everything caused by one original request.",
            "location": "$message.payload#/correlationid",
        },
        "examples": [_message_example(contract)],
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"Aggregate id: the {contract.aggregate} id (= `partitionkey`).",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _by_topic(registry: ContractRegistry) -> dict[str, list[EventContract]]:
    topics: dict[str, list[EventContract]] = {topic: [] for topic in registry.topics()}
    for contract in registry:
        topics[contract.topic].append(contract)
    return topics


def _shared_version() -> str:
    try:
        return metadata.version("shequ-shared")
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout without install
        return "0.0.0"


ASYNCAPI_DESCRIPTION = f"""\
Every event any Shequ service publishes, generated from `shared.contracts` by
`{GENERATED_BY}`; the human catalogue is `docs/events.md`.

- **Envelope**: each Kafka record value is a CloudEvents 1.0 document in structured mode
  (`content-type: {CLOUDEVENTS_CONTENT_TYPE}`), with the extensions `partitionkey`,
  `correlationid` and `causationid`. The payload is `data`; `dataschema` is the URL of its
  JSON Schema, which every service serves at `/schemas/events/<type>.json` and the repository
  holds as `docs/events/<type>.json`.
- **Headers**: `ce_id`, `ce_type` and `ce_source` repeat the envelope's `id`, `type` and
  `source`, so subscribers can filter without parsing the value.
- **Keys**: the record key is the aggregate id (`partitionkey`), so the events of one aggregate
  stay in order on one partition.
- **Topics**: `<service>.<aggregate>.events`; the `type` tells the events on a topic apart.
  Consumers reject types they do not know.
- **Versioning**: additive changes (a new optional field) keep the type; a breaking change is a
  new `.vN` type with its own schema, published beside the old one for {DEPRECATION_WINDOW_DAYS}
  days. Each type's changelog is in `docs/events.md`.
- **Dead letters**: a consumer group parks events it cannot process on `<consumer-group>.dlq`,
  with headers naming the original topic, partition, offset, event id, error and consumer.
- **Personal data**: events carry ids and derived facts (age band, gender, community), never a
  national id number, a name, a phone number or an address.
"""


def asyncapi_document(
    registry: ContractRegistry = CONTRACTS, *, version: str | None = None
) -> JSONSchema:
    """AsyncAPI 3.0.0 document: a channel per topic, a ``send`` operation per channel."""
    topics = _by_topic(registry)
    channels: JSONSchema = {}
    operations: JSONSchema = {}
    for topic, contracts in topics.items():
        cid = channel_id(topic)
        service, aggregate = contracts[0].service, contracts[0].aggregate
        channels[cid] = {
            "address": topic,
            "title": topic,
            "description": (
                f"Events about {aggregate} aggregates, published by the {service} service; "
                f"the record key is the {aggregate} id."
            ),
            "messages": {message_id(c): _message(c) for c in contracts},
            "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING_VERSION}},
        }
        operations[f"send-{cid}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cid}"},
            "title": f"{service} publishes {aggregate} events",
            "summary": f"The {service} service publishes {aggregate} events through its outbox.",
            "tags": [{"name": service}],
            "messages": [{"$ref": f"#/channels/{cid}/messages/{message_id(c)}"} for c in contracts],
        }

    schemas: JSONSchema = {}
    envelope, _ = _relocate(envelope_schema(), ENVELOPE_KEY, "#/components/schemas/")
    schemas[ENVELOPE_KEY] = envelope
    for contract in registry:
        key = schema_key(contract)
        payload, defs = _relocate(payload_schema(contract), key, "#/components/schemas/")
        schemas[key] = payload
        schemas.update(defs)

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:shequ:events",
        "info": {
            "title": "Shequ events",
            "version": version or _shared_version(),
            "description": ASYNCAPI_DESCRIPTION,
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "make dev's Tansu broker",
            },
            "production": {
                "host": "{bootstrap}",
                "protocol": "kafka-secure",
                "description": (
                    "The production Apache Kafka cluster (Strimzi): TLS listener with SCRAM "
                    "authentication, i.e. `security.protocol=SASL_SSL`, "
                    "`sasl.mechanism=SCRAM-SHA-512`, the cluster's CA certificate to verify "
                    "the brokers. Integrators get a read-only user "
                    "(deploy/k8s/integrator, docs/subscribing.md)."
                ),
                "variables": {
                    "bootstrap": {
                        "default": "shequ-kafka-kafka-bootstrap:9093",
                        "description": "Bootstrap host:port of the production cluster.",
                    }
                },
                "security": [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}],
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "scramSha512",
                    "description": (
                        "SASL/SCRAM-SHA-512 over TLS (SASL_SSL) with a Strimzi KafkaUser's "
                        "name and password."
                    ),
                }
            },
        },
    }


# --------------------------------------------------------------------------- catalogue


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _resolve(ref: str, root: JSONSchema) -> JSONSchema:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    assert isinstance(node, dict)
    return node


def type_label(schema: JSONSchema, root: JSONSchema) -> str:
    """A short human name of a schema's type (``string (date)``, ``array of string`` …)."""
    if "$ref" in schema:
        target = _resolve(schema["$ref"], root)
        if "properties" in target:
            return str(schema["$ref"]).rsplit("/", 1)[-1]
        return type_label(target, root)
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    if "enum" in schema:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " | ".join(type_label(s, root) for s in schema[combinator])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return type_label(schema["allOf"][0], root)
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array":
        if "prefixItems" in schema:
            return "tuple of " + ", ".join(type_label(s, root) for s in schema["prefixItems"])
        items = schema.get("items")
        return f"array of {type_label(items, root)}" if isinstance(items, dict) else "array"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if "properties" not in schema and isinstance(extra, dict):
            return f"map of {type_label(extra, root)}"
        return "object"
    if kind is None:
        return "any"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _nested_object(schema: JSONSchema, root: JSONSchema) -> tuple[str, str, JSONSchema] | None:
    """The model a field holds, directly, in an array or nullable: (suffix, ref, schema)."""
    if "$ref" in schema:
        target = _resolve(schema["$ref"], root)
        return (".", schema["$ref"], target) if "properties" in target else None
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        inner = _nested_object(schema["items"], root)
        return ("[].", inner[1], inner[2]) if inner else None
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        return _nested_object(options[0], root)
    return None


def field_rows(
    schema: JSONSchema,
    root: JSONSchema | None = None,
    prefix: str = "",
    _seen: frozenset[str] = frozenset(),
) -> list[tuple[str, str, bool, str]]:
    """(name, type, required, description) of every field, nested models flattened with dots."""
    root = schema if root is None else root
    required = set(schema.get("required", []))
    rows: list[tuple[str, str, bool, str]] = []
    for name, prop in schema.get("properties", {}).items():
        description = str(prop.get("description", ""))
        if "default" in prop:
            default = json.dumps(prop["default"], ensure_ascii=False)
            description = f"{description} Default: `{default}`.".strip()
        rows.append((prefix + name, type_label(prop, root), name in required, description))
        nested = _nested_object(prop, root)
        if nested and nested[1] not in _seen:
            suffix, ref, target = nested
            rows += field_rows(target, root, f"{prefix}{name}{suffix}", _seen | {ref})
    return rows


def _field_table(schema: JSONSchema, first: str = "Field") -> list[str]:
    lines = [f"| {first} | Type | Required | Description |", "|---|---|---|---|"]
    for name, label, required, description in field_rows(schema):
        lines.append(
            f"| `{name}` | {_cell(label)} | {'yes' if required else 'no'} | {_cell(description)} |"
        )
    return lines


def _anchor(text: str) -> str:
    """GitHub's heading anchor for a heading made of ``text``."""
    return re.sub(r"[^a-z0-9 _-]", "", text.lower()).replace(" ", "-")


CATALOGUE_INTRO = f"""\
# Shequ events

<!-- Generated by `{GENERATED_BY}` from shared/src/shared/contracts. Do not edit by hand. -->

> **Generated by `{GENERATED_BY}`; do not edit by hand.** Change the payload models in
> `shared/src/shared/contracts/` and run `{GENERATED_BY}`; CI runs `shequ schemas --check`.
> The same contracts are published as JSON Schemas in [`docs/events/`](events/) and as an
> AsyncAPI 3.0 document in [`docs/asyncapi.yaml`](asyncapi.yaml).

Every Shequ service publishes what happened as events through a transactional outbox. This
catalogue lists every event type: which topic it is on, when it is emitted, what its payload
holds, an example and its changelog. To subscribe (a sample consumer, credentials, ordering,
replay, the dev broker's caveats), read [Subscribing to Shequ events](subscribing.md).

## Envelope

Each Kafka record value is a [CloudEvents 1.0](https://cloudevents.io) document in structured
mode (`content-type: {CLOUDEVENTS_CONTENT_TYPE}`); the payload is `data`. JSON Schema:
[`events/cloudevent.json`](events/cloudevent.json).

"""

CATALOGUE_RULES = """\
## Kafka records

- **Value**: the envelope above, as JSON.
- **Key**: the aggregate id, the same as `partitionkey`, so the events of one aggregate keep
  their order on one partition.
- **Headers**, copied from the envelope so subscribers can filter without parsing the value:

| Header | Value |
|---|---|
{headers}

## Topics and dead letters

- Topics are named `<service>.<aggregate>.events`: one per aggregate of the producing service.
  The `type` tells the events on a topic apart; consumers dispatch on it and reject types they
  do not know.
- A consumer group parks events it cannot process on `<consumer-group>.dlq`, with headers
  naming the original topic, partition, offset, event id, error and consumer.

## Versioning

- The `type` ends in the major version (`….v1`).
- Additive changes keep the type: a new field must be optional (have a default), so that events
  already on the topic still validate.
- A breaking change (a field removed, renamed or retyped, a meaning changed) is a new `.vN` type
  with its own schema, published beside the old one, so that every consumer can move over
  before the old type stops. **Deprecation window: {window} days.** The old type's changelog
  says when it was deprecated; it is still published for {window} days after that date.
- Every type below has a changelog (`shared/src/shared/contracts/changelog.py`).

## Personal data

Events carry ids and derived facts (age band, gender, community), never a national id number, a
name, a phone number or an address. A consumer that needs more asks the owning service's API.
"""


def _changelog_lines(contract: EventContract) -> list[str]:
    try:
        changes = changes_of(contract.type)
    except MissingChangelog:
        return [f"- No entry yet: add `{contract.type}` to `{CHANGELOG_SOURCE}`."]
    return [f"- {change.on.isoformat()}: {change.note}" for change in changes]


def catalogue_markdown(registry: ContractRegistry = CONTRACTS) -> str:
    """The human events catalogue, ``docs/events.md``."""
    lines = CATALOGUE_INTRO.splitlines()
    lines += _field_table(envelope_schema(), first="Attribute")
    headers = "\n".join(f"| `{name}` | {_cell(text)} |" for name, text in KAFKA_HEADERS)
    rules = CATALOGUE_RULES.format(headers=headers, window=DEPRECATION_WINDOW_DAYS)
    lines += ["", *rules.splitlines()]

    topics = _by_topic(registry)
    lines += ["", "## Catalogue", ""]
    if not topics:
        lines.append("No event types are declared yet.")
    else:
        lines += ["| Topic | Type | Producer |", "|---|---|---|"]
        for topic, contracts in topics.items():
            for contract in contracts:
                lines.append(
                    f"| [`{topic}`](#{_anchor(topic)}) "
                    f"| [`{contract.type}`](#{_anchor(contract.type)}) "
                    f"| {contract.service} |"
                )
    for topic, contracts in topics.items():
        first = contracts[0]
        lines += [
            "",
            f"## {topic}",
            "",
            f"Published by the **{first.service}** service. Key: the {first.aggregate} id. "
            f"Subject: `{first.aggregate}/<id>`.",
        ]
        for contract in contracts:
            schema = payload_schema(contract)
            lines += [
                "",
                f"### {contract.type}",
                "",
                *_docstring(contract.payload).splitlines(),
                "",
                f"Payload `{contract.payload.__module__}.{contract.payload.__name__}`, "
                f"version {contract.version}; JSON Schema "
                f"[`events/{contract.type}.json`](events/{contract.type}.json).",
                "",
                *_field_table(schema),
                "",
                "Example:",
                "",
                "```json",
                *_json(example_event(contract)).splitlines(),
                "```",
                "",
                "Changelog:",
                "",
                *_changelog_lines(contract),
            ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- files


def _json(document: JSONSchema) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors and aliases (repeated sub-documents are written out)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    """Multi-line strings as literal blocks, so descriptions read as written."""
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def _yaml(document: JSONSchema) -> str:
    return yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )


def render_schema(file_name: str, registry: ContractRegistry = CONTRACTS) -> str | None:
    """One JSON Schema file of ``docs/events/`` (``<type>.json`` or ``cloudevent.json``) as
    :func:`render_all` writes it, rendered alone; None if no contract has that file."""
    if file_name == ENVELOPE_FILE.rsplit("/", 1)[-1]:
        return _json(envelope_schema())
    event_type = file_name.removesuffix(".json")
    if event_type == file_name:
        return None
    try:
        contract = registry.by_type(event_type)
    except UnknownEventType:
        return None
    return _json(payload_schema(contract))


def render_asyncapi(registry: ContractRegistry = CONTRACTS) -> str:
    """``docs/asyncapi.yaml`` as :func:`render_all` writes it."""
    return _yaml(asyncapi_document(registry))


def render_all(registry: ContractRegistry = CONTRACTS) -> dict[str, str]:
    """Every generated file: repository-relative POSIX path → content."""
    files = {schema_path(c): _json(payload_schema(c)) for c in registry}
    files[ENVELOPE_FILE] = _json(envelope_schema())
    files[ASYNCAPI_FILE] = render_asyncapi(registry)
    files[CATALOGUE_FILE] = catalogue_markdown(registry)
    return dict(sorted(files.items()))


def _stale(root: Path, expected: Iterable[str]) -> list[Path]:
    keep = set(expected)
    events = root / EVENTS_DIR
    if not events.is_dir():
        return []
    return [p for p in sorted(events.glob("*.json")) if p.relative_to(root).as_posix() not in keep]


def write_all(root: Path, registry: ContractRegistry = CONTRACTS) -> list[Path]:
    """Write every generated file under ``root`` and delete stale ``docs/events/*.json``.

    Files whose content is unchanged are not rewritten. Returns the generated files' paths.
    """
    files = render_all(registry)
    written: list[Path] = []
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
        written.append(path)
    for stale in _stale(root, files):
        stale.unlink()
    return written


def check_all(root: Path, registry: ContractRegistry = CONTRACTS) -> list[str]:
    """Generated files that differ from those under ``root``: ``"<path> (<why>)"``, sorted."""
    files = render_all(registry)
    problems: list[str] = []
    for relative, content in files.items():
        path = root / relative
        if not path.is_file():
            problems.append(f"{relative} (missing)")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{relative} (out of date)")
    for stale in _stale(root, files):
        problems.append(f"{stale.relative_to(root).as_posix()} (no longer in the registry)")
    return sorted(problems)


__all__ = [
    "asyncapi_document",
    "catalogue_markdown",
    "channel_id",
    "check_all",
    "envelope_schema",
    "event_schema",
    "field_rows",
    "message_id",
    "payload_schema",
    "render_all",
    "render_asyncapi",
    "render_schema",
    "schema_key",
    "schema_path",
    "type_label",
    "undocumented",
    "write_all",
]
