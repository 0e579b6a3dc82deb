"""Event contracts: which type goes to which topic with which payload model and version.

Every producing service declares its payload classes in ``shared.contracts.<service>`` with
:meth:`ContractRegistry.contract`. The registry is the single source for the topic of an
event, its JSON Schema (``make schemas``), the AsyncAPI document and the consumers'
validation.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from shared import context
from shared.contracts.envelope import CloudEvent, DocumentWriter, structured_json_writer
from shared.ids import new_uuid7s

TYPE_PREFIX = "org.shequ"
SCHEMA_URI_PREFIX = "urn:shequ:schema:"
SCHEMA_ROUTE = "/schemas/events"
"""Where every service serves the payload schemas: ``<SCHEMA_ROUTE>/<type>.json``."""
DEFAULT_SCHEMA_BASE_URL = f"http://127.0.0.1:8001{SCHEMA_ROUTE}"
"""Base of ``dataschema`` unless a service is told its public one (the registry under
``make dev``); services set theirs from the ``EVENTS_SCHEMA_BASE_URL`` setting."""


class EventPayload(BaseModel):
    """Base of every event payload. Payloads are documented data: a docstring saying when the
    event is emitted, a ``description`` on every field; no personal identifiers."""

    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True)
class EventContract:
    """What a subscriber can rely on for one event type."""

    service: str
    aggregate: str
    name: str
    version: int
    payload: type[EventPayload]
    field_names: frozenset[str] = field(init=False, repr=False, compare=False)
    """The payload's field names, read once (pydantic's ``model_fields`` costs a microsecond
    a read, and every event parsed asks)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_names", frozenset(self.payload.model_fields))

    @property
    def type(self) -> str:
        """The CloudEvents ``type``, e.g. ``org.shequ.registry.area.created.v1``."""
        return f"{TYPE_PREFIX}.{self.service}.{self.aggregate}.{self.name}.v{self.version}"

    @property
    def topic(self) -> str:
        """The Kafka topic, ``<service>.<aggregate>.events``."""
        return f"{self.service}.{self.aggregate}.events"

    @property
    def source(self) -> str:
        """The CloudEvents ``source`` of the producing service."""
        return f"/services/{self.service}"

    @property
    def schema_id(self) -> str:
        """The ``$id`` of the payload's JSON Schema (``urn:shequ:schema:<type>``), the same
        wherever the schema is served."""
        return f"{SCHEMA_URI_PREFIX}{self.type}"

    @property
    def schema_file(self) -> str:
        """File name of the payload's JSON Schema: ``docs/events/<file>`` in the repository,
        ``<schema base URL>/<file>`` over HTTP."""
        return f"{self.type}.json"

    @property
    def description(self) -> str:
        """The payload class's docstring: when the event is emitted."""
        return inspect.cleandoc(self.payload.__doc__ or "")


@dataclass(frozen=True, slots=True)
class EventDocument:
    """A new event as an outbox row holds it: id, type, key and the JSON document."""

    id: str
    type: str
    partitionkey: str
    json: str


class UnknownEventType(LookupError):
    """An event type that no contract in the registry declares."""


class ContractRegistry:
    """A set of event contracts, looked up by type or payload class."""

    def __init__(self, *, schema_base_url: str = DEFAULT_SCHEMA_BASE_URL) -> None:
        self._by_type: dict[str, EventContract] = {}
        self._by_payload: dict[type[EventPayload], EventContract] = {}
        self.schema_base_url = schema_base_url
        self._parts: dict[tuple[str, str], tuple[str, str, str]] = {}
        """Public URL the payload schemas are served under; ``dataschema`` starts with it."""

    def dataschema(self, contract: EventContract) -> str:
        """The ``dataschema`` of a contract's events: the URL its JSON Schema is served at."""
        return f"{self.schema_base_url.rstrip('/')}/{contract.schema_file}"

    def contract(
        self, *, service: str, aggregate: str, name: str, version: int = 1
    ) -> Callable[[type[P]], type[P]]:
        """Class decorator declaring a payload model as the contract of one event type."""

        def register(payload: type[P]) -> type[P]:
            self.add(
                EventContract(
                    service=service,
                    aggregate=aggregate,
                    name=name,
                    version=version,
                    payload=payload,
                )
            )
            return payload

        return register

    def add(self, contract: EventContract) -> None:
        """Register a contract; a type may be declared only once."""
        if contract.type in self._by_type:
            raise ValueError(f"event type {contract.type} is declared twice")
        if not contract.description:
            raise ValueError(
                f"{contract.payload.__name__} needs a docstring saying when it is sent"
            )
        self._by_type[contract.type] = contract
        self._by_payload[contract.payload] = contract

    def by_type(self, event_type: str) -> EventContract:
        """The contract of an event type; :class:`UnknownEventType` if none."""
        try:
            return self._by_type[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def for_payload(self, payload: EventPayload | type[EventPayload]) -> EventContract:
        """The contract a payload class (or instance) was registered under."""
        cls = payload if isinstance(payload, type) else type(payload)
        try:
            return self._by_payload[cls]
        except KeyError:
            raise UnknownEventType(cls.__name__) from None

    def __iter__(self) -> Iterator[EventContract]:
        return iter(sorted(self._by_type.values(), key=lambda c: c.type))

    def __len__(self) -> int:
        return len(self._by_type)

    def topics(self) -> list[str]:
        """Every topic some contract publishes to."""
        return sorted({c.topic for c in self._by_type.values()})

    def new_event(self, payload: EventPayload, *, aggregate_id: str) -> CloudEvent:
        """Wrap a payload in an envelope, taking correlation and causation from the context.

        With no correlation in context (a command from a script, say) the event starts its own
        correlation: its id.
        """
        return self.new_events([(payload, aggregate_id)])[0]

    def new_events(self, payloads: Sequence[tuple[EventPayload, str]]) -> list[CloudEvent]:
        """:meth:`new_event` for many payloads (each with its aggregate id), in order.

        The envelopes are built without validating them again (``model_construct``): every
        attribute is made here from a registered contract, fresh ids and the context, and the
        payloads are models that validated their data when they were built. A bulk import
        makes one per row, where the validation cost more than the rest of the event.
        """
        return [
            CloudEvent.model_construct(
                specversion="1.0",
                datacontenttype="application/json",
                **attributes,
                data=payload.model_dump(mode="json"),
            )
            for payload, attributes in self._envelopes(payloads)
        ]

    def new_documents(self, payloads: Sequence[tuple[EventPayload, str]]) -> list[EventDocument]:
        """The events :meth:`new_events` would make, as their structured-mode JSON documents
        (what :meth:`CloudEvent.to_json_bytes` writes), without building the models: what
        the unit of work writes to the outbox. The text the events of one contract share is
        written once per call (:func:`~shared.contracts.envelope.structured_json_writer`)."""
        correlation, causation = self._causes()
        now = datetime.now(UTC)
        writers: dict[type[EventPayload], tuple[str, DocumentWriter]] = {}
        documents = []
        ids = new_uuid7s(len(payloads))
        for (payload, aggregate_id), event_id in zip(payloads, ids, strict=True):
            found = writers.get(type(payload))
            if found is None:
                contract = self.for_payload(payload)
                source, event_type, dataschema = self._envelope_parts(contract)
                found = writers[type(payload)] = (
                    event_type,
                    structured_json_writer(
                        source=source,
                        type=event_type,
                        aggregate=contract.aggregate,
                        time=now,
                        dataschema=dataschema,
                        correlationid=correlation,
                        causationid=causation,
                    ),
                )
            event_type, write = found
            documents.append(
                EventDocument(
                    event_id,
                    event_type,
                    aggregate_id,
                    write(event_id, aggregate_id, payload.model_dump_json()),
                )
            )
        return documents

    def _envelopes(
        self, payloads: Sequence[tuple[EventPayload, str]]
    ) -> Iterator[tuple[EventPayload, dict[str, Any]]]:
        """Each payload with the attributes of its envelope (but the constant ones); the
        events of one call happen at one time, read once."""
        correlation, causation = self._causes()
        now = datetime.now(UTC)
        ids = new_uuid7s(len(payloads))
        for (payload, aggregate_id), event_id in zip(payloads, ids, strict=True):
            contract = self.for_payload(payload)
            source, event_type, dataschema = self._envelope_parts(contract)
            yield (
                payload,
                {
                    "id": event_id,
                    "source": source,
                    "type": event_type,
                    "subject": f"{contract.aggregate}/{aggregate_id}",
                    "time": now,
                    "dataschema": dataschema,
                    "partitionkey": aggregate_id,
                    "correlationid": correlation or event_id,
                    "causationid": causation,
                },
            )

    @staticmethod
    def _causes() -> tuple[str | None, str | None]:
        """The correlation id (None: each event starts its own) and causation id of the
        events made in the current context."""
        causation = context.causation_id_var.get() or context.request_id_var.get()
        return context.correlation_id_var.get(), causation

    def _envelope_parts(self, contract: EventContract) -> tuple[str, str, str]:
        """The ``source``, ``type`` and ``dataschema`` of a contract's events (computed once
        per contract and schema base URL)."""
        key = (contract.type, self.schema_base_url)
        parts = self._parts.get(key)
        if parts is None:
            parts = (contract.source, contract.type, self.dataschema(contract))
            self._parts[key] = parts
        return parts

    def parse_payload(self, event: CloudEvent) -> EventPayload:
        """Validate an envelope's ``data`` against its contract's payload model.

        A tolerant reader: fields the model does not know are left out before validation, so a
        consumer built before an additive change (a new optional field, which keeps the type)
        reads the newer events instead of dead-lettering them during a rolling upgrade. The
        models themselves forbid unknown fields, so a producer cannot emit one by mistake.
        """
        contract = self.by_type(event.type)
        known, data = contract.field_names, event.data
        if isinstance(data, dict) and not data.keys() <= known:
            data = {name: value for name, value in data.items() if name in known}
        return contract.payload.model_validate(data)
