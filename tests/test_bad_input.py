"""Bad input against all five services, every operation enumerated from its OpenAPI document
(``docs/openapi/<service>.yaml``), on SQLite and on PostgreSQL:

- mass assignment: every JSON request body model refuses unknown fields, and the fields a
  client may not set (ids, status, timestamps, version, area paths) are refused with a 422
  naming each of them (:data:`SERVER_OWNED`, with the few client-chosen exceptions of
  :data:`CLIENT_CHOSEN` and why);
- an oversized body is 413, a body nested too deep is 422 (``json_too_deep``), never a 500;
- a page size over the documented maximum is 422 naming ``query.limit``; every ``limit``
  declares its maximum;
- a NUL byte (or another control character) in any text field of a body, any text query
  parameter or any path parameter is 422 (path: 404 or 422), never a 500, and both databases
  answer alike;
- a client trickling its body is answered 408 after ``HTTP_BODY_TIMEOUT_S`` while other
  requests to the same server keep being answered at once (uvicorn, a real socket).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml

from shared.auth import ALL_SCOPES
from shared.inputs import LINE_PATTERN, TEXT_PATTERN
from shared.pagination import MAX_PAGE_SIZE
from shared.testing.postgres import create_database, drop_database
from shared.testing.service import bearer, running_service

pytestmark = pytest.mark.integration
IN_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
"""For tests using :func:`services`, which live as long as the module."""

ROOT = Path(__file__).resolve().parents[1]
OPENAPI_DIR = ROOT / "docs" / "openapi"
SERVICES = ("registry", "metrics", "casework", "employment", "eldercare")
DATABASES = ("sqlite", "postgresql")
MAX_BODY_BYTES = 64 * 1024
METHODS = ("get", "put", "post", "patch", "delete")

SERVER_OWNED = (
    "id",
    "status",
    "state",
    "created_at",
    "updated_at",
    "recorded_at",
    "version",
    "path",
    "area_path",
    "ancestors",
)
"""Fields the server sets: a body naming one is refused (422 ``extra_forbidden``)."""

CLIENT_CHOSEN = {
    ("registry", "AreaIn", "id"): "an area's id is its administrative code, given by the state",
    ("registry", "NewCommunityIn", "id"): "a new community's administrative code",
    ("registry", "SplitCommunityIn", "id"): "a new community's administrative code",
    ("metrics", "TargetIn", "id"): "optional: a target's readable id from the plan (a pattern)",
}
"""Server-owned names a request model does declare, and why."""


# --- the operations, from the documents -------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str
    spec: Mapping[str, Any]
    components: Mapping[str, Any]

    def __str__(self) -> str:
        return f"{self.service} {self.method.upper()} {self.path}"

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    @property
    def body_schema(self) -> Mapping[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            return None
        return self.resolve(content["application/json"]["schema"])

    @property
    def body_model(self) -> str:
        content = self.spec["requestBody"]["content"]["application/json"]["schema"]
        return str(content.get("$ref", "?")).rsplit("/", 1)[-1]

    @property
    def parameters(self) -> list[Mapping[str, Any]]:
        return list(self.spec.get("parameters", []))

    def url(self, fill: str = "x") -> str:
        return re.sub(r"\{[^}]+\}", fill, self.path)


def operations() -> list[Operation]:
    found = []
    for name in SERVICES:
        spec = yaml.safe_load((OPENAPI_DIR / f"{name}.yaml").read_text())
        components = spec.get("components", {}).get("schemas", {})
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if method in METHODS:
                    found.append(Operation(name, method, path, operation, components))
    return found


OPERATIONS = operations()
WITH_JSON_BODY = [op for op in OPERATIONS if op.body_schema is not None]
WITH_BODY = [op for op in OPERATIONS if "requestBody" in op.spec]
PAGED = [op for op in OPERATIONS if any(p["name"] == "limit" for p in op.parameters)]


def is_text(schema: Mapping[str, Any]) -> bool:
    """A string schema carrying the shared control-character rule."""
    pattern = str(schema.get("pattern", ""))
    return any(pattern.startswith(rule[: -len("*$")]) for rule in (LINE_PATTERN, TEXT_PATTERN))


def text_members(operation: Operation, schema: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(property, a value holding a NUL) for each top-level text property of a body."""
    found: list[tuple[str, Any]] = []
    for name, member in schema.get("properties", {}).items():
        for option in member.get("anyOf", [member]):
            option = operation.resolve(option)
            if option.get("type") == "string" and is_text(option):
                found.append((name, "a\x00b"))
                break
            items = option.get("items", {})
            if option.get("type") == "array" and is_text(items):
                found.append((name, ["a\x00b"]))
                break
            extra = option.get("propertyNames", {})
            if option.get("type") == "object" and is_text(extra):
                found.append((name, {"a\x00b": 1}))
                break
    return found


def text_query(operation: Operation) -> list[str]:
    names = []
    for parameter in operation.parameters:
        if parameter["in"] != "query":
            continue
        schema = parameter.get("schema", {})
        if any(is_text(option) for option in schema.get("anyOf", [schema])):
            names.append(parameter["name"])
    return names


def fields_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {error["field"]: error["code"] for error in response.json()["errors"]}


# --- the services -----------------------------------------------------------------------------


class Services:
    """The five services on one database kind, started on first use."""

    def __init__(self, stack: AsyncExitStack, database: str, directory: Path) -> None:
        self._stack, self._database, self._directory = stack, database, directory
        self._clients: dict[str, tuple[httpx.AsyncClient, dict[str, str]]] = {}
        self.databases: list[str] = []

    async def client(self, name: str) -> tuple[httpx.AsyncClient, dict[str, str]]:
        """The running service's client and a token holding every scope, no area."""
        if name not in self._clients:
            if self._database == "postgresql":
                url = create_database()
                self.databases.append(url)
            else:
                url = f"sqlite+aiosqlite:///{self._directory / name}.db"
            settings = importlib.import_module(f"{name}.settings").Settings(
                environment="development",
                database_url=url,
                kafka_bootstrap_servers="127.0.0.1:1",
                kafka_create_topics=False,
                relay_enabled=False,
                consumer_enabled=False,
                log_json=False,
                http_max_body_bytes=MAX_BODY_BYTES,
                rate_limit_writes="",  # every operation is tried many times, faster than a clerk
                rate_limit_not_found="",
                _env_file=None,
            )
            create_app = importlib.import_module(f"{name}.app").create_app
            client = await self._stack.enter_async_context(running_service(create_app, settings))
            self._clients[name] = (client, bearer(settings, *ALL_SCOPES))
        return self._clients[name]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASES)
async def services(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        running = Services(stack, request.param, tmp_path_factory.mktemp("bad-input"))
        try:
            yield running
        finally:
            await stack.aclose()
            for url in running.databases:
                drop_database(url)


async def send(services: Services, operation: Operation, url: str, **kwargs: Any) -> httpx.Response:
    client, token = await services.client(operation.service)
    headers = {**token, "Idempotency-Key": os.urandom(8).hex(), **kwargs.pop("headers", {})}
    return await client.request(operation.method.upper(), url, headers=headers, **kwargs)


# --- mass assignment --------------------------------------------------------------------------


def test_every_json_body_model_is_closed_and_declares_no_server_owned_field() -> None:
    assert len(WITH_JSON_BODY) > 40, "the documents lost their operations"
    for operation in WITH_JSON_BODY:
        schema = operation.body_schema
        assert schema is not None
        assert schema.get("additionalProperties") is False, f"{operation}: extra='forbid'"
        for name in SERVER_OWNED:
            if name in schema.get("properties", {}):
                key = (operation.service, operation.body_model, name)
                assert key in CLIENT_CHOSEN, f"{operation} lets a client set `{name}`"


@IN_MODULE_LOOP
@pytest.mark.parametrize("operation", WITH_JSON_BODY, ids=str)
async def test_server_owned_and_unknown_fields_are_refused_by_name(
    services: Services, operation: Operation
) -> None:
    schema = operation.body_schema
    assert schema is not None
    declared = schema.get("properties", {})
    refused = [name for name in SERVER_OWNED if name not in declared] + ["is_admin"]
    response = await send(services, operation, operation.url(), json=dict.fromkeys(refused, "x"))
    errors = fields_of(response)
    for name in refused:
        assert errors.get(f"body.{name}") == "extra_forbidden", f"{operation}: {errors}"


# --- size, depth, page size -------------------------------------------------------------------


@IN_MODULE_LOOP
@pytest.mark.parametrize("operation", WITH_BODY, ids=str)
async def test_an_oversized_body_is_413(services: Services, operation: Operation) -> None:
    body = json.dumps({"filler": "x" * MAX_BODY_BYTES})
    headers = {"content-type": next(iter(operation.spec["requestBody"]["content"]))}
    response = await send(services, operation, operation.url(), content=body, headers=headers)
    if operation.spec.get("x-shequ-bulk-body"):
        assert response.status_code != 413  # bulk routes take up to the bulk limit
    else:
        assert response.status_code == 413, f"{operation}: {response.text}"
        assert response.json()["status"] == 413


@IN_MODULE_LOOP
@pytest.mark.parametrize("operation", WITH_JSON_BODY, ids=str)
async def test_json_nested_too_deep_is_422(services: Services, operation: Operation) -> None:
    depth = 10_000  # 20 kB, far under the size limit, ten times Python's recursion limit
    body = "[" * depth + "]" * depth
    headers = {"content-type": "application/json"}
    response = await send(services, operation, operation.url(), content=body, headers=headers)
    assert fields_of(response) == {"body": "json_too_deep"}, str(operation)


def maximum_page_size(operation: Operation) -> int:
    limit = next(p for p in operation.parameters if p["name"] == "limit")
    maximum: int = limit["schema"].get("maximum", 0)
    return maximum


def test_every_page_size_declares_its_maximum() -> None:
    assert PAGED, "no paged list found"
    for operation in PAGED:
        assert 0 < maximum_page_size(operation) <= MAX_PAGE_SIZE, str(operation)


@IN_MODULE_LOOP
@pytest.mark.parametrize("operation", PAGED, ids=str)
async def test_a_huge_page_size_is_refused(services: Services, operation: Operation) -> None:
    for limit in (maximum_page_size(operation) + 1, 10**30):
        response = await send(services, operation, operation.url(), params={"limit": limit})
        assert fields_of(response).get("query.limit") == "less_than_equal", str(operation)


# --- control characters, on both databases ----------------------------------------------------


@IN_MODULE_LOOP
@pytest.mark.parametrize("operation", WITH_JSON_BODY, ids=str)
async def test_a_nul_in_any_text_field_of_a_body_is_422(
    services: Services, operation: Operation
) -> None:
    schema = operation.body_schema
    assert schema is not None
    for name, value in text_members(operation, schema):
        response = await send(services, operation, operation.url(), json={name: value})
        errors = fields_of(response)
        named = [field for field in errors if field.startswith(f"body.{name}")]
        assert named, f"{operation}: {name} not refused: {errors}"
        assert "control_character" in {errors[field] for field in named}, f"{operation} {name}"


QUERIED = [op for op in OPERATIONS if text_query(op)]


def test_every_free_string_query_parameter_is_text() -> None:
    """A string query parameter is an enum, a format (date, uuid), has a pattern of its own,
    or is :data:`shared.inputs.Text`: nothing else reaches a query unchecked."""
    loose = []
    for operation in OPERATIONS:
        for parameter in operation.parameters:
            if parameter["in"] != "query":
                continue
            schema = parameter.get("schema", {})
            for option in schema.get("anyOf", [schema]):
                if option.get("type") == "string" and not (
                    "enum" in option or "format" in option or "pattern" in option
                ):
                    loose.append(f"{operation} {parameter['name']}")
    assert loose == []


@IN_MODULE_LOOP
@pytest.mark.parametrize("operation", QUERIED, ids=str)
async def test_a_nul_in_any_text_query_parameter_is_422(
    services: Services, operation: Operation
) -> None:
    for name in text_query(operation):
        response = await send(services, operation, operation.url(), params={name: "a\x00b"})
        assert fields_of(response).get(f"query.{name}") == "control_character", str(operation)


NAMED = [op for op in OPERATIONS if "{" in op.path and op.method == "get"]


@IN_MODULE_LOOP
@pytest.mark.parametrize("operation", NAMED, ids=str)
async def test_a_nul_in_a_path_parameter_is_never_a_server_error(
    services: Services, operation: Operation
) -> None:
    response = await send(services, operation, operation.url("a%00b"))
    assert response.status_code in (404, 422), f"{operation}: {response.text}"


# --- a slow client ----------------------------------------------------------------------------

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def slow_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The registry served by uvicorn (SQLite, no broker) with a 1-second body timeout."""
    directory = tmp_path_factory.mktemp("slow-client")
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'registry.db'}",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "RELAY_ENABLED": "false",
        "HTTP_BODY_TIMEOUT_S": "1",
        "RATE_LIMIT_WRITES": "",
    }
    with (directory / "registry.log").open("w") as log:
        server = subprocess.Popen(
            [str(BIN / "uvicorn"), "--factory", "registry.app:create_app", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            else:
                raise AssertionError((directory / "registry.log").read_text()[-2000:])
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


async def trickle(port: int, token: str, seconds: float) -> tuple[bytes, float]:
    """POST /households declaring 1,000 bytes and sending one byte every 0.2 s; the
    response's status line and when it came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "POST /households HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Authorization: {token}\r\nContent-Length: 1000\r\n\r\n{{"
        ).encode()
    )
    await writer.drain()
    begin = time.monotonic()

    async def dribble() -> None:
        while time.monotonic() - begin < seconds:
            await asyncio.sleep(0.2)
            writer.write(b" ")
            await writer.drain()

    dribbling = asyncio.create_task(dribble())
    try:
        status = await asyncio.wait_for(reader.readline(), timeout=seconds)
        return status, time.monotonic() - begin
    finally:
        dribbling.cancel()
        writer.close()


@IN_MODULE_LOOP
async def test_a_slow_body_is_408_and_other_requests_keep_being_answered(
    slow_registry: str,
) -> None:
    from registry.settings import Settings

    token = bearer(Settings(environment="development", _env_file=None), *ALL_SCOPES)
    port = int(slow_registry.rsplit(":", 1)[1])
    slow = [asyncio.create_task(trickle(port, token["Authorization"], 10)) for _ in range(20)]
    async with httpx.AsyncClient(base_url=slow_registry, headers=token, timeout=5) as client:
        await asyncio.sleep(0.3)
        quick = []
        while not all(task.done() for task in slow):
            begin = time.monotonic()
            response = await client.get("/areas", params={"limit": 5})
            assert response.status_code == 200, response.text
            quick.append(time.monotonic() - begin)
            await asyncio.sleep(0.05)
    answers = [await task for task in slow]
    for status, after in answers:
        assert status.startswith(b"HTTP/1.1 408"), status
        assert 0.8 < after < 5, after  # HTTP_BODY_TIMEOUT_S=1, though a byte came every 0.2 s
    # Answered again and again while twenty bodies trickled (a server blocked by them would
    # answer once they timed out, about once in all); counted, not timed, so a loaded machine
    # does not fail it.
    assert len(quick) >= 5, quick
