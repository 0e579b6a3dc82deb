"""The permit renewal worklist: the floating residents `resident.permit_expiring` is about,
as a community worker of their area sees them."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from registry.adapters.events import translate
from registry.domain.national_id import check_character
from registry.jobs import scan_permits
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.testing.service import bearer

pytestmark = [pytest.mark.integration]

TODAY = date.today()


async def floating(
    client: httpx.AsyncClient, headers: dict[str, str], community: str, sequence: int, days: int
) -> str:
    body = {"community_id": community, "address": "1 Beijie", "registered_on": "2020-05-01"}
    household_id = (await client.post("/households", json=body, headers=headers)).json()["id"]
    first_17 = f"11010519800101{sequence:03d}"
    resident = {
        "national_id": first_17 + check_character(first_17),
        "name": f"Migrant {sequence}",
        "sex": "male" if sequence % 2 else "female",
        "birth_date": "1980-01-01",
        "household_id": household_id,
        "employment_status": "employed",
        "registration": "floating",
        "permit_expires_on": (TODAY + timedelta(days=days)).isoformat(),
    }
    response = await client.post("/residents", json=resident, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_community_worker_sees_the_permits_to_renew(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    soon = await floating(client, writer, "m1", 1, 10)
    expired = await floating(client, writer, "m1", 3, -2)
    await floating(client, writer, "m1", 5, 60)  # not yet
    await floating(client, writer, "m3", 7, 5)  # another street
    engine = create_engine(settings.resolved_database_url())
    await scan_permits(session_factory(engine), translate=translate, today=TODAY)
    await engine.dispose()

    worker = bearer(settings, "registry:read", area="m1")
    first = await client.get("/worklists/permit-renewals", params={"limit": 1}, headers=worker)
    assert first.status_code == 200, first.text
    rest = await client.get(
        "/worklists/permit-renewals",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=worker,
    )
    entries = first.json()["items"] + rest.json()["items"]
    assert [(e["resident_id"], e["days_left"], e["warned"]) for e in entries] == [
        (expired, -2, False),
        (soon, 10, True),
    ]
    assert rest.json()["next_cursor"] is None
    assert entries[1]["name"] == "Migrant 1"
    other = await client.get("/worklists/permit-renewals", params={"within": "m3"}, headers=worker)
    assert other.status_code == 404
