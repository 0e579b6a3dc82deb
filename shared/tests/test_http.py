"""Tests of the app factory (shared.http) and structured logging (shared.observability)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import BaseModel

import shared.http
from shared.context import causation_id_var, correlation_id_var, request_id_var
from shared.errors import Conflict, FieldError, InvalidInput, NotFound
from shared.http import BULK_BODY, PROBLEM_MEDIA_TYPE, create_app
from shared.observability import configure_logging
from shared.settings import ServiceSettings

pytestmark = pytest.mark.usefixtures("restore_logging")

SERVICE = "httptest"
NATIONAL_ID = "110101199003071234"  # 18 digits, shaped like a resident identity number

log = logging.getLogger("shequ.test.http")


class NewResident(BaseModel):
    name: str
    birth_date: dt.date


residents = APIRouter(prefix="/residents")


@residents.get("/{resident_id}")
async def get_resident(resident_id: str) -> dict[str, str]:
    return {"resident_id": resident_id}


@residents.get("")
async def list_residents(limit: int = 10) -> dict[str, int]:
    return {"limit": limit}


@residents.post("", status_code=201)
async def add_resident(resident: NewResident) -> dict[str, str]:
    return {"name": resident.name}


households = APIRouter(prefix="/households")


@households.get("/{household_id}")
async def get_household(household_id: str) -> dict[str, str]:
    return {"household_id": household_id}


versioned = APIRouter(prefix="/v1")
versioned.include_router(households)

misc = APIRouter()


@misc.get("/missing/{resident_id}")
async def missing(resident_id: str) -> None:
    raise NotFound(f"No resident {resident_id}.")


@misc.post("/rules")
async def rules() -> None:
    raise InvalidInput(
        errors=[FieldError("body.birth_date", "must not be in the future", "in-future")]
    )


@misc.post("/conflict")
async def conflict() -> None:
    raise Conflict("Already enrolled.", headers={"Retry-After": "5"}, extra={"case_id": "c-1"})


@misc.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internal detail")


@misc.get("/context")
async def context_ids() -> dict[str, str | None]:
    return {
        "request_id": request_id_var.get(),
        "correlation_id": correlation_id_var.get(),
        "causation_id": causation_id_var.get(),
    }


@misc.get("/context-sync")
def context_ids_sync() -> dict[str, str | None]:
    return {"correlation_id": correlation_id_var.get()}


@misc.get("/log")
async def log_something() -> dict[str, str]:
    log.info("hello", extra={"event_id": "e-1", "event_type": "shequ.test.v1", "topic": "t"})
    return {"ok": "yes"}


#: Sizes of the chunks the streaming routes below were given, per route.
chunks_read: dict[str, list[int]] = {}


async def _count_body(request: Request, route: str) -> dict[str, int]:
    sizes = chunks_read.setdefault(route, [])
    async for chunk in request.stream():
        if chunk:
            sizes.append(len(chunk))
    return {"bytes": sum(sizes)}


@misc.post("/stream")
async def stream(request: Request) -> dict[str, int]:
    return await _count_body(request, "/stream")


@misc.post("/bulk", openapi_extra=BULK_BODY)
async def bulk(request: Request) -> dict[str, int]:
    return await _count_body(request, "/bulk")


@misc.get("/cacheable")
async def cacheable(response: Response) -> dict[str, str]:
    response.headers["Cache-Control"] = "public, max-age=60"
    return {"public": "yes"}


def make_settings(**overrides: Any) -> ServiceSettings:
    overrides.setdefault("environment", "development")
    return ServiceSettings(service_name=SERVICE, _env_file=None, **overrides)


def make_app(**kwargs: Any) -> FastAPI:
    return create_app(
        make_settings(),
        title="HTTP test",
        routers=[residents, versioned, misc],
        **kwargs,
    )


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client


def requests_count(route: str, method: str, status: str) -> float:
    labels = {"service": SERVICE, "route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("shequ_http_requests_total", labels) or 0.0


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:shequ:problem:{code}"
    assert body["title"]
    assert body["detail"]
    return body


# --------------------------------------------------------------------------- health


def test_healthz_is_alive(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_readyz_without_checks_is_ready(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {}}


def test_readyz_runs_checks_registered_in_lifespan() -> None:
    async def ok() -> None:
        return None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.readiness_checks = {"database": ok, "broker": ok}
        yield

    with TestClient(make_app(lifespan=lifespan)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def test_readyz_names_the_failing_check_and_logs_why(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async def ok() -> None:
        return None

    async def broker_down() -> None:
        raise ConnectionError("Unable to bootstrap from kafka-secret-host:9092 as svc-user")

    client.app.state.readiness_checks = {"database": ok, "broker": broker_down}  # type: ignore[attr-defined]
    capsys.readouterr()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"database": "ok", "broker": "down"},
    }
    for leak in ("ConnectionError", "kafka-secret-host", "svc-user", "bootstrap"):
        assert leak not in response.text
    logged = [line for line in json_lines(capsys.readouterr().err) if line.get("check")]
    assert [line["check"] for line in logged] == ["broker"]
    assert "ConnectionError: Unable to bootstrap from kafka-secret-host" in logged[0]["message"]


def test_readyz_times_out_slow_checks(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared.http, "READINESS_TIMEOUT_S", 0.05)

    async def hangs() -> None:
        await asyncio.sleep(10)

    client.app.state.readiness_checks = {"database": hangs}  # type: ignore[attr-defined]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "timeout"}


def test_readyz_runs_checks_concurrently(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each check waits for the other to have started: only concurrent runs both pass.
    monkeypatch.setattr(shared.http, "READINESS_TIMEOUT_S", 2.0)
    started: dict[str, asyncio.Event] = {}

    def waits_for(me: str, other: str) -> shared.http.ReadinessCheck:
        async def check() -> None:
            started.setdefault(me, asyncio.Event()).set()
            await started.setdefault(other, asyncio.Event()).wait()

        return check

    client.app.state.readiness_checks = {  # type: ignore[attr-defined]
        "database": waits_for("database", "broker"),
        "broker": waits_for("broker", "database"),
    }
    response = client.get("/readyz")
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def test_settings_on_app_state() -> None:
    app = make_app()
    assert app.state.settings.service_name == SERVICE


# --------------------------------------------------------------------------- metrics


def test_metrics_use_route_templates(client: TestClient) -> None:
    before = requests_count("/residents/{resident_id}", "GET", "200")
    nested_before = requests_count("/v1/households/{household_id}", "GET", "200")
    unmatched_before = requests_count("unmatched", "GET", "404")

    assert client.get("/residents/r-4711").status_code == 200
    assert client.get("/v1/households/h-99").status_code == 200
    assert client.get("/no/such/path/r-4711").status_code == 404

    port = client.app.state.metrics_port  # type: ignore[attr-defined]
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "shequ_http_requests_total{" in text
    assert 'route="/residents/{resident_id}"' in text
    assert "r-4711" not in text
    assert "h-99" not in text
    assert requests_count("/residents/{resident_id}", "GET", "200") == before + 1
    assert requests_count("/v1/households/{household_id}", "GET", "200") == nested_before + 1
    assert requests_count("unmatched", "GET", "404") == unmatched_before + 1
    assert (
        REGISTRY.get_sample_value(
            "shequ_http_request_duration_seconds_count",
            {
                "service": SERVICE,
                "route": "/residents/{resident_id}",
                "method": "GET",
                "status": "200",
            },
        )
        or 0
    ) >= 1


def test_metrics_are_served_on_their_own_port_only(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 404
    port = client.app.state.metrics_port  # type: ignore[attr-defined]
    assert port != client.app.state.settings.http_port  # type: ignore[attr-defined]
    assert "shequ_http_requests_total" in httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text


def test_the_metrics_port_closes_with_the_app() -> None:
    with TestClient(make_app()) as client:
        port = client.app.state.metrics_port  # type: ignore[attr-defined]
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)


def test_metrics_tell_apart_a_router_included_twice() -> None:
    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id}

    first, second = APIRouter(prefix="/first"), APIRouter(prefix="/second")
    first.include_router(items)
    second.include_router(items)
    app = create_app(make_settings(), title="twice", routers=[first, second])
    before = requests_count("/second/items/{item_id}", "GET", "200")
    with TestClient(app) as client:
        assert client.get("/second/items/i-1").status_code == 200
    assert requests_count("/second/items/{item_id}", "GET", "200") == before + 1


def test_metrics_count_unhandled_errors_as_500(client: TestClient) -> None:
    before = requests_count("/boom", "GET", "500")
    client.get("/boom")
    assert requests_count("/boom", "GET", "500") == before + 1


# --------------------------------------------------------------------------- problem+json


def test_validation_error_names_field_without_echoing_value(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = client.post("/residents", json={"name": "Li Wei", "birth_date": NATIONAL_ID})
    body = assert_problem(response, 422, "invalid-input")
    assert body["instance"] == "/residents"
    fields = {error["field"]: error for error in body["errors"]}
    assert set(fields) == {"body.birth_date"}
    assert fields["body.birth_date"]["message"]
    assert fields["body.birth_date"]["code"]
    assert NATIONAL_ID not in response.text
    assert NATIONAL_ID not in capsys.readouterr().err


def test_validation_error_on_query_and_missing_field(client: TestClient) -> None:
    body = assert_problem(client.get("/residents", params={"limit": "many"}), 422, "invalid-input")
    assert [error["field"] for error in body["errors"]] == ["query.limit"]

    body = assert_problem(client.post("/residents", json={"name": "Li"}), 422, "invalid-input")
    assert body["errors"] == [
        {"field": "body.birth_date", "message": "Field required", "code": "missing"}
    ]


def test_raised_not_found_says_only_not_found(client: TestClient) -> None:
    """The detail a use case gives (``No resident r-1.``) would tell a missing resource from
    one outside the caller's area (``shared.auth.ensure_area``); the answer does not."""
    body = assert_problem(client.get("/missing/r-1"), 404, "not-found")
    assert body == {
        "type": "urn:shequ:problem:not-found",
        "title": "Not found",
        "status": 404,
        "detail": "Not found",
        "instance": "/missing/r-1",
        "errors": [],
    }
    assert str(NotFound("No resident r-1.")) == "No resident r-1."  # kept for the log


def test_raised_invalid_input_with_field_errors(client: TestClient) -> None:
    body = assert_problem(client.post("/rules"), 422, "invalid-input")
    assert body["errors"] == [
        {"field": "body.birth_date", "message": "must not be in the future", "code": "in-future"}
    ]


def test_problem_headers_and_extra_members(client: TestClient) -> None:
    response = client.post("/conflict")
    body = assert_problem(response, 409, "conflict")
    assert response.headers["retry-after"] == "5"
    assert body["case_id"] == "c-1"
    assert body["detail"] == "Already enrolled."


def test_unknown_route_is_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/nowhere"), 404, "not-found")
    assert body["instance"] == "/nowhere"


def test_wrong_method_is_problem(client: TestClient) -> None:
    response = client.delete("/healthz")
    body = assert_problem(response, 405, "method-not-allowed")
    assert body["title"] == "Method not allowed"
    assert "GET" in response.headers["allow"]


def test_unhandled_exception_is_500_without_internals(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = client.get("/boom", headers={"X-Request-ID": "req-boom"})
    body = assert_problem(response, 500, "internal-error")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-request-id"] == "req-boom"
    logged = [line for line in json_lines(capsys.readouterr().err) if line.get("exception")]
    assert logged
    assert logged[0]["request_id"] == "req-boom"
    assert "RuntimeError: secret internal detail" in logged[0]["exception"]
    assert body["instance"] == "/boom"


def test_openapi_documents_problem_responses() -> None:
    schema = make_app().openapi()
    response = schema["paths"]["/residents"]["post"]["responses"]["422"]
    assert response["content"][PROBLEM_MEDIA_TYPE]["schema"] == {
        "$ref": "#/components/schemas/ProblemDetails"
    }
    assert "ProblemDetails" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "/healthz" not in schema["paths"]


# --------------------------------------------------------------------------- body limits


LIMITS = {"http_max_body_bytes": 1000, "http_max_bulk_body_bytes": 10_000}


@pytest.fixture
def limited_app() -> FastAPI:
    """An app accepting 1,000-byte bodies, and 10,000 on bulk routes."""
    chunks_read.clear()
    return create_app(make_settings(**LIMITS), title="Limits", routers=[residents, misc])


@pytest.fixture
def limited(limited_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(limited_app) as test_client:
        yield test_client


async def post_chunks(app: FastAPI, path: str, *, count: int, size: int) -> tuple[int, int]:
    """POST a chunked body (no Content-Length) of ``count`` chunks of ``size`` bytes straight
    to the ASGI app, as a server would pass it on; the status and how many chunks it pulled."""
    pulled = 0
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled == count:
            return {"type": "http.disconnect"}
        pulled += 1
        return {"type": "http.request", "body": b"x" * size, "more_body": pulled < count}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    await app(scope, receive, send)
    return statuses[0], pulled


def test_body_within_the_limit_is_accepted(limited: TestClient) -> None:
    response = limited.post("/residents", json={"name": "n" * 900, "birth_date": "1990-03-07"})
    assert response.status_code == 201
    assert limited.post("/stream", content=b"x" * 1000).json() == {"bytes": 1000}


def test_content_length_over_the_limit_is_413_before_any_byte_is_read(
    limited: TestClient,
) -> None:
    response = limited.post("/residents", json={"name": "n" * 2000, "birth_date": "1990-03-07"})
    body = assert_problem(response, 413, "content-too-large")
    assert "1000 bytes" in body["detail"]
    assert body["instance"] == "/residents"
    assert response.headers["x-request-id"]
    assert response.headers["connection"] == "close"

    streamed = limited.post("/stream", content=b"x" * 1001)
    assert_problem(streamed, 413, "content-too-large")
    assert chunks_read.get("/stream", []) == []


async def test_chunked_body_over_the_limit_is_413_while_it_streams(limited_app: FastAPI) -> None:
    # 100 chunks of 100 bytes: the 11th passes 1,000 bytes, and no further chunk is pulled.
    assert await post_chunks(limited_app, "/stream", count=100, size=100) == (413, 11)
    assert sum(chunks_read["/stream"]) == 1000
    assert await post_chunks(limited_app, "/residents", count=100, size=100) == (413, 11)
    assert await post_chunks(limited_app, "/stream", count=10, size=100) == (200, 10)


async def test_bulk_routes_take_the_bulk_limit(limited: TestClient, limited_app: FastAPI) -> None:
    assert limited.post("/bulk", content=b"x" * 9000).json() == {"bytes": 9000}
    assert await post_chunks(limited_app, "/bulk", count=20, size=500) == (200, 20)

    over = limited.post("/bulk", content=b"x" * 10_001)
    assert "10000 bytes" in assert_problem(over, 413, "content-too-large")["detail"]
    assert await post_chunks(limited_app, "/bulk", count=100, size=1000) == (413, 11)


def test_openapi_declares_413_where_a_body_is_taken() -> None:
    paths = make_app().openapi()["paths"]
    too_large = paths["/residents"]["post"]["responses"]["413"]
    assert "HTTP_MAX_BODY_BYTES" in too_large["description"]
    assert too_large["content"][PROBLEM_MEDIA_TYPE]["schema"] == {
        "$ref": "#/components/schemas/ProblemDetails"
    }
    bulk_too_large = paths["/bulk"]["post"]["responses"]["413"]
    assert "HTTP_MAX_BULK_BODY_BYTES" in bulk_too_large["description"]
    assert "413" not in paths["/residents"]["get"]["responses"]


# --------------------------------------------------------------------------- caching


def test_responses_are_not_stored_unless_a_route_says_so(client: TestClient) -> None:
    assert client.get("/residents/r-1").headers["cache-control"] == "no-store"
    assert client.post("/rules").headers["cache-control"] == "no-store"
    assert client.get("/missing/r-1").headers["cache-control"] == "no-store"
    assert client.get("/no/such/path").headers["cache-control"] == "no-store"
    assert client.get("/cacheable").headers["cache-control"] == "public, max-age=60"


# --------------------------------------------------------------------------- ids


def test_ids_are_generated_and_echoed(client: TestClient) -> None:
    response = client.get("/healthz")
    request_id = response.headers["x-request-id"]
    assert uuid.UUID(request_id)
    assert response.headers["x-correlation-id"] == request_id


def test_ids_are_taken_from_request_and_bound(client: TestClient) -> None:
    response = client.get(
        "/context", headers={"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
    )
    assert response.json() == {
        "request_id": "req-1",
        "correlation_id": "corr-1",
        "causation_id": "req-1",
    }
    assert response.headers["x-request-id"] == "req-1"
    assert response.headers["x-correlation-id"] == "corr-1"


def test_correlation_defaults_to_request_id_and_reaches_sync_routes(client: TestClient) -> None:
    response = client.get("/context-sync", headers={"X-Request-ID": "req-2"})
    assert response.json() == {"correlation_id": "req-2"}
    assert response.headers["x-correlation-id"] == "req-2"


def test_malformed_ids_are_replaced(client: TestClient) -> None:
    response = client.get("/context", headers={"X-Request-ID": "not an id; drop table"})
    request_id = response.headers["x-request-id"]
    assert uuid.UUID(request_id)
    assert response.json()["request_id"] == request_id


def test_ids_are_unbound_after_the_request(client: TestClient) -> None:
    client.get("/context", headers={"X-Request-ID": "req-3"})
    assert request_id_var.get() is None
    assert correlation_id_var.get() is None


# --------------------------------------------------------------------------- logging


def test_log_lines_are_json_with_ids_and_extras(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.get("/log", headers={"X-Request-ID": "req-log", "X-Correlation-ID": "corr-log"})
    lines = json_lines(capsys.readouterr().err)

    hello = next(line for line in lines if line["message"] == "hello")
    assert hello["level"] == "INFO"
    assert hello["logger"] == "shequ.test.http"
    assert hello["service"] == SERVICE
    assert hello["request_id"] == "req-log"
    assert hello["correlation_id"] == "corr-log"
    assert hello["causation_id"] == "req-log"
    assert hello["event_id"] == "e-1"
    assert hello["event_type"] == "shequ.test.v1"
    assert hello["topic"] == "t"
    assert dt.datetime.fromisoformat(hello["timestamp"]).tzinfo is not None

    access = next(line for line in lines if line.get("route") == "/log")
    assert access["message"] == "GET /log 200"
    assert access["method"] == "GET"
    assert access["status"] == 200
    assert access["duration_ms"] >= 0
    assert access["request_id"] == "req-log"


def test_configure_logging_is_idempotent(capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings()
    configure_logging(settings)
    configure_logging(settings)
    capsys.readouterr()
    log.warning("once")
    assert [line["message"] for line in json_lines(capsys.readouterr().err)] == ["once"]
    assert logging.getLogger("aiokafka").level == logging.WARNING
    assert logging.getLogger("uvicorn.access").disabled


def test_readable_format_when_json_is_off(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(make_settings(log_json=False))
    capsys.readouterr()
    log.info("plain", extra={"event_id": "e-2"})
    line = capsys.readouterr().err.strip()
    assert not line.startswith("{")
    assert "plain" in line
    assert SERVICE in line
    assert "event_id=e-2" in line
