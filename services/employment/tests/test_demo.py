"""`make dev`'s demo data: loaded through the service's own use cases at start-up, once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from employment.app import create_app
from employment.settings import Settings
from shared.testing.service import bearer, running_service

pytestmark = [pytest.mark.integration, pytest.mark.publishes]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_demo_seekers_vacancies_placements_and_follow_ups(
    backend: str, settings: Settings, sqlite_url: str
) -> None:
    """On PostgreSQL, and on SQLite as `make dev` runs it."""
    update: dict[str, object] = {"demo_data": True}
    if backend == "sqlite":
        update["database_url"] = sqlite_url
    demo = settings.model_copy(update=update)
    headers = bearer(demo, "employment:read")
    async with running_service(create_app, demo) as client:
        await check_demo(client, headers)
    async with running_service(create_app, demo) as client:  # a restart loads nothing twice
        seekers = await client.get("/seekers", headers=headers)
        assert len(seekers.json()["items"]) == 12


async def check_demo(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    seekers = (await client.get("/seekers", headers=headers)).json()["items"]
    assert len(seekers) == 12
    assert sum(1 for s in seekers if "laid_off" in s["priority_groups"]) == 6
    assert sum(1 for s in seekers if s["status"] == "placed") == 3
    vacancies = (await client.get("/vacancies", headers=headers)).json()["items"]
    assert {v["kind"] for v in vacancies} == {"enterprise", "public_welfare", "convenience_service"}
    placements = (await client.get("/placements", headers=headers)).json()["items"]
    assert len(placements) == 3
    assert all(p["reemployed_on"] for p in placements)
    # the follow-up job runs at start-up: the 6-month checks of the demo placements fall due
    for _ in range(100):
        due = (await client.get("/placements?check_due=true", headers=headers)).json()["items"]
        if due:
            break
        await asyncio.sleep(0.1)
    assert {p["id"] for p in due} == {p["id"] for p in placements}
    loans = (await client.get("/loans", headers=headers)).json()["items"]
    assert [(loan["status"], loan["amount_fen"]) for loan in loans] == [("disbursed", 3_000_000)]
    care = next(v for v in vacancies if v["title"] == "Home care assistant")
    ranked = (await client.get(f"/vacancies/{care['id']}/candidates", headers=headers)).json()
    items = ranked["items"]
    assert all(len(item["terms"]) == 6 for item in items)
    assert items[0]["missing_required"] == []
    assert "laid_off" in items[0]["priority_groups"]
    # a housekeeper who cooks lacks elderly care: a near miss, with the demo's care course
    near = [item for item in items if item["near_miss"]]
    assert near
    assert all(item["missing_required"] == ["care.elderly"] for item in near)
    assert all(
        [c["skills"] for c in item["recommended_courses"]] == [["care.elderly"]] for item in near
    )
