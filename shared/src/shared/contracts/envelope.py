"""The CloudEvents 1.0 envelope (structured JSON mode) every Shequ event travels in."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 document with Shequ's extension attributes.

    Serialised as the Kafka record value in structured mode
    (``content-type: application/cloudevents+json``); ``id``, ``type`` and ``source`` are also
    copied into the ``ce_id``, ``ce_type`` and ``ce_source`` record headers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = Field(default="1.0", description="CloudEvents version.")
    id: str = Field(default_factory=_new_id, description="Unique event id (UUID).")
    source: str = Field(description="Producing service, `/services/<name>`.")
    type: str = Field(description="Event type, ending in its major version, e.g. `….v1`.")
    subject: str = Field(description="The aggregate the event is about, `<aggregate>/<id>`.")
    time: datetime = Field(default_factory=_now, description="When it happened (UTC).")
    datacontenttype: Literal["application/json"] = Field(
        default="application/json", description="Media type of `data`."
    )
    dataschema: str = Field(description="URI of the JSON Schema of `data`.")
    partitionkey: str = Field(description="Aggregate id; also the Kafka record key.")
    correlationid: str | None = Field(
        default=None, description="Id shared by everything caused by one original request."
    )
    causationid: str | None = Field(
        default=None, description="Id of the request or event that directly caused this one."
    )
    data: dict[str, Any] = Field(description="The payload; its schema is `dataschema`.")

    def to_json_bytes(self) -> bytes:
        """The structured-mode JSON document."""
        return self.model_dump_json(exclude_none=True).encode()

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """Record headers that let subscribers filter without parsing the value."""
        return kafka_headers(event_id=self.id, event_type=self.type, source=self.source)


DocumentWriter = Callable[[str, str, str], str]
"""Writes the document of one event from its id, its aggregate id and its data's JSON."""


def structured_json_writer(
    *,
    source: str,
    type: str,
    aggregate: str,
    time: datetime,
    dataschema: str,
    correlationid: str | None,
    causationid: str | None,
) -> DocumentWriter:
    """The structured-mode documents :meth:`CloudEvent.to_json_bytes` writes (as text) for
    events that share every attribute but the id, the aggregate id (``partitionkey``, and
    ``subject`` as ``<aggregate>/<aggregate id>``) and the data, without building the models:
    ``data_json`` is the payload's own ``model_dump_json()``. A ``correlationid`` of None
    stands for each event's own id (an event that starts its correlation).

    For events written many at a time (the outbox's bulk path), where building and
    serialising one model per event cost more than the payload itself; the shared text is
    escaped once, not per event. The attributes come in the model's order, text escaped and
    times written as pydantic writes them; ``shared/tests/test_new_events.py`` holds it to the
    model's output."""
    after_id = (
        f',"source":{_json_text(source)},"type":{_json_text(type)}'
        f',"subject":{_json_text(aggregate + "/")[:-1]}'
    )
    after_subject = (
        f',"time":"{_json_time(time)}","datacontenttype":"application/json"'
        f',"dataschema":{_json_text(dataschema)},"partitionkey":'
    )
    correlation = None if correlationid is None else f',"correlationid":{_json_text(correlationid)}'
    causation = "" if causationid is None else f',"causationid":{_json_text(causationid)}'

    def write(event_id: str, partitionkey: str, data_json: str) -> str:
        identifier, key = _json_text(event_id), _json_text(partitionkey)
        correlated = correlation or f',"correlationid":{identifier}'
        return (
            f'{{"specversion":"1.0","id":{identifier}{after_id}{key[1:]}{after_subject}{key}'
            f'{correlated}{causation},"data":{data_json}}}'
        )

    return write


def _json_text(value: str) -> str:
    """A JSON string as pydantic writes it (UTF-8 kept, quotes, backslashes and control
    characters escaped); plain ASCII, the usual case, without calling the encoder."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def _json_time(value: datetime) -> str:
    """A time as pydantic writes it in JSON: ISO 8601, UTC as ``Z``."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def kafka_headers(*, event_id: str, event_type: str, source: str) -> list[tuple[str, bytes]]:
    """The Kafka record headers of a structured-mode CloudEvent: ``ce_id``, ``ce_type``,
    ``ce_source`` and the content type."""
    return [
        ("ce_id", event_id.encode()),
        ("ce_type", event_type.encode()),
        ("ce_source", source.encode()),
        ("content-type", CLOUDEVENTS_CONTENT_TYPE.encode()),
    ]
