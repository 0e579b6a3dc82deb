"""Demo cases for ``make dev`` (several states, the overdue one escalated by the first sweep)
and the resident facts kept from registry events (newer versions win; a resident casework
has not heard of is refused)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
import pytest

from casework.app import create_app
from casework.settings import Settings
from shared.testing.service import bearer, running_service

pytestmark = [pytest.mark.integration, pytest.mark.publishes]

Remember = Callable[..., Awaitable[None]]
CARD = {
    "matter_code": "reemployment_concession_card",
    "documents": ["id_card", "household_register", "unemployment_registration_card", "photo"],
}


async def test_demo_cases_in_several_states(sqlite_url: str, kafka_bootstrap: str) -> None:
    settings = Settings(
        environment="development",
        database_url=sqlite_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        demo_data=True,
        consumer_enabled=False,
    )
    headers = bearer(settings, "casework:read")
    async with running_service(create_app, settings) as client:
        items = (await client.get("/cases?limit=100", headers=headers)).json()["items"]
    states = Counter(item["state"] for item in items)
    assert len(items) == 11
    assert {"submitted", "returned", "accepted", "forwarded", "closed", "withdrawn"} <= set(states)
    assert any(item["clock"]["suspended"] for item in items)
    assert any(item["clock"]["time_limit_days"] > 20 for item in items)  # extended
    overdue = [item for item in items if item["clock"]["overdue"]]
    assert [item["matter_code"] for item in overdue] == ["subsistence_allowance"]
    rated = [item["rating"] for item in items if item["rating"] is not None]
    assert sorted(rated) == [4, 5]
    mediation = next(item for item in items if item["matter_code"] == "dispute_mediation")
    assert len(mediation["mediation"]["sessions"]) == 1
    # a second start loads nothing more
    async with running_service(create_app, settings) as client:
        again = (await client.get("/cases?limit=100", headers=headers)).json()["items"]
    assert len(again) == 11


async def test_newer_facts_win_and_unknown_residents_are_refused(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember
) -> None:
    await remember("r-7", version=2, employment_status="employed")
    await remember("r-7", version=1, employment_status="laid_off")  # late, older: ignored
    refused = await client.post(
        "/visits", json={"resident_id": "r-7", "matters": [CARD]}, headers=clerk
    )
    assert refused.status_code == 422
    assert "the resident is employed" in refused.json()["errors"][0]["message"]
    await remember("r-7", version=3, employment_status="laid_off")
    accepted = await client.post(
        "/visits", json={"resident_id": "r-7", "matters": [CARD]}, headers=clerk
    )
    assert accepted.status_code == 201, accepted.text
    unknown = await client.post(
        "/visits", json={"resident_id": "nobody", "matters": [CARD]}, headers=clerk
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.resident_id"
