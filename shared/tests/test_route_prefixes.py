"""Routers whose routes share a literal prefix refuse other paths at once
(``shared.http._PrefixedRouter``), and routing answers exactly as before: the route that
matches, 404 for no route, 405 naming every method of the path, the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

import shared.http
from shared.http import _PrefixedRouter, create_app
from shared.settings import ServiceSettings

people = APIRouter(prefix="/people", tags=["people"])
places = APIRouter(tags=["places"])
loose = APIRouter(tags=["loose"])


@people.get("")
async def list_people() -> dict[str, str]:
    return {"route": "list people"}


@people.get("/count")
async def count_people() -> dict[str, str]:
    return {"route": "count people"}


@people.get("/{person_id}")
async def get_person(person_id: str) -> dict[str, str]:
    return {"route": "get person", "id": person_id}


@people.post("/{person_id}/move")
async def move_person(person_id: str) -> dict[str, str]:
    return {"route": "move person", "id": person_id}


@places.get("/places/{place_id}")
async def get_place(place_id: str) -> dict[str, str]:
    return {"route": "get place", "id": place_id}


@loose.get("/peoplex")
async def peoplex() -> dict[str, str]:
    return {"route": "peoplex"}


@loose.get("/{anything}/loose")
async def anything_loose(anything: str) -> dict[str, str]:
    return {"route": "loose", "id": anything}


def build() -> FastAPI:
    settings = ServiceSettings(service_name="tally", environment="development", _env_file=None)
    return create_app(settings, title="prefixes", routers=[people, places, loose])


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(build()) as client:
        yield client


def test_routers_with_a_literal_prefix_are_prefixed_and_others_left_alone() -> None:
    prefixes = {
        getattr(route, "literal_prefix", None)
        for route in build().router.routes
        if isinstance(route, _PrefixedRouter)
    }
    # the loose router shares no literal prefix; /schemas is the app factory's own
    assert prefixes == {"/people", "/places", "/schemas"}


@pytest.mark.parametrize(
    ("method", "path", "status", "route"),
    [
        ("GET", "/people", 200, "list people"),
        ("GET", "/people/count", 200, "count people"),
        ("GET", "/people/p-1", 200, "get person"),
        ("POST", "/people/p-1/move", 200, "move person"),
        ("GET", "/places/x", 200, "get place"),
        ("GET", "/peoplex", 200, "peoplex"),  # shares letters, not the segment
        ("GET", "/people/loose", 200, "get person"),  # the first route matching wins
        ("GET", "/places/loose", 200, "get place"),
        ("GET", "/elsewhere/loose", 200, "loose"),
        ("GET", "/people/p-1/move", 405, None),
        ("GET", "/nowhere", 404, None),
    ],
)
def test_routing_answers_as_before(
    client: TestClient, method: str, path: str, status: int, route: str | None
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    if route is not None:
        assert response.json()["route"] == route
    if status == 405:
        assert response.headers["allow"] == "POST"


def test_the_openapi_document_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    prefixed = build().openapi()
    monkeypatch.setattr(shared.http, "_skip_routers_by_prefix", lambda app: None)
    plain = build()
    assert not any(isinstance(route, _PrefixedRouter) for route in plain.router.routes)
    assert json.dumps(prefixed) == json.dumps(plain.openapi())
