"""Public routes serving the event contracts: the JSON Schemas and the AsyncAPI document.

Every service serves the contracts of the whole platform (the same registry), so an event's
``dataschema`` (``<EVENTS_SCHEMA_BASE_URL>/<type>.json``) can point at any of them. The
documents are the committed ones byte for byte (``docs/events/<type>.json``,
``docs/asyncapi.yaml``), rendered by the functions ``make schemas`` writes them with
(:mod:`shared.contracts.docs`), each when first asked for and in a worker thread. They hold no
data, only the contracts, so the routes need no token.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path
from fastapi.responses import Response

from shared.contracts import CONTRACTS
from shared.contracts.core import ContractRegistry
from shared.contracts.docs import render_asyncapi, render_schema
from shared.errors import NotFound
from shared.settings import ServiceSettings

SCHEMA_MEDIA_TYPE = "application/schema+json"
ASYNCAPI_MEDIA_TYPE = "application/yaml"
ASYNCAPI_ROUTE = "/schemas/asyncapi.yaml"
MAX_FILE_NAME = 200
"""Longest schema file name looked up (longer ones are 404 at once)."""
CACHE_CONTROL = "public, max-age=300"
"""Clients may keep a schema a few minutes; a new release may add optional fields to it."""


_SCHEMAS: dict[str, str] = {}
"""JSON Schema texts rendered so far, by file name: at most one per event type."""


def _schema(file_name: str) -> str | None:
    """A JSON Schema's text, rendered once per process (only the one asked for)."""
    text = _SCHEMAS.get(file_name)
    if text is None:
        text = render_schema(file_name, CONTRACTS)
        if text is not None:
            _SCHEMAS[file_name] = text
    return text


@functools.cache
def _asyncapi() -> str:
    """The AsyncAPI document's text, rendered once per process (seconds of CPU: every
    schema and example)."""
    return render_asyncapi(CONTRACTS)


def _schema_router(registry: ContractRegistry) -> APIRouter:
    router = APIRouter(prefix="/schemas", tags=["event contracts"])

    @router.get(
        "/events",
        summary="Index of the event schemas",
        response_description="Every event type with the URL of its payload schema.",
    )
    async def schema_index() -> dict[str, object]:
        """Every event type any Shequ service publishes, with its topic and the URL of its
        payload's JSON Schema (its events' ``dataschema``)."""
        return {
            "asyncapi": ASYNCAPI_ROUTE,
            "envelope": f"{registry.schema_base_url.rstrip('/')}/cloudevent.json",
            "events": [
                {"type": c.type, "topic": c.topic, "dataschema": registry.dataschema(c)}
                for c in registry
            ],
        }

    @router.get(
        "/events/{schema_file}",
        summary="One event schema",
        response_class=Response,
        responses={
            200: {
                "description": "The JSON Schema (draft 2020-12), as in `docs/events/`.",
                "content": {SCHEMA_MEDIA_TYPE: {"schema": {"type": "object"}}},
            },
            404: {"description": "No event type of that name."},
        },
    )
    def event_schema(
        schema_file: Annotated[
            str,
            Path(
                description="`<event type>.json` (the last segment of an event's "
                "`dataschema`), or `cloudevent.json` for the envelope.",
                examples=["org.shequ.registry.area.created.v1.json"],
                max_length=MAX_FILE_NAME,
            ),
        ],
    ) -> Response:
        """The JSON Schema of one event type's payload (what its events' ``dataschema``
        names), or of the CloudEvents envelope."""
        text = _schema(schema_file) if len(schema_file) <= MAX_FILE_NAME else None
        if text is None:
            raise NotFound(f"no event schema {schema_file!r}")
        return Response(
            text, media_type=SCHEMA_MEDIA_TYPE, headers={"Cache-Control": CACHE_CONTROL}
        )

    @router.get(
        "/asyncapi.yaml",
        summary="The AsyncAPI document",
        response_class=Response,
        responses={
            200: {
                "description": "AsyncAPI 3.0 document of every topic and event type.",
                "content": {ASYNCAPI_MEDIA_TYPE: {"schema": {"type": "object"}}},
            }
        },
    )
    def asyncapi() -> Response:
        """Every topic and event type of the platform, as in ``docs/asyncapi.yaml``."""
        return Response(
            _asyncapi(),
            media_type=ASYNCAPI_MEDIA_TYPE,
            headers={"Cache-Control": CACHE_CONTROL},
        )

    return router


def install_schema_routes(app: FastAPI, settings: ServiceSettings) -> None:
    """Serve the event contracts from ``app`` and stamp ``dataschema`` with the public URL.

    The registry is the process's (:data:`shared.contracts.CONTRACTS`): every service reads
    the same ``EVENTS_SCHEMA_BASE_URL``, so the events it publishes name schemas a client can
    fetch.
    """
    CONTRACTS.schema_base_url = settings.events_schema_base_url
    app.include_router(_schema_router(CONTRACTS))


__all__ = ["ASYNCAPI_ROUTE", "install_schema_routes"]
