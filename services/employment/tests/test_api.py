"""The employment service's API on PostgreSQL with registry facts arriving as events: seekers
with derived groups, vacancies, matching explained term by term, placements with retention
checks, public-welfare rules, training and the card, loans, the vacancy change stream, area
confinement, and the events in the outbox."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from employment.adapters.events import translate
from employment.domain.dates import add_months
from employment.jobs import follow_up
from employment.settings import Settings
from employment.testing import Registry
from shared.db import create_engine, session_factory
from shared.tables import OutboxRecord
from shared.testing.service import bearer

pytestmark = [pytest.mark.integration, pytest.mark.publishes]

TODAY = date.today()


def seeker_body(resident: str, **changes: object) -> dict[str, object]:
    return {
        "resident_id": resident,
        "skills": ["repair.electrical", "repair.plumbing"],
        "education": "senior_middle",
        "hours": ["full_time"],
        "max_hours_per_week": 44,
        "wage_expectation_fen": 250_000,
        **changes,
    }


async def employer(post: Any, registry: Registry, kind: str = "enterprise") -> str:
    body = {"name": "Acme", "kind": kind, "community_id": registry.area("d1s1m1")}
    return str((await post("/employers", body))["id"])


def vacancy_body(employer_id: str, place: str, **changes: object) -> dict[str, object]:
    return {
        "employer_id": employer_id,
        "kind": "enterprise",
        "place_id": place,
        "title": "Electrician",
        "required_skills": ["repair.electrical"],
        "nice_skills": ["repair.plumbing"],
        "hours": "full_time",
        "hours_per_week": 40,
        "wage_fen": 280_000,
        "posts": 1,
        **changes,
    }


async def event_types(settings: Settings) -> list[str]:
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pooled=False)
    try:
        async with session_factory(engine)() as session:
            rows = (
                await session.scalars(select(OutboxRecord.event_type).order_by(OutboxRecord.id))
            ).all()
            return [row.split(".")[-3] + "." + row.split(".")[-2] for row in rows]
    finally:
        await engine.dispose()


async def test_seeker_to_re_employment(
    client: httpx.AsyncClient,
    registry: Registry,
    post: Any,
    staff: dict[str, str],
    settings: Settings,
) -> None:
    resident = await registry.resident("d1s1m1", birth_year=TODAY.year - 52)
    seeker = await post("/seekers", seeker_body(resident, recorded_groups=["long_term_unemployed"]))
    assert seeker["priority_groups"] == ["age_4050", "laid_off", "long_term_unemployed"]
    assert seeker["derived_groups"] == ["age_4050", "laid_off"]
    other = await registry.resident("d2s1m1", employment_status="unemployed", birth_year=1995)
    plain = await post("/seekers", seeker_body(other))
    assert plain["priority_groups"] == []

    vacancy = await post(
        "/vacancies", vacancy_body(await employer(post, registry), registry.area("d1s1"))
    )
    ranked = await client.get(f"/vacancies/{vacancy['id']}/candidates", headers=staff)
    assert ranked.status_code == 200, ranked.text
    items = ranked.json()["items"]
    assert [item["seeker_id"] for item in items] == [seeker["id"], plain["id"]]
    best = items[0]
    assert {t["term"]: t["points"] for t in best["terms"]} == {
        "skill_coverage": 40.0,
        "missing_required": 0.0,
        "distance": 12.5,
        "hours": 10.0,
        "wage": 10.0,
        "priority": 15.0,
    }
    assert best["score"] == 87.5
    openings = await client.get(f"/seekers/{seeker['id']}/openings", headers=staff)
    assert [i["vacancy_id"] for i in openings.json()["items"]] == [vacancy["id"]]

    match = await post("/matches", {"vacancy_id": vacancy["id"], "seeker_id": seeker["id"]})
    assert match["score"] == 87.5
    assert match["status"] == "proposed"
    start = TODAY - timedelta(days=100)
    placement = await post(f"/matches/{match['id']}/accept", {"started_on": start.isoformat()})
    assert [c["months"] for c in placement["checks"]] == [3, 6, 12]
    assert placement["reemployed_on"] is None
    filled = await client.get(f"/vacancies/{vacancy['id']}", headers=staff)
    assert filled.json()["status"] == "filled"
    placed = await client.get(f"/seekers/{seeker['id']}", headers=staff)
    assert placed.json()["status"] == "placed"

    due = placement["checks"][0]["due_on"]
    done = await post(
        f"/placements/{placement['id']}/retention-checks",
        {"months": 3, "passed": True, "checked_on": due},
        expect=200,
    )
    assert done["reemployed_on"] == due
    assert await event_types(settings) == [
        "seeker.registered",
        "seeker.registered",
        "employer.registered",
        "vacancy.posted",
        "match.proposed",
        "match.accepted",
        "vacancy.filled",
        "seeker.updated",
        "placement.made",
        "placement.retention_checked",
        "placement.reemployed",
    ]


async def test_registry_changes_flow_into_seekers(
    client: httpx.AsyncClient, registry: Registry, post: Any, staff: dict[str, str]
) -> None:
    resident = await registry.resident("d1s1m1", employment_status="unemployed", birth_year=1990)
    seeker = await post("/seekers", seeker_body(resident))
    assert seeker["priority_groups"] == []
    await registry.resident(
        "d1s1m2", resident_id=resident, employment_status="laid_off", birth_year=1990, version=2
    )
    found = await client.get(f"/seekers/{seeker['id']}", headers=staff)
    assert found.json()["priority_groups"] == ["laid_off"]
    assert found.json()["community_id"] == registry.area("d1s1m2")
    unknown = await post("/seekers", seeker_body("nobody"), expect=422)
    assert unknown["errors"][0]["field"] == "body.resident_id"  # type: ignore[index]
    await post("/seekers", seeker_body(resident), expect=409)


async def test_public_welfare_posts(
    client: httpx.AsyncClient, registry: Registry, post: Any, staff: dict[str, str]
) -> None:
    community = registry.area("d1s1m1")
    body = vacancy_body(
        await employer(post, registry, "public_body"),
        community,
        kind="public_welfare",
        required_skills=["public.cleaning"],
        nice_skills=[],
        wage_fen=150_000,
        posts=2,
    )
    await post("/vacancies", body, expect=409)  # no quota yet
    await post("/welfare-quotas", {"community_id": community, "posts": 2}, expect=200)
    welfare = await post("/vacancies", body)
    await post("/vacancies", {**body, "posts": 1}, expect=409)  # over the quota
    laid_off = await post(
        "/seekers",
        seeker_body(await registry.resident("d1s1m1"), skills=["public.cleaning"]),
    )
    plain = await post(
        "/seekers",
        seeker_body(
            await registry.resident("d1s1m1", employment_status="unemployed", birth_year=1995),
            skills=["public.cleaning"],
        ),
    )
    ranked = await client.get(f"/vacancies/{welfare['id']}/candidates", headers=staff)
    assert [i["seeker_id"] for i in ranked.json()["items"]] == [laid_off["id"]]
    await post("/matches", {"vacancy_id": welfare["id"], "seeker_id": plain["id"]}, expect=409)
    match = await post("/matches", {"vacancy_id": welfare["id"], "seeker_id": laid_off["id"]})
    placement = await post(f"/matches/{match['id']}/accept", {"started_on": TODAY.isoformat()})
    # the default maximum tenure: 36 months, to the day before
    assert placement["ends_on"] == (add_months(TODAY, 36) - timedelta(days=1)).isoformat()
    quotas = await client.get("/welfare-quotas", headers=staff)
    assert quotas.json() == [{"community_id": community, "posts": 2, "in_use": 2}]


async def test_refusing_required_training_revokes_the_card(
    client: httpx.AsyncClient, registry: Registry, post: Any, staff: dict[str, str]
) -> None:
    seeker = await post("/seekers", seeker_body(await registry.resident("d1s1m1")))
    issued = await post(f"/seekers/{seeker['id']}/card", {}, expect=200)
    assert issued["card"] == "issued"
    course = await post(
        "/courses",
        {
            "title": "Appliance repair",
            "place_id": registry.area("d1s1"),
            "skills": ["repair.appliance"],
            "starts_on": (TODAY + timedelta(days=5)).isoformat(),
            "ends_on": (TODAY + timedelta(days=30)).isoformat(),
            "sessions": 10,
            "capacity": 5,
        },
    )
    optional = await post(
        "/enrolments", {"course_id": course["id"], "seeker_id": seeker["id"], "required": False}
    )
    await post(f"/enrolments/{optional['id']}/leave", {"left_on": TODAY.isoformat()}, expect=200)
    kept = await client.get(f"/seekers/{seeker['id']}", headers=staff)
    assert kept.json()["card"] == "issued"
    assert kept.json()["status"] == "seeking"
    required = await post(
        "/enrolments", {"course_id": course["id"], "seeker_id": seeker["id"], "required": True}
    )
    left = await post(
        f"/enrolments/{required['id']}/leave", {"left_on": TODAY.isoformat()}, expect=200
    )
    assert left["status"] == "refused"
    revoked = await client.get(f"/seekers/{seeker['id']}", headers=staff)
    assert revoked.json()["card"] == "revoked"
    assert revoked.json()["card_revocation"] == "refused_required_training"
    await post(f"/seekers/{seeker['id']}/card", {}, expect=409)


async def test_near_miss_recommends_training(
    client: httpx.AsyncClient, registry: Registry, post: Any, staff: dict[str, str]
) -> None:
    seeker = await post(
        "/seekers", seeker_body(await registry.resident("d1s1m1"), skills=["repair.electrical"])
    )
    course = await post(
        "/courses",
        {
            "title": "Plumbing",
            "place_id": registry.area("d1s1m1"),
            "skills": ["repair.plumbing"],
            "starts_on": TODAY.isoformat(),
            "ends_on": (TODAY + timedelta(days=10)).isoformat(),
            "sessions": 5,
            "capacity": 5,
        },
    )
    await post(
        "/vacancies",
        vacancy_body(
            await employer(post, registry),
            registry.area("d1s1m1"),
            required_skills=["repair.electrical", "repair.plumbing"],
            nice_skills=[],
        ),
    )
    openings = (await client.get(f"/seekers/{seeker['id']}/openings", headers=staff)).json()
    item = openings["items"][0]
    assert item["near_miss"] is True
    assert item["missing_required"] == ["repair.plumbing"]
    assert [c["id"] for c in item["recommended_courses"]] == [course["id"]]


async def test_micro_loan_in_integer_fen(
    client: httpx.AsyncClient, registry: Registry, post: Any, staff: dict[str, str]
) -> None:
    seeker = await post("/seekers", seeker_body(await registry.resident("d1s1m1")))
    loan = await post(
        "/loans", {"seeker_id": seeker["id"], "amount_fen": 1_000_001, "term_months": 3}
    )
    await post(f"/loans/{loan['id']}/approve", {"approved_on": TODAY.isoformat()}, expect=409)
    await post(f"/loans/{loan['id']}/guarantee", {"guarantee": "guarantee_fund"}, expect=200)
    await post(f"/loans/{loan['id']}/approve", {"approved_on": TODAY.isoformat()}, expect=200)
    paid_out = await post(
        f"/loans/{loan['id']}/disburse", {"disbursed_on": TODAY.isoformat()}, expect=200
    )
    assert [i["amount_fen"] for i in paid_out["schedule"]] == [333_334, 333_334, 333_333]
    repaid = await post(
        f"/loans/{loan['id']}/repayments",
        {"amount_fen": 1_000_001, "paid_on": TODAY.isoformat()},
        expect=200,
    )
    assert repaid["status"] == "repaid"
    assert repaid["outstanding_fen"] == 0


async def test_vacancy_change_stream(
    client: httpx.AsyncClient, registry: Registry, post: Any, staff: dict[str, str]
) -> None:
    start = await client.get("/vacancies/changes?since=2000-01-01T00:00:00Z", headers=staff)
    assert start.status_code == 200
    assert start.json()["items"] == []
    company = await employer(post, registry)
    first = await post("/vacancies", vacancy_body(company, registry.area("d1s1m1")))
    second = await post("/vacancies", vacancy_body(company, registry.area("d1s1m2")))
    page = (
        await client.get("/vacancies/changes?since=2000-01-01T00:00:00Z&limit=1", headers=staff)
    ).json()
    assert [i["vacancy"]["id"] for i in page["items"]] == [first["id"]]
    rest = (
        await client.get(
            "/vacancies/changes",
            params={"since": "2000-01-01T00:00:00Z", "cursor": page["next_cursor"]},
            headers=staff,
        )
    ).json()
    assert [i["vacancy"]["id"] for i in rest["items"]] == [second["id"]]
    await post(f"/vacancies/{first['id']}/close", {}, expect=200)
    later = (
        await client.get("/vacancies/changes", params={"since": rest["next_since"]}, headers=staff)
    ).json()
    assert [(i["vacancy"]["id"], i["vacancy"]["status"]) for i in later["items"]] == [
        (first["id"], "closed")
    ]


async def test_records_outside_the_token_area_do_not_exist(
    client: httpx.AsyncClient, registry: Registry, post: Any, settings: Settings
) -> None:
    seeker = await post("/seekers", seeker_body(await registry.resident("d1s1m1")))
    other_area = bearer(settings, "employment:read", "employment:write", area=registry.area("d2"))
    own_area = bearer(settings, "employment:read", area=registry.area("d1s1"))
    outside = await client.get(f"/seekers/{seeker['id']}", headers=other_area)
    missing = await client.get("/seekers/nobody", headers=other_area)
    assert outside.status_code == missing.status_code == 404
    assert (await client.get(f"/seekers/{seeker['id']}", headers=own_area)).status_code == 200
    listed = await client.get("/seekers", headers=other_area)
    assert listed.json()["items"] == []


async def test_the_follow_up_job_finds_arrears_defaults_and_due_checks(
    client: httpx.AsyncClient,
    registry: Registry,
    post: Any,
    staff: dict[str, str],
    settings: Settings,
) -> None:
    seeker = await post("/seekers", seeker_body(await registry.resident("d1s1m1")))
    other = await post("/seekers", seeker_body(await registry.resident("d1s1m2")))
    late, later = [
        await post("/loans", {"seeker_id": s["id"], "amount_fen": 120_000, "term_months": 12})
        for s in (seeker, other)
    ]
    for loan, paid_out in (
        (late, TODAY - timedelta(days=45)),
        (later, TODAY - timedelta(days=200)),
    ):
        await post(f"/loans/{loan['id']}/guarantee", {"guarantee": "collateral"}, expect=200)
        await post(
            f"/loans/{loan['id']}/approve", {"approved_on": paid_out.isoformat()}, expect=200
        )
        await post(
            f"/loans/{loan['id']}/disburse", {"disbursed_on": paid_out.isoformat()}, expect=200
        )
    vacancy = await post(
        "/vacancies",
        vacancy_body(await employer(post, registry), registry.area("d1s1m1"), posts=2),
    )
    match = await post("/matches", {"vacancy_id": vacancy["id"], "seeker_id": seeker["id"]})
    placement = await post(
        f"/matches/{match['id']}/accept",
        {"started_on": (TODAY - timedelta(days=100)).isoformat()},
    )
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pooled=False)
    try:
        checks, changed, _ = await follow_up(
            session_factory(engine), translate=translate, today=TODAY
        )
        again = await follow_up(session_factory(engine), translate=translate, today=TODAY)
    finally:
        await engine.dispose()
    assert (checks, changed) == (1, 2)
    assert again == (0, 0, 0)  # nothing new: no event twice
    first = (await client.get(f"/loans/{late['id']}", headers=staff)).json()
    assert first["status"] == "in_arrears"
    assert first["arrears_since"] == first["schedule"][0]["due_on"]
    second = (await client.get(f"/loans/{later['id']}", headers=staff)).json()
    assert second["status"] == "defaulted"
    due = (await client.get("/placements?check_due=true", headers=staff)).json()["items"]
    assert [(p["id"], [c["status"] for c in p["checks"]]) for p in due] == [
        (placement["id"], ["due", "scheduled", "scheduled"])
    ]
    types = await event_types(settings)
    assert types.count("loan.in_arrears") == 1
    assert types.count("loan.defaulted") == 1
    assert types.count("placement.retention_due") == 1


async def test_a_seeker_turning_fifty_joins_the_4050_group_when_the_year_turns(
    registry: Registry, post: Any, settings: Settings
) -> None:
    born = TODAY.year - 49
    resident = await registry.resident("d1s1m1", employment_status="unemployed", birth_year=born)
    seeker = await post("/seekers", seeker_body(resident))
    assert seeker["priority_groups"] == []
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pooled=False)
    new_year = date(TODAY.year + 1, 1, 1)
    try:
        sessions = session_factory(engine)
        *_, regrouped = await follow_up(sessions, translate=translate, today=new_year)
        *_, again = await follow_up(sessions, translate=translate, today=new_year)
    finally:
        await engine.dispose()
    assert (regrouped, again) == (1, 0)
    assert (await event_types(settings))[-1] == "seeker.updated"
