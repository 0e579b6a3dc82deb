"""The eldercare API on PostgreSQL and the broker, with the demo data loaded through the
service's own use cases: roster, entitlements (grant, decline, once only), assessments,
placements and waiting lists, orders and visits (check-in/out, missed once), confinement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from eldercare.app import create_app
from eldercare.settings import Settings
from shared.testing.service import bearer, running_service

pytestmark = pytest.mark.integration

FULL = {
    "feeding": 10,
    "bathing": 5,
    "grooming": 5,
    "dressing": 10,
    "bowels": 10,
    "bladder": 10,
    "toilet_use": 10,
    "transfers": 15,
    "mobility": 15,
    "stairs": 10,
}


@pytest.fixture
async def demo(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The service with its demo data (and a fast missed-visit round)."""
    configured = settings.model_copy(update={"demo_data": True, "missed_visit_interval_s": 0.2})
    async with running_service(create_app, configured) as client:
        yield client


async def items(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_demo_data_and_the_api_end_to_end(
    demo: httpx.AsyncClient, settings: Settings, staff: dict[str, str]
) -> None:
    elders = await items(demo, "/elders", staff, limit=500)
    assert len(elders) == 11  # the one born in 1970 is not 60 yet
    assert {e["care_level"] for e in elders} == {0, 1, 2, 3}
    severe = next(e for e in elders if e["care_level"] == 3)
    assert severe["care_package"][0] == {"service": "meal_delivery", "visits_per_week": 7}

    proposed = await items(demo, "/entitlements", staff, status="proposed", limit=500)
    kinds = {p["kind"] for p in proposed}
    assert kinds == {
        "preferential_card",
        "longevity_certificate",
        "pension_qualification_check",
        "longevity_subsidy",
    }
    subsidy = next(p for p in proposed if p["kind"] == "longevity_subsidy")
    granted = await demo.post(f"/entitlements/{subsidy['id']}/grant", headers=staff)
    assert granted.status_code == 200, granted.text
    assert granted.json()["monthly_amount_fen"] == 10_000
    again = await demo.post(f"/entitlements/{subsidy['id']}/grant", headers=staff)
    assert again.status_code == 409
    card = next(p for p in proposed if p["kind"] == "preferential_card")
    declined = await demo.post(
        f"/entitlements/{card['id']}/decline", json={"reason": "not_qualified"}, headers=staff
    )
    assert declined.json()["status"] == "declined"

    first = elders[0]["resident_id"]
    assessed = await demo.post(
        f"/elders/{first}/assessments",
        json={"barthel": {**FULL, "stairs": 0}, "iadl_dependent": ["shopping"]},
        headers=staff,
    )
    assert assessed.status_code == 201, assessed.text
    assert (assessed.json()["barthel_score"], assessed.json()["care_level"]) == (90, 1)
    due_later = await demo.get("/reassessments", params={"by": "2100-01-01"}, headers=staff)
    assert sorted(a["resident_id"] for a in due_later.json()) == sorted(
        e["resident_id"] for e in elders
    )  # one per elder: the newest
    assert (await demo.get("/reassessments", headers=staff)).json() == []  # none due today
    wrong = await demo.post(
        f"/elders/{first}/assessments",
        json={"barthel": {**FULL, "bathing": 10}, "iadl_dependent": []},
        headers=staff,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "body.barthel.bathing"

    centre = await demo.post(
        "/centres",
        json={
            "kind": "day_care",
            "name": "Test centre",
            "community_id": "140502001001",
            "capacity": 1,
        },
        headers=staff,
    )
    assert centre.status_code == 201, centre.text
    assert centre.json()["path"] == ["140500", "140502", "140502001", "140502001001"]
    centre_id = centre.json()["id"]
    by_age = sorted(elders, key=lambda e: (e["care_level"] or 0, e["birth_year"]))
    placed = []
    for elder in by_age[-3:]:  # three capable elders, youngest last
        response = await demo.post(
            "/placements",
            json={"resident_id": elder["resident_id"], "kind": "day_care", "centre_id": centre_id},
            headers=staff,
        )
        assert response.status_code == 201, response.text
        placed.append(response.json())
    assert [p["status"] for p in placed] == ["active", "waiting", "waiting"]
    listed = await demo.get(f"/centres/{centre_id}/waiting-list", headers=staff)
    assert [p["position"] for p in listed.json()["waiting"]] == [1, 2]
    ended = await demo.post(f"/placements/{placed[0]['id']}/end", json={}, headers=staff)
    assert ended.json()["status"] == "ended"
    listed = await demo.get(f"/centres/{centre_id}/waiting-list", headers=staff)
    assert len(listed.json()["waiting"]) == 1
    assert listed.json()["occupied"] == 1

    # An order, a visit checked in and out, another missed once.
    order = await demo.post(
        "/orders", json={"resident_id": first, "service": "bathing"}, headers=staff
    )
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    unassigned = await demo.post(
        f"/orders/{order_id}/visits",
        json={"window_start": "2026-01-01T01:00:00Z", "window_end": "2026-01-01T02:00:00Z"},
        headers=staff,
    )
    assert unassigned.status_code == 409
    volunteer = await demo.post(
        f"/orders/{order_id}/assign",
        json={"assignee_kind": "volunteer", "assignee_id": "nobody"},
        headers=staff,
    )
    assert volunteer.status_code == 422
    assigned = await demo.post(
        f"/orders/{order_id}/assign",
        json={"assignee_kind": "carer", "assignee_id": "carer-9"},
        headers=staff,
    )
    assert assigned.json()["assignee_id"] == "carer-9"
    now = datetime.now(UTC)
    windows = [
        (now - timedelta(minutes=5), now + timedelta(hours=1)),
        (now - timedelta(hours=2), now - timedelta(hours=1)),
    ]
    visit_ids = []
    for start, end in windows:
        response = await demo.post(
            f"/orders/{order_id}/visits",
            json={"window_start": start.isoformat(), "window_end": end.isoformat()},
            headers=staff,
        )
        assert response.status_code == 201, response.text
        visit_ids.append(response.json()["id"])
    checked_in = await demo.post(f"/visits/{visit_ids[0]}/check-in", headers=staff)
    assert checked_in.json()["status"] == "checked_in"
    completed = await demo.post(f"/visits/{visit_ids[0]}/check-out", headers=staff)
    assert completed.json()["status"] == "completed"
    statuses: dict[str, str] = {}
    for _ in range(100):
        listed_visits = await demo.get(f"/orders/{order_id}/visits", headers=staff)
        statuses = {v["id"]: v["status"] for v in listed_visits.json()}
        if statuses[visit_ids[1]] == "missed":
            break
        await asyncio.sleep(0.1)
    assert statuses == {visit_ids[0]: "completed", visit_ids[1]: "missed"}

    confined = bearer(settings, "eldercare:read", "eldercare:write", area="140525")
    assert (await demo.get(f"/orders/{order_id}", headers=confined)).status_code == 404
    outside = await items(demo, "/elders", confined, limit=500)
    assert outside
    assert all("140525" in e["path"] for e in outside)
