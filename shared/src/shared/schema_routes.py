"""Public routes serving the event contracts: the JSON Schemas and the AsyncAPI document.

Every service serves the contracts of the whole platform (the same registry), so an event's
``dataschema`` (``<EVENTS_SCHEMA_BASE_URL>/<type>.json``) can point at any of them. The
documents are the committed ones byte for byte (``docs/events/<type>.json``,
``docs/asyncapi.yaml``): both come from :func:`shared.contracts.docs.render_all`. They hold no
data, only the contracts, so the routes need no token.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path
from fastapi.responses import Response

from shared.contracts import CONTRACTS
from shared.contracts.core import ContractRegistry
from shared.contracts.docs import ASYNCAPI_FILE, ENVELOPE_FILE, EVENTS_DIR, render_all
from shared.errors import NotFound
from shared.settings import ServiceSettings

SCHEMA_MEDIA_TYPE = "application/schema+json"
ASYNCAPI_MEDIA_TYPE = "application/yaml"
ASYNCAPI_ROUTE = "/schemas/asyncapi.yaml"
CACHE_CONTROL = "public, max-age=300"
"""Clients may keep a schema a few minutes; a new release may add optional fields to it."""


@functools.cache
def _documents() -> dict[str, str]:
    """The generated documents, repository path → text, rendered once per process."""
    return render_all(CONTRACTS)


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
    async def event_schema(
        schema_file: Annotated[
            str,
            Path(
                description="`<event type>.json` (the last segment of an event's "
                "`dataschema`), or `cloudevent.json` for the envelope.",
                examples=["org.shequ.registry.area.created.v1.json"],
                max_length=200,
            ),
        ],
    ) -> Response:
        """The JSON Schema of one event type's payload (what its events' ``dataschema``
        names), or of the CloudEvents envelope."""
        text = _documents().get(f"{EVENTS_DIR}/{schema_file}")
        if text is None or not schema_file.endswith(".json"):
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
                "content": {ASYNCAPI_MEDIA_TYPE: {"schema": {"type": "string"}}},
            }
        },
    )
    async def asyncapi() -> Response:
        """Every topic and event type of the platform, as in ``docs/asyncapi.yaml``."""
        return Response(
            _documents()[ASYNCAPI_FILE],
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


__all__ = ["ASYNCAPI_ROUTE", "ENVELOPE_FILE", "install_schema_routes"]
