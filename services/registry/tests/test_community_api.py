"""The workers, organisations and volunteers API on PostgreSQL and the broker: events, worker
statistics, hours logging, validation, idempotency, confinement."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from registry.adapters.community import (
    OrganisationRow,
    VolunteerHoursRow,
    VolunteerRow,
    WorkerRow,
)
from registry.domain.national_id import check_character
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.tables import OutboxRecord
from shared.testing.service import bearer
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.integration, pytest.mark.publishes]

TODAY = date.today()


@pytest.fixture
def writer(tree: None, writer: dict[str, str]) -> dict[str, str]:
    """The conftest's platform-wide token, once its area tree (c1 → d1 → s1 → m1, m2 and
    c1 → d2 → s2 → m3) is built."""
    return writer


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    created: dict[str, Any] = response.json()
    return created


async def resident_in(
    client: httpx.AsyncClient, headers: dict[str, str], community_id: str, sequence: int = 2
) -> str:
    """A resident registered in a new household of ``community_id``."""
    body = {"community_id": community_id, "address": "1 Xijie", "registered_on": "2006-01-01"}
    household = await post(client, "/households", body, headers)
    first_17 = f"11010519491231{sequence:03d}"
    resident = {
        "national_id": first_17 + check_character(first_17),
        "name": "Zhao Li",
        "sex": "male" if sequence % 2 else "female",
        "birth_date": "1949-12-31",
        "household_id": household["id"],
        "employment_status": "retired",
    }
    return str((await post(client, "/residents", resident, headers))["id"])


async def test_a_volunteer_is_a_resident_of_the_token_area(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    elsewhere = await resident_in(client, writer, "m3")
    street = bearer(settings, "registry:read", "registry:write", area="s1")
    answers = []
    for resident_id in (elsewhere, "no-such-resident"):
        body = {"community_id": "m1", "resident_id": resident_id, "registered_on": "2006-06-01"}
        refused = await client.post("/volunteers", json=body, headers=street)
        assert refused.status_code == 422, refused.text
        answers.append((refused.json()["errors"], refused.json()["detail"]))
    assert answers[0] == answers[1]
    assert answers[0][0][0]["field"] == "body.resident_id"
    own = await resident_in(client, writer, "m1", sequence=4)
    body = {"community_id": "m1", "resident_id": own, "registered_on": "2006-06-01"}
    assert (await client.post("/volunteers", json=body, headers=street)).status_code == 201


def worker(community_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "community_id": community_id,
        "role": "committee_member",
        "appointment": "elected",
        "education": "college",
        "birth_year": 1970,
        "sex": "female",
        "cross_appointed": False,
        "appointed_on": "2006-03-01",
        **overrides,
    }


async def counts(settings: Settings) -> tuple[int, ...]:
    """Workers, organisations, volunteers, hour entries and outbox rows stored."""
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        found = [
            int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (WorkerRow, OrganisationRow, VolunteerRow, VolunteerHoursRow, OutboxRecord)
        ]
    await engine.dispose()
    return tuple(found)


async def events_of(settings: Settings, topic: str, key: str, expected: int) -> list[Any]:
    """The events of aggregate ``key`` in ``topic``, once ``expected`` of them have arrived."""
    records = await wait_for_records(
        settings, topic, expected, where=lambda r: r.key == key.encode()
    )
    return [json.loads(r.value) for r in records]


async def test_workers_are_appointed_leave_and_are_counted(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    secretary = await post(
        client,
        "/workers",
        worker(
            "m1",
            role="party_secretary",
            education="bachelor",
            birth_year=1965,
            sex="male",
            cross_appointed=True,
        ),
        writer,
    )
    director = await post(
        client, "/workers", worker("m1", role="committee_director", cross_appointed=True), writer
    )
    member = await post(
        client, "/workers", worker("m2", education="senior_middle", birth_year=1980), writer
    )
    officer = await post(
        client,
        "/workers",
        worker(
            "m3", role="officer", appointment="hired", education="postgraduate", birth_year=1985
        ),
        writer,
    )
    assert secretary["path"] == ["c1", "d1", "s1", "m1"]
    left = await post(client, f"/workers/{member['id']}/leave", {"left_on": "2007-01-31"}, writer)
    assert left["left_on"] == "2007-01-31"
    again = await client.post(
        f"/workers/{member['id']}/leave", json={"left_on": "2007-02-01"}, headers=writer
    )
    assert again.status_code == 409

    async def stats(**params: Any) -> dict[str, Any]:
        response = await client.get("/workers/stats", params=params, headers=writer)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    now = await stats(within="c1", as_of="2007-06-01")
    assert now["count"] == 3  # the member left
    assert now["college_or_above"] == 3
    assert now["college_or_above_share"] == 1.0
    assert now["average_age"] == 33.7  # (42 + 37 + 22) / 3
    assert (now["cross_appointment_base"], now["cross_appointed"]) == (2, 2)
    assert now["cross_appointed_share"] == 1.0
    assert now["meets_cross_appointment_target"] is True

    before = await stats(within="s1", as_of="2006-12-31")
    assert before["count"] == 3  # secretary, director, member; the officer is in s2
    assert before["college_or_above_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert before["cross_appointed_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert before["average_age"] == 34.3  # (41 + 36 + 26) / 3
    assert (await stats(as_of="2006-02-28"))["count"] == 0

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/workers", params=params, headers=writer)
        return [w["id"] for w in response.json()["items"]]

    assert await ids(role="officer") == [officer["id"]]
    assert await ids(appointment="hired") == [officer["id"]]
    assert sorted(await ids(within="s1", current=True)) == sorted([secretary["id"], director["id"]])
    assert len(await ids(within="s1")) == 3
    assert (await client.get(f"/workers/{officer['id']}", headers=writer)).json()["role"] == (
        "officer"
    )

    events = await events_of(settings, "registry.worker.events", member["id"], 2)
    assert [e["type"] for e in events] == [
        "org.shequ.registry.worker.appointed.v1",
        "org.shequ.registry.worker.left.v1",
    ]
    appointed = events[0]["data"]
    assert appointed["path"] == ["c1", "d1", "s1", "m2"]
    assert (appointed["role"], appointed["education"], appointed["birth_year"]) == (
        "committee_member",
        "senior_middle",
        1980,
    )
    assert appointed["cross_appointed"] is False
    assert events[1]["data"]["left_on"] == "2007-01-31"


async def test_organisations_volunteers_and_their_hours(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    team = await post(
        client,
        "/organisations",
        {
            "community_id": "m1",
            "name": "Dongjie volunteer team",
            "kind": "Volunteer_Team",
            "member_count": 35,
            "registered_on": "2006-05-01",
        },
        writer,
    )
    assert team["kind"] == "volunteer_team"
    resident_id = await resident_in(client, writer, "m1")
    volunteer = await post(
        client,
        "/volunteers",
        {
            "community_id": "m1",
            "resident_id": resident_id,
            "organisation_id": team["id"],
            "registered_on": "2006-06-01",
        },
        writer,
    )
    loner = await post(
        client, "/volunteers", {"community_id": "m3", "registered_on": "2006-06-01"}, writer
    )
    assert loner["resident_id"] is None
    hours_path = f"/volunteers/{volunteer['id']}/hours"
    first = await post(client, hours_path, {"hours": 3.5, "served_on": "2007-03-01"}, writer)
    assert first["total_hours"] == 3.5
    second = await post(client, hours_path, {"hours": 20.5, "served_on": "2007-03-01"}, writer)
    assert second["total_hours"] == 24

    before = await counts(settings)
    full_day = await client.post(
        hours_path, json={"hours": 0.5, "served_on": "2007-03-01"}, headers=writer
    )
    assert full_day.status_code == 422
    assert full_day.json()["errors"][0]["field"] == "body.hours"
    for bad in [0, -2, 24.5]:
        refused = await client.post(
            hours_path, json={"hours": bad, "served_on": "2007-03-02"}, headers=writer
        )
        assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "body.hours")
    future = await client.post(
        hours_path,
        json={"hours": 1, "served_on": (TODAY + timedelta(days=1)).isoformat()},
        headers=writer,
    )
    assert future.json()["errors"][0]["field"] == "body.served_on"
    assert await counts(settings) == before

    got = await client.get(f"/volunteers/{volunteer['id']}", headers=writer)
    assert (got.json()["total_hours"], got.json()["entries"]) == (24, 2)
    listed = await client.get("/volunteers", params={"within": "s1"}, headers=writer)
    assert [(v["id"], v["total_hours"]) for v in listed.json()["items"]] == [(volunteer["id"], 24)]
    everyone = await client.get("/volunteers", params={"limit": 1}, headers=writer)
    rest = await client.get(
        "/volunteers", params={"limit": 1, "cursor": everyone.json()["next_cursor"]}, headers=writer
    )
    assert {everyone.json()["items"][0]["id"], rest.json()["items"][0]["id"]} == {
        volunteer["id"],
        loner["id"],
    }
    team_members = await client.get(
        "/volunteers", params={"organisation_id": team["id"]}, headers=writer
    )
    assert [v["id"] for v in team_members.json()["items"]] == [volunteer["id"]]
    organisations = await client.get(
        "/organisations", params={"kind": "volunteer_team"}, headers=writer
    )
    assert [o["id"] for o in organisations.json()["items"]] == [team["id"]]

    events = await events_of(settings, "registry.volunteer.events", volunteer["id"], 3)
    assert [e["type"] for e in events] == [
        "org.shequ.registry.volunteer.registered.v1",
        "org.shequ.registry.volunteer.hours_logged.v1",
        "org.shequ.registry.volunteer.hours_logged.v1",
    ]
    registered = events[0]["data"]
    assert (registered["resident_id"], registered["organisation_id"]) == (resident_id, team["id"])
    assert registered["path"] == ["c1", "d1", "s1", "m1"]
    logged = events[1]["data"]
    assert (logged["hours"], logged["served_on"], logged["entry_id"]) == (
        3.5,
        "2007-03-01",
        first["entry_id"],
    )
    [organisation_event] = await events_of(settings, "registry.organisation.events", team["id"], 1)
    assert organisation_event["data"]["member_count"] == 35
    assert organisation_event["data"]["kind"] == "volunteer_team"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/workers", worker("m1", birth_year=1995, appointed_on="2006-03-01"), "body.birth_year"),
        ("/workers", worker("m1", role="mayor"), "body.role"),
        ("/workers", worker("m1", education="none"), "body.education"),
        ("/workers", worker("s1"), "body.community_id"),
        (
            "/organisations",
            {
                "community_id": "m1",
                "name": "A",
                "kind": "culture",
                "member_count": -1,
                "registered_on": "2006-01-01",
            },
            "body.member_count",
        ),
        (
            "/volunteers",
            {"community_id": "m1", "registered_on": "2006-02-30"},
            "body.registered_on",
        ),
        (
            "/volunteers",
            {"community_id": "m1", "organisation_id": "nope", "registered_on": "2006-01-01"},
            "body.organisation_id",
        ),
    ],
    ids=[
        "too young",
        "unknown role",
        "unknown education",
        "a street",
        "negative members",
        "impossible date",
        "no such team",
    ],
)
async def test_invalid_records_are_problems_naming_the_field_and_store_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    writer: dict[str, str],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await counts(settings)
    response = await client.post(path, json=body, headers=writer)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert await counts(settings) == before


async def test_a_team_of_another_community_is_refused(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    team = await post(
        client,
        "/organisations",
        {
            "community_id": "m2",
            "name": "Choir",
            "kind": "culture",
            "member_count": 12,
            "registered_on": "2006-01-01",
        },
        writer,
    )
    before = await counts(settings)
    response = await client.post(
        "/volunteers",
        json={"community_id": "m1", "organisation_id": team["id"], "registered_on": "2006-01-01"},
        headers=writer,
    )
    assert (response.status_code, response.json()["errors"][0]["field"]) == (
        422,
        "body.organisation_id",
    )
    assert await counts(settings) == before


async def test_retried_writes_with_the_same_idempotency_key_happen_once(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    volunteer = await post(
        client, "/volunteers", {"community_id": "m1", "registered_on": "2006-01-01"}, writer
    )
    before = await counts(settings)
    headers = {**writer, "Idempotency-Key": "hours-2007-03-01"}
    body = {"hours": 4, "served_on": "2007-03-01"}
    path = f"/volunteers/{volunteer['id']}/hours"
    first = await client.post(path, json=body, headers=headers)
    again = await client.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotency-Replayed"] == "true"
    appoint = {**writer, "Idempotency-Key": "appoint-1"}
    one = await client.post("/workers", json=worker("m1"), headers=appoint)
    two = await client.post("/workers", json=worker("m1"), headers=appoint)
    assert one.json()["id"] == two.json()["id"]
    after = await counts(settings)  # one worker, one hour entry, their two events
    assert after == (before[0] + 1, before[1], before[2], before[3] + 1, before[4] + 2)
    total = await client.get(f"/volunteers/{volunteer['id']}", headers=writer)
    assert total.json()["total_hours"] == 4


async def test_tokens_stay_in_their_area(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    in_m1 = await post(client, "/workers", worker("m1"), writer)
    volunteer = await post(
        client, "/volunteers", {"community_id": "m1", "registered_on": "2006-01-01"}, writer
    )
    team = await post(
        client,
        "/organisations",
        {
            "community_id": "m1",
            "name": "Elders",
            "kind": "elders_association",
            "member_count": 60,
            "registered_on": "2006-01-01",
        },
        writer,
    )
    street2 = bearer(settings, "registry:read", "registry:write", area="s2")
    before = await counts(settings)
    for path in [
        f"/workers/{in_m1['id']}",
        f"/volunteers/{volunteer['id']}",
        f"/organisations/{team['id']}",
    ]:
        assert (await client.get(path, headers=street2)).status_code == 404, path
    assert (await client.post("/workers", json=worker("m1"), headers=street2)).status_code == 404
    hours = await client.post(
        f"/volunteers/{volunteer['id']}/hours",
        json={"hours": 1, "served_on": "2007-01-01"},
        headers=street2,
    )
    assert hours.status_code == 404
    leave = await client.post(
        f"/workers/{in_m1['id']}/leave", json={"left_on": "2007-01-01"}, headers=street2
    )
    assert leave.status_code == 404
    assert await counts(settings) == before
    assert (await client.get("/workers", headers=street2)).json()["items"] == []
    assert (await client.get("/workers/stats", headers=street2)).json()["count"] == 0
    assert (
        await client.get("/volunteers", params={"within": "m1"}, headers=street2)
    ).status_code == 404
    reader = bearer(settings, "registry:read")
    assert (await client.post("/workers", json=worker("m3"), headers=reader)).status_code == 403
