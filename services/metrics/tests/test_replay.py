"""Replay: ``python -m metrics.replay`` rebuilds every projection from the topics' beginning
into a fresh database, and the result equals the live one after a run with duplicates, an
out-of-order version, a target set through the API and a consumer restart in the middle."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date, timedelta
from typing import Any

import pytest

from metrics.app import create_app
from metrics.replay import ReplayError, differences, replay, snapshot
from metrics.settings import Settings
from metrics.testing import (
    City,
    at_noon,
    envelope,
    eventually,
    facility,
    office_rooms,
    publish,
    resident,
    volunteer,
    worker,
)
from shared.contracts.registry import WorkerLeft
from shared.testing.broker import TansuBroker
from shared.testing.postgres import create_database, drop_database
from shared.testing.service import bearer, running_service

pytestmark = pytest.mark.integration

CITY = City("140500", {"140502": ["c1", "c2", "c3"], "140525": ["c4", "c5"]})


def service_settings(database_url: str, bootstrap: str, **overrides: Any) -> Settings:
    """The metrics service's settings on this database and broker."""
    return Settings(
        environment="development",
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        log_json=False,
        **overrides,
    )


async def test_replayed_projections_equal_the_live_ones(
    fresh_postgres_url: str, own_broker: TansuBroker
) -> None:
    bootstrap = own_broker.bootstrap_servers
    settings = service_settings(fresh_postgres_url, bootstrap, relay_poll_interval_s=0.05)
    reader = bearer(settings, "metrics:read")
    areas = [envelope(a, at=at_noon(date(2005, 1, 1))) for a in CITY.area_events()]
    first = [
        envelope(facility(CITY, "f1", "c1", rooms=office_rooms(320))),
        envelope(facility(CITY, "f2", "c2", kind="library", rooms={"library": 80.25})),
        envelope(facility(CITY, "f3", "c4", rooms=office_rooms(150), version=2)),
        envelope(resident(CITY, "r1", "c1")),
        envelope(resident(CITY, "r2", "c4", employment_status="laid_off")),
        envelope(worker(CITY, "w1", "c1", birth_year=1978, cross_appointed=True)),
    ]
    second = [
        envelope(facility(CITY, "f3", "c4", rooms=office_rooms(500))),  # older: ignored
        envelope(facility(CITY, "f4", "c5", rooms=office_rooms(301), opened_on=date(2006, 9, 1))),
        envelope(
            facility(
                CITY,
                "f2",
                "c2",
                kind="library",
                rooms={"library": 80.25},
                version=2,
                closed_on=date(2007, 6, 30),
            )
        ),
        envelope(volunteer(CITY, "v1", "c1", on=date(2006, 1, 1))),
        envelope(
            WorkerLeft(
                worker_id="w1",
                community_id="c1",
                path=CITY.path("c1"),
                role="committee_member",
                left_on=date(2007, 12, 31),
            )
        ),
    ]
    distinct = len(areas) + len(first) + len(second) + 1  # + the target's own event

    async def applied(client: object, expected: int) -> bool:
        response = await client.get("/state", headers=reader)  # type: ignore[attr-defined]
        return bool(response.json()["events_applied"] == expected)

    async with running_service(create_app, settings) as client:
        await publish(bootstrap, *areas, *first, first[0], areas[3])  # two duplicates
        await eventually(lambda: applied(client, len(areas) + len(first)))
        today = date.fromisoformat((await client.get("/state", headers=reader)).json()["today"])
        created = await client.post(
            "/targets",
            json={
                "id": "replay-rooms",
                "name": "All communities with 300 m²",
                "indicator_id": "office_service_rooms_300",
                "scope_area_id": "140500",
                "target_value": 100,
                "baseline_date": "2026-01-01",
                "deadline": str(today + timedelta(days=365)),
                "source_plan": "Replay test",
            },
            headers=bearer(settings, "metrics:write"),
        )
        assert created.status_code == 201, created.text
        await eventually(lambda: applied(client, len(areas) + len(first) + 1))

    # the consumer is down while more events (and another duplicate) arrive
    await publish(bootstrap, *second, second[1], first[2])

    async with running_service(create_app, settings) as client:
        await eventually(lambda: applied(client, distinct))
        target = (await client.get("/targets/replay-rooms", headers=reader)).json()
        statuses = {a["area_id"]: a["status"] for a in target["areas"]}
        assert (statuses["c5"], statuses["c4"], statuses["140525"]) == (
            "achieved",
            "at_risk",  # version 2 (150 m²) stands: version 1 (500 m²) came late
            "at_risk",
        )

    rebuilt = create_database("shequ_replay")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "metrics.replay",
            "--database-url",
            rebuilt,
            "--compare",
            fresh_postgres_url,
            env={
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "LOG_JSON": "false",
                "LOG_LEVEL": "WARNING",
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output = (await asyncio.wait_for(process.communicate(), timeout=120))[0].decode()
        assert process.returncode == 0, output
        assert "equal the live ones" in output
        assert f"{distinct} applied" in output
        assert "failed" in output

        live, replayed = await snapshot(fresh_postgres_url), await snapshot(rebuilt)
        assert differences(live, replayed) == []
        assert len(replayed["inbox"]) == distinct
        assert any(t["id"] == "replay-rooms" for t in replayed["target"])
        assert replayed["measure_ledger"]  # the history (computed from the ledger) came back

        with pytest.raises(ReplayError, match="fresh"):
            await replay(settings, database_url=rebuilt)
    finally:
        drop_database(rebuilt)


async def test_a_replay_in_polls_of_two_records_equals_one_in_polls_of_a_thousand(
    fresh_postgres_url: str, own_broker: TansuBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay reads and parses a poll while the previous one is being applied: in polls
    of two records every event is still applied once, to the same projections and statuses
    as in polls of a thousand."""
    bootstrap = own_broker.bootstrap_servers
    settings = service_settings(fresh_postgres_url, bootstrap)
    areas = [envelope(a, at=at_noon(date(2005, 1, 1))) for a in CITY.area_events()]
    others = [
        envelope(facility(CITY, "f1", "c1", rooms=office_rooms(320))),
        envelope(facility(CITY, "f3", "c4", rooms=office_rooms(150), version=2)),
        envelope(facility(CITY, "f3", "c4", rooms=office_rooms(500))),  # older: ignored
        envelope(resident(CITY, "r1", "c1")),
        envelope(resident(CITY, "r2", "c4", employment_status="laid_off")),
        envelope(worker(CITY, "w1", "c1", birth_year=1978)),
        envelope(volunteer(CITY, "v1", "c5", on=date(2006, 1, 1))),
    ]
    await publish(bootstrap, *areas, *others, others[0], areas[2])  # two duplicates
    whole = await replay(settings, database_url=fresh_postgres_url)
    rebuilt = create_database("shequ_replay")
    try:
        monkeypatch.setattr("metrics.replay.BATCH", 2)
        small = await replay(settings, database_url=rebuilt)
        assert (small.applied, small.duplicates) == (len(areas) + len(others), 2)
        assert (whole.applied, whole.duplicates) == (small.applied, small.duplicates)
        assert not small.failed
        assert not whole.failed
        in_two, in_thousands = await snapshot(rebuilt), await snapshot(fresh_postgres_url)
        assert differences(in_thousands, in_two) == []
        assert in_two["target_status"]  # the shipped targets, evaluated at the end
        assert in_two["measure_ledger"]
    finally:
        drop_database(rebuilt)
