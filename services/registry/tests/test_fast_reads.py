"""The hottest reads served by the fast lane (:mod:`shared.fast_reads`) answer exactly as the
FastAPI routes they stand for: the same status, headers and body, and the same audit rows,
for good and bad requests alike."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from registry.app import FAST_READS, create_app
from registry.domain.national_id import check_character
from registry.settings import Settings
from shared.fast_reads import FastReads
from shared.testing.service import bearer

pytestmark = [pytest.mark.integration, pytest.mark.publishes(False)]


@pytest.fixture
async def served(
    settings: Settings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


def national_id(sequence: int) -> str:
    first_17 = f"140502{date(1980, 1, 1):%Y%m%d}{sequence:03d}"
    return first_17 + check_character(first_17)


async def answer(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> Any:
    """Status, headers and body of ``GET path``, and its access log line's fields (the
    metrics are labelled with the same method, route and status)."""
    caplog.clear()
    response = await client.get(path, headers={"X-Request-ID": "same-id", **headers})
    logged = [
        (record.getMessage(), getattr(record, "route", None), getattr(record, "status", None))
        for record in caplog.records
        if record.name == "shared.http"
    ]
    return response.status_code, sorted(response.headers.items()), response.text, logged


async def audited(client: httpx.AsyncClient, settings: Settings) -> list[tuple[Any, ...]]:
    auditor = bearer(settings, "audit:read")
    response = await client.get("/audit", params={"limit": 200}, headers=auditor)
    assert response.status_code == 200, response.text
    return sorted(
        (e["actor"], e["action"], e["resource_type"], e["resource_id"], e["correlation_id"])
        for e in response.json()["items"]
    )


async def test_the_fast_lane_answers_as_the_routes_do(
    served: tuple[FastAPI, httpx.AsyncClient],
    settings: Settings,
    tree: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="shared.http")
    app, client = served
    fast = app.state.fast_reads
    assert isinstance(fast, FastReads)
    writer = bearer(settings, "registry:read", "registry:write")
    created = await client.post(
        "/households",
        json={"community_id": "m1", "address": "1 Dongjie Road", "registered_on": "2020-05-01"},
        headers=writer,
    )
    assert created.status_code == 201, created.text
    household_id = created.json()["id"]
    ids = []
    for sequence in (1, 2, 3):
        body = {
            "national_id": national_id(sequence),
            "name": "Wang Fang",
            "sex": "male" if sequence % 2 else "female",
            "birth_date": "1980-01-01",
            "household_id": household_id,
            "employment_status": "employed",
        }
        response = await client.post("/residents", json=body, headers=writer)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    reader = bearer(settings, "registry:read")
    in_clear = bearer(settings, "registry:read", "pii:read")
    elsewhere = bearer(settings, "registry:read", area="m3")
    no_scope = bearer(settings, "audit:read")
    requests: list[tuple[str, dict[str, str]]] = [
        (f"/residents/{ids[0]}", reader),
        (f"/residents/{ids[1]}", in_clear),
        (f"/residents/{ids[0]}", elsewhere),  # outside the token's area: 404
        ("/residents/no-such-resident", reader),
        (f"/residents/{ids[0]}", {}),  # no token: 401
        (f"/residents/{ids[0]}", {"Authorization": "Bearer not-a-token"}),
        (f"/residents/{ids[0]}", no_scope),  # 403
        ("/residents/count", reader),  # declared before /residents/{resident_id}
        ("/residents/%E4%B8%AD", reader),
        ("/residents?limit=2", reader),
        ("/residents?limit=2&employment_status=employed", in_clear),
        ("/residents?limit=0", reader),  # 422 naming the field
        ("/residents?cursor=garbage", reader),
        ("/residents?within=m3", reader),
        ("/residents", {}),
        ("/areas", reader),
        ("/areas?limit=2", elsewhere),
        ("/areas?limit=abc", reader),
        ("/areas", no_scope),
        ("/areas/", reader),  # not a fast path: the redirect FastAPI gives
    ]
    served_fast = 0
    serve = fast.serve

    async def counting_serve(*args: Any) -> None:
        nonlocal served_fast
        served_fast += 1
        await serve(*args)

    fast.serve = counting_serve  # type: ignore[method-assign,assignment]
    for path, headers in requests:
        app.state.fast_reads = fast
        before = await audited(client, settings)
        fast_answer = await answer(client, path, headers, caplog)
        fast_audit = await audited(client, settings)
        app.state.fast_reads = None
        slow_answer = await answer(client, path, headers, caplog)
        slow_audit = await audited(client, settings)
        assert fast_answer == slow_answer, path
        assert len(fast_answer[3]) == 1, path
        added_fast = Counter(fast_audit) - Counter(before)
        assert added_fast == Counter(slow_audit) - Counter(fast_audit), path
    app.state.fast_reads = fast
    assert served_fast == len(requests) - 2, "the lane served every request it should take"


def test_the_fast_routes_are_declared_routes() -> None:
    """Each fast route is still a FastAPI route (OpenAPI, HEAD, tests of routes see it)."""
    app = create_app(Settings(environment="development"))
    paths = app.openapi()["paths"]
    assert all("get" in paths[path] for path in FAST_READS)
