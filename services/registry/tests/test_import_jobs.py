"""Imports as jobs: with `Prefer: respond-async` the file is received whole, answered 202,
and imported in the background (it goes on without the client); `GET /imports/{id}` gives
progress and the report, to tokens of the job's area only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from registry.adapters.import_jobs import ImportJobRow
from registry.import_jobs import mark_interrupted
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.testing.service import bearer

pytestmark = [pytest.mark.integration]


async def finished(client: httpx.AsyncClient, location: str, headers: dict[str, str]) -> Any:
    for _ in range(200):
        job = (await client.get(location, headers=headers)).json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"{location} still running")


async def test_an_import_runs_as_a_job_and_reports(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    rows = [
        {
            "type": "household",
            "ref": f"H-{n}",
            "community_id": "m1",
            "address": f"{n} Xijie",
            "registered_on": "2020-01-01",
        }
        for n in range(2500)
    ]
    rows.append({**rows[0], "ref": "H-x", "community_id": "m404"})
    body = "".join(json.dumps(row) + "\n" for row in rows)
    street = bearer(settings, "registry:read", "registry:write", area="s1")
    started = await client.post(
        "/imports", content=body, headers={**street, "Prefer": "respond-async"}
    )
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    assert location == f"/imports/{started.json()['id']}"
    assert started.json()["status"] == "running"

    job = await finished(client, location, street)
    assert (job["status"], job["accepted"], job["rejected"], job["rows"]) == ("done", 2500, 1, 2501)
    assert job["rejected_rows"] == [
        {"line": 2501, "field": "community_id", "reason": "no such area"}
    ]
    assert job["finished_at"] is not None
    listed = await client.get("/households", params={"limit": 1}, headers=street)
    assert listed.json()["next_cursor"] is not None

    other = bearer(settings, "registry:write", area="s2")
    assert (await client.get(location, headers=other)).status_code == 404
    assert (await client.get("/imports/nothing", headers=street)).status_code == 404


async def test_jobs_left_running_by_a_stopped_service_are_marked_interrupted(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    engine = create_engine(settings.resolved_database_url())
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        session.add(
            ImportJobRow(
                id="j-1",
                status="running",
                format="ndjson",
                record_type=None,
                subject="someone",
                area=None,
                area_path="/",
                accepted=3,
                updated=0,
                unchanged=0,
                rejected=0,
                rejected_rows="[]",
                error=None,
                created_at=datetime.now(UTC),
                finished_at=None,
            )
        )
    assert await mark_interrupted(sessions) == 1
    job = (await client.get("/imports/j-1", headers=bearer(settings, "registry:write"))).json()
    await engine.dispose()
    assert (job["status"], job["accepted"]) == ("interrupted", 3)
    assert "run the file again" in job["error"]
