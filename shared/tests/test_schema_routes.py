"""Every service serves the event schemas and the AsyncAPI document without a token, byte for
byte the committed files, and its events' ``dataschema`` is the URL of their schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import yaml

from shared.contracts import CONTRACTS
from shared.contracts.core import DEFAULT_SCHEMA_BASE_URL
from shared.contracts.registry import AreaCreated
from shared.http import create_app
from shared.settings import ServiceSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
PUBLIC_BASE = "https://api.shequ.example/registry/schemas/events"
AREA_CREATED = "org.shequ.registry.area.created.v1"


@pytest.fixture
def default_base_restored() -> Iterator[None]:
    """The app factory sets the process's schema base URL; put the default back after."""
    yield
    CONTRACTS.schema_base_url = DEFAULT_SCHEMA_BASE_URL


@pytest.fixture
async def client(default_base_restored: None) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(
        service_name="schemas-test", environment="development", events_schema_base_url=PUBLIC_BASE
    )
    app = create_app(settings, title="schemas test")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_an_event_schema_is_served_as_committed(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/schemas/events/{AREA_CREATED}.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    assert response.headers["cache-control"] == "public, max-age=300"
    committed = (REPO_ROOT / "docs" / "events" / f"{AREA_CREATED}.json").read_text()
    assert response.text == committed
    assert response.json()["examples"], "the schema carries its example"


async def test_the_envelope_schema_and_the_asyncapi_document_are_served(
    client: httpx.AsyncClient,
) -> None:
    envelope = await client.get("/schemas/events/cloudevent.json")
    assert envelope.status_code == 200
    assert envelope.json()["title"] == "CloudEvent"
    asyncapi = await client.get("/schemas/asyncapi.yaml")
    assert asyncapi.status_code == 200
    assert asyncapi.headers["content-type"].startswith("application/yaml")
    assert asyncapi.text == (REPO_ROOT / "docs" / "asyncapi.yaml").read_text()
    assert yaml.safe_load(asyncapi.text)["asyncapi"].startswith("3.")


@pytest.mark.parametrize(
    "name", ["org.shequ.registry.nothing.v1.json", AREA_CREATED, "cloudevent", "x.yaml"]
)
async def test_an_unknown_schema_is_a_problem_404(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/schemas/events/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_index_lists_every_type_with_its_dataschema(client: httpx.AsyncClient) -> None:
    index = (await client.get("/schemas/events")).json()
    listed = {entry["type"]: entry["dataschema"] for entry in index["events"]}
    assert listed == {c.type: f"{PUBLIC_BASE}/{c.type}.json" for c in CONTRACTS}
    assert index["asyncapi"] == "/schemas/asyncapi.yaml"


async def test_events_name_the_url_their_schema_is_served_at(client: httpx.AsyncClient) -> None:
    payload = AreaCreated(
        area_id="110101001001",
        level="community",
        name="示例社区",
        parent_id="110101001",
        path=["110000", "110101", "110101001", "110101001001"],
        valid_from=date(2026, 3, 2),
    )
    event = CONTRACTS.new_event(payload, aggregate_id=payload.area_id)
    assert event.dataschema == f"{PUBLIC_BASE}/{AREA_CREATED}.json"
    served = await client.get(event.dataschema.removeprefix("https://api.shequ.example/registry"))
    assert served.status_code == 200
    assert served.json()["$id"] == f"urn:shequ:schema:{AREA_CREATED}"


async def test_the_routes_need_no_token_and_are_documented(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for path in ("/schemas/events", "/schemas/events/{schema_file}", "/schemas/asyncapi.yaml"):
        operation = document["paths"][path]["get"]
        assert not operation.get("security"), path
