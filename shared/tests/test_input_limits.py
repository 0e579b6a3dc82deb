"""Input limits of the platform kit: the shared text types (shared.inputs), a body nested too
deep or not UTF-8 (422, never a 400 or a 500), and a body that arrives too slowly (408)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.http import BULK_BODY, PROBLEM_MEDIA_TYPE, create_app
from shared.inputs import LINE_PATTERN, TEXT_PATTERN, Day, LongText, Text
from shared.pagination import decode_cursor
from shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

REFUSED_EVERYWHERE = ["\x00", "\x01", "\x0b", "\x1b", "\x7f", "\x85", "\u202e", "\u2066", "\u200f"]
LINE_BREAKS = ["\t", "\n", "\r"]


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(max_length=50)
    remark: LongText | None = None
    tags: list[Text] = []


router = APIRouter()


@router.post("/notes", status_code=201)
async def add_note(note: Note) -> dict[str, str]:
    return {"name": note.name}


@router.get("/notes")
async def find_notes(q: Annotated[Text | None, Query(max_length=20)] = None) -> dict[str, Any]:
    return {"q": q}


@router.get("/notes/{note_id}")
async def get_note(note_id: str) -> dict[str, str]:
    return {"id": note_id}


@router.delete("/notes/{note_id}")
async def delete_note(note_id: str) -> None:
    return None


@router.get("/notes/latest")
async def latest_note() -> dict[str, str]:
    return {"id": "latest"}


@router.post("/count")
async def count(request: Request) -> dict[str, int]:
    return {"bytes": len(await request.body())}


@router.post("/bulk", openapi_extra=BULK_BODY)
async def bulk(request: Request) -> dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"bytes": size}


def make_app(**overrides: Any) -> FastAPI:
    settings = ServiceSettings(
        service_name="inputtest", environment="development", _env_file=None, **overrides
    )
    return create_app(settings, title="Input limits", routers=[router])


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    return body


# --- shared.inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize("character", REFUSED_EVERYWHERE + LINE_BREAKS)
def test_one_line_text_refuses_every_control_and_bidi_character(character: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Note(name=f"Wang{character}Fang")
    assert raised.value.errors()[0]["type"] == "control_character"
    assert raised.value.errors()[0]["loc"] == ("name",)


@pytest.mark.parametrize("character", REFUSED_EVERYWHERE)
def test_long_text_refuses_controls_but_keeps_tabs_and_line_breaks(character: str) -> None:
    assert Note(name="n", remark="line 1\n\tline 2\r\n").remark == "line 1\n\tline 2\r\n"
    with pytest.raises(ValidationError) as raised:
        Note(name="n", remark=f"a{character}b")
    assert raised.value.errors()[0]["type"] == "control_character"


def test_ordinary_text_in_any_script_passes() -> None:
    note = Note(name="王芳 O'Brien-Łukasz", tags=["社区", "😀"])
    assert note.tags == ["社区", "😀"]


def test_the_schema_carries_the_rule_as_a_pattern_schemathesis_can_use() -> None:
    properties = Note.model_json_schema()["properties"]
    assert properties["name"]["pattern"] == LINE_PATTERN.replace("]*$", "]{0,50}$")
    assert properties["name"]["maxLength"] == 50
    assert properties["remark"]["anyOf"][0]["pattern"] == TEXT_PATTERN
    assert properties["tags"]["items"]["pattern"] == LINE_PATTERN
    line = re.compile(LINE_PATTERN)
    assert line.match("王芳")
    assert not line.match("a\x00")
    assert not line.match("a\u202e")
    assert not line.match("a\nb")
    assert re.compile(TEXT_PATTERN).match("a\nb")


def test_a_nul_in_a_body_or_a_query_is_422_naming_the_field(client: TestClient) -> None:
    body = problem(client.post("/notes", json={"name": "a\x00b"}), 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("body.name", "control_character")]
    assert "a\x00b" not in client.post("/notes", json={"name": "a\x00b"}).text
    queried = problem(client.get("/notes", params={"q": "x\x00"}), 422)
    assert [e["field"] for e in queried["errors"]] == ["query.q"]
    assert client.get("/notes", params={"q": "王"}).json() == {"q": "王"}


def test_a_lone_surrogate_is_422(client: TestClient) -> None:
    response = client.post(
        "/notes", content=b'{"name": "a\\ud800"}', headers={"content-type": "application/json"}
    )
    assert problem(response, 422)["errors"][0]["field"] == "body.name"


# --- bodies the JSON parser cannot take -------------------------------------------------------


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_json_nested_too_deep_is_422_not_a_recursion_error(client: TestClient, depth: int) -> None:
    for document in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response = client.post(
            "/notes", content=document, headers={"content-type": "application/json"}
        )
        body = problem(response, 422)
        assert [(e["field"], e["code"]) for e in body["errors"]] == [("body", "json_too_deep")]


def test_nesting_within_reason_is_an_ordinary_validation_error(client: TestClient) -> None:
    document = '{"name": "n", "tags": ' + "[" * 50 + "]" * 50 + "}"
    response = client.post("/notes", content=document, headers={"content-type": "application/json"})
    assert problem(response, 422)["errors"][0]["field"].startswith("body.tags")


def test_a_body_that_is_not_utf8_is_422(client: TestClient) -> None:
    response = client.post(
        "/notes", content=b'{"name": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    body = problem(response, 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("body", "json_invalid")]


# --- a body that arrives too slowly ----------------------------------------------------------


def scope_of(path: str, length: int | None) -> dict[str, Any]:
    headers = [(b"host", b"test"), (b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }


async def trickle(
    app: FastAPI, path: str, *, chunks: int, every_s: float, length: int | None = None
) -> tuple[int, dict[str, str], int]:
    """Send ``chunks`` one-byte chunks, one every ``every_s`` seconds, straight to the ASGI
    app; the status, the response headers and how many chunks the app pulled."""
    pulled = 0
    started: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled == chunks:
            await asyncio.Event().wait()  # the body is complete: wait for the disconnect
        await asyncio.sleep(every_s)
        pulled += 1
        return {"type": "http.request", "body": b"1", "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.append(message)

    await app(scope_of(path, length), receive, send)
    headers = {name.decode(): value.decode() for name, value in started[0]["headers"]}
    return started[0]["status"], headers, pulled


async def test_a_body_not_received_in_time_is_408_and_closes_the_connection() -> None:
    app = make_app(http_body_timeout_s=0.3)
    status, headers, pulled = await trickle(app, "/count", chunks=100, every_s=0.05, length=100)
    assert (status, headers["connection"]) == (408, "close")
    # Each chunk came well within 0.3 s: the deadline is for the whole body, not per chunk.
    assert pulled < 100
    assert headers["content-type"] == PROBLEM_MEDIA_TYPE


async def test_a_body_received_in_time_is_served() -> None:
    app = make_app(http_body_timeout_s=2)
    assert (await trickle(app, "/count", chunks=5, every_s=0.05, length=5))[0] == 200


async def test_a_bulk_body_may_take_long_while_chunks_keep_coming() -> None:
    app = make_app(http_body_timeout_s=0.3)
    status, _, pulled = await trickle(app, "/bulk", chunks=12, every_s=0.05)
    assert (status, pulled) == (200, 12)  # 0.6 s in all, each chunk well within 0.3 s
    status, _, _ = await trickle(app, "/bulk", chunks=3, every_s=0.5)
    assert status == 408


def test_openapi_declares_408_where_a_body_is_taken() -> None:
    operations = make_app().openapi()["paths"]
    assert "408" in operations["/notes"]["post"]["responses"]
    assert "408" not in operations["/notes"]["get"]["responses"]


@pytest.mark.parametrize("path", ["/notes/a%00b", "/count%0a", "/notes/%7f", "/notes/%C2%85"])
def test_a_path_with_a_control_character_is_404_before_any_route(
    client: TestClient, path: str
) -> None:
    body = problem(client.get(path), 404)
    assert body["title"] == "Not found"
    assert problem(client.post(path, json={"name": "n"}), 404)["status"] == 404


def test_a_405_allows_the_methods_of_every_route_on_the_path(client: TestClient) -> None:
    response = client.put("/notes")
    assert problem(response, 405)["status"] == 405
    assert response.headers["allow"] == "GET, POST"


class Visit(BaseModel):
    on: Day


@pytest.mark.parametrize("value", [0, 1_700_000_000, "1700000000", "2024-2-9", 20240209.0])
def test_a_day_is_iso_text_never_a_unix_time(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        Visit(on=value)  # type: ignore[arg-type]
    assert raised.value.errors()[0]["type"] == "date_format"


def test_a_day_as_text_or_a_date_passes() -> None:
    assert Visit(on="2024-02-29").on == date(2024, 2, 29)  # type: ignore[arg-type]
    assert Visit.model_json_schema()["properties"]["on"]["format"] == "date"


def test_an_empty_cursor_is_the_first_page() -> None:
    assert decode_cursor("") is None


def test_a_405_names_the_methods_of_the_most_specific_path(client: TestClient) -> None:
    assert client.put("/notes/latest").headers["allow"] == "GET"  # not DELETE of {note_id}
    assert client.put("/notes/n-1").headers["allow"] == "DELETE, GET"
