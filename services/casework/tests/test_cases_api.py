"""The casework API on PostgreSQL: a visit with several matters, an agency case through every
hop to its rating, refusals as problem+json (illegal transitions, conditions from registry
facts), area confinement, the catalogue and calendar admin, the deadline sweep, tracking by
number and code, mediation and petitions; and the events in the outbox."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from casework import case_service
from casework.adapters.events import translate
from casework.settings import Settings
from shared.db import create_engine, session_factory
from shared.tables import OutboxRecord
from shared.testing.service import bearer
from shared.unit_of_work import unit_of_work

pytestmark = [pytest.mark.integration, pytest.mark.publishes]

Remember = Callable[..., Awaitable[None]]
OTHER_PATH = ["c1", "d2", "s2", "m3"]

CARD = {
    "matter_code": "reemployment_concession_card",
    "documents": ["id_card", "household_register", "unemployment_registration_card", "photo"],
}
UNEMPLOYMENT = {
    "matter_code": "unemployment_registration",
    "documents": ["id_card", "employment_termination_proof"],
}


async def post(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], body: Any = None, code: int = 200
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == code, response.text
    found: dict[str, Any] = response.json()
    return found


async def outbox_types(settings: Settings, case_id: str) -> list[str]:
    engine = create_engine(settings.resolved_database_url(), pooled=False)
    try:
        async with session_factory(engine)() as session:
            rows = await session.scalars(
                select(OutboxRecord.event_type)
                .where(OutboxRecord.partition_key == case_id)
                .order_by(OutboxRecord.id)
            )
            return [event_type.split(".")[-2] for event_type in rows]
    finally:
        await engine.dispose()


async def test_one_visit_two_matters_agency_hops_to_rating(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember, settings: Settings
) -> None:
    await remember("r-1")
    visit = await post(
        client, "/visits", clerk, {"resident_id": "r-1", "matters": [UNEMPLOYMENT, CARD]}, 201
    )
    assert [c["matter_code"] for c in visit["cases"]] == [
        "unemployment_registration",
        "reemployment_concession_card",
    ]
    by_matter = {c["matter_code"]: c for c in visit["cases"]}
    assert all(len(c["verification_code"]) == 8 for c in visit["cases"])
    shown = (await client.get(f"/visits/{visit['id']}", headers=clerk)).json()
    assert {c["id"] for c in shown["cases"]} == {c["id"] for c in visit["cases"]}
    assert all(c["verification_code"] is None for c in shown["cases"])

    spot = by_matter["unemployment_registration"]["id"]
    await post(client, f"/cases/{spot}/accept", clerk)
    settled = await post(client, f"/cases/{spot}/settle", clerk, {"outcome": "approved"})
    assert settled["state"] == "settled"

    card = by_matter["reemployment_concession_card"]["id"]
    accepted = await post(client, f"/cases/{card}/accept", clerk)
    assert accepted["clock"]["running"]
    assert accepted["clock"]["remaining_days"] == 15
    await post(client, f"/cases/{card}/delegate", clerk, {"agent_id": "w-7"})
    await post(client, f"/cases/{card}/forward", clerk)
    early = await client.post(f"/cases/{card}/decide", json={"outcome": "approved"}, headers=clerk)
    assert early.status_code == 409
    assert early.headers["content-type"].startswith("application/problem+json")
    await post(client, f"/cases/{card}/hops", clerk, {"hop": "received_by_department"})
    decided = await post(client, f"/cases/{card}/decide", clerk, {"outcome": "approved"})
    assert decided["within_time_limit"] is True
    await post(client, f"/cases/{card}/hops", clerk, {"hop": "result_carried_back"})
    closed = await post(client, f"/cases/{card}/close", clerk)
    rated = await post(client, f"/cases/{card}/rating", clerk, {"rating": 5, "comment": "fast"})
    assert closed["state"] == rated["state"] == "closed"
    assert [hop["kind"] for hop in rated["hops"]] == [
        "taken_by_agent",
        "delivered_to_department",
        "received_by_department",
        "result_carried_back",
    ]
    assert rated["hops"][0]["actor_id"] == "w-7"
    assert rated["hops"][1]["actor_id"] == "w-7"
    assert rated["hops"][2]["actor_id"] == "test"
    assert [entry["action"] for entry in rated["history"]] == [
        "accept", "delegate", "forward", "hop", "decide", "hop", "close", "rate",
    ]  # fmt: skip
    assert await outbox_types(settings, card) == [
        "submitted", "accepted", "delegated", "hop_recorded", "forwarded", "hop_recorded",
        "hop_recorded", "decided", "hop_recorded", "closed", "rated",
    ]  # fmt: skip


async def test_illegal_transition_is_a_problem_naming_the_transition(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember
) -> None:
    await remember("r-2")
    visit = await post(client, "/visits", clerk, {"resident_id": "r-2", "matters": [CARD]}, 201)
    case_id = visit["cases"][0]["id"]
    response = await client.post(f"/cases/{case_id}/close", headers=clerk)
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "urn:shequ:problem:illegal-transition"
    assert problem["action"] == "close"
    assert problem["state"] == "submitted"
    assert problem["allowed_from"] == ["decided", "settled"]
    assert "cannot close a case that is submitted" in problem["detail"]


async def test_the_longevity_certificate_is_refused_to_a_68_year_old(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember
) -> None:
    year = date.today().year
    await remember("r-68", birth_year=year - 68, employment_status="retired")
    certificate = {"matter_code": "longevity_certificate", "documents": ["id_card"]}
    response = await client.post(
        "/visits", json={"resident_id": "r-68", "matters": [certificate]}, headers=clerk
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "body.matters.0.matter_code"
    assert problem["errors"][0]["message"] == (
        f"longevity_certificate needs age 70 or more; the resident is 68 (born {year - 68})"
    )
    await remember("r-71", birth_year=year - 71, employment_status="retired")
    await post(client, "/visits", clerk, {"resident_id": "r-71", "matters": [certificate]}, 201)


async def test_returned_for_documents_then_resubmitted(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember
) -> None:
    await remember("r-3")
    incomplete = {**CARD, "documents": ["id_card"]}
    visit = await post(
        client, "/visits", clerk, {"resident_id": "r-3", "matters": [incomplete]}, 201
    )
    case_id = visit["cases"][0]["id"]
    refused = await client.post(f"/cases/{case_id}/accept", headers=clerk)
    assert refused.status_code == 409
    assert refused.json()["missing_documents"] == [
        "household_register", "unemployment_registration_card", "photo",
    ]  # fmt: skip
    returned = await post(
        client,
        f"/cases/{case_id}/return",
        clerk,
        {"missing_documents": ["household_register", "unemployment_registration_card", "photo"]},
    )
    assert returned["state"] == "returned"
    await post(client, f"/cases/{case_id}/resubmit", clerk, {"documents": CARD["documents"]})
    assert (await post(client, f"/cases/{case_id}/accept", clerk))["state"] == "accepted"


async def test_outside_the_area_a_case_does_not_exist(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember, settings: Settings
) -> None:
    await remember("r-far", path=OTHER_PATH)
    visit = await post(client, "/visits", clerk, {"resident_id": "r-far", "matters": [CARD]}, 201)
    case_id = visit["cases"][0]["id"]
    local = bearer(settings, "casework:read", "casework:write", area="s1")
    missing = await client.get("/cases/does-not-exist", headers=local)
    outside = await client.get(f"/cases/{case_id}", headers=local)
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["detail"] == missing.json()["detail"]
    assert (await client.post(f"/cases/{case_id}/accept", headers=local)).status_code == 404
    assert (await client.get(f"/visits/{visit['id']}", headers=local)).status_code == 404
    assert (await client.get("/cases", headers=local)).json()["items"] == []
    refused = await client.post(
        "/visits", json={"resident_id": "r-far", "matters": [CARD]}, headers=local
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.resident_id"


@pytest.mark.publishes(False)  # admin data changes publish no event
async def test_catalogue_and_calendar_are_admin_data(
    client: httpx.AsyncClient, clerk: dict[str, str], admin: dict[str, str], remember: Remember
) -> None:
    matters = (await client.get("/matters", headers=clerk)).json()["items"]
    assert len(matters) == 18
    legal_aid = (await client.get("/matters/legal_aid", headers=clerk)).json()
    changed = {**legal_aid, "time_limit_days": 3}
    assert (await client.put("/matters/legal_aid", json=changed, headers=clerk)).status_code == 403
    response = await client.put("/matters/legal_aid", json=changed, headers=admin)
    assert response.status_code == 200, response.text
    bad = await client.put(
        "/matters/legal_aid", json={**changed, "time_limit_days": 0}, headers=admin
    )
    assert bad.status_code == 422
    assert (await client.get("/matters/legal_aid", headers=clerk)).json()["time_limit_days"] == 3
    unknown = await client.put("/matters/no_such_matter", json=changed, headers=admin)
    assert unknown.status_code == 404
    taken = await client.post("/matters", json=changed, headers=admin)
    assert taken.status_code == 409
    new_matter = {**changed, "code": "pension_certification", "name": "养老金资格认证"}
    assert (await client.post("/matters", json=new_matter, headers=admin)).status_code == 201
    assert len((await client.get("/matters", headers=clerk)).json()["items"]) == 19

    week = (await client.get("/calendar?from=2026-09-28&to=2026-10-11", headers=clerk)).json()
    assert week["working_days"] == 6  # 28–30 September, 8–10 October (10th made up)
    response = await client.post(
        "/calendar/overrides",
        json={"day": "2026-10-09", "working": False, "note": "city holiday"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    week = (await client.get("/calendar?from=2026-09-28&to=2026-10-11", headers=clerk)).json()
    assert week["working_days"] == 5
    assert next(d for d in week["days"] if d["override"])["note"] == "city holiday"


async def test_the_sweep_raises_due_soon_overdue_and_escalation_once(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember, settings: Settings
) -> None:
    await remember("r-4")
    visit = await post(client, "/visits", clerk, {"resident_id": "r-4", "matters": [CARD]}, 201)
    case_id = visit["cases"][0]["id"]
    accepted = await post(client, f"/cases/{case_id}/accept", clerk)
    due = date.fromisoformat(accepted["clock"]["due_on"])
    engine = create_engine(settings.resolved_database_url(), pooled=False)
    sessions = session_factory(engine)
    try:
        for today in (due, due, date(due.year + 1, 1, 10), date(due.year + 1, 2, 1)):
            async with unit_of_work(sessions, translate=translate) as uow:
                await case_service.sweep_deadlines(uow, today=today, due_soon_days=2)
    finally:
        await engine.dispose()
    assert (await outbox_types(settings, case_id))[2:] == ["due_soon", "overdue", "escalated"]
    overdue = await client.get(f"/cases?overdue_on={date(due.year + 1, 1, 10)}", headers=clerk)
    assert [c["id"] for c in overdue.json()["items"]] == [case_id]


async def test_tracking_by_number_and_code_without_a_login(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember
) -> None:
    await remember("r-5")
    visit = await post(client, "/visits", clerk, {"resident_id": "r-5", "matters": [CARD]}, 201)
    case = visit["cases"][0]
    await post(client, f"/cases/{case['id']}/accept", clerk)
    body = {"number": case["number"], "code": case["verification_code"]}
    found = await client.post("/tracking", json=body)
    assert found.status_code == 200, found.text
    shown = found.json()
    assert shown["state"] == "accepted"
    assert shown["clock"]["remaining_days"] == 15
    assert "resident_id" not in shown

    wrong_code = await client.post("/tracking", json={**body, "code": "WRONG234"})
    no_case = await client.post("/tracking", json={"number": "19990101000000", "code": "X"})
    assert wrong_code.status_code == no_case.status_code == 404
    assert wrong_code.json() == no_case.json()
    third = await client.post("/tracking", json={**body, "code": "WRONG999"})
    assert third.status_code == 404
    blocked = await client.post("/tracking", json=body)  # 3 failures from this address
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


async def test_mediation_and_petition(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember, settings: Settings
) -> None:
    await remember("r-6")
    dispute = {
        "matter_code": "dispute_mediation",
        "documents": ["dispute_statement"],
        "parties": [{"role": "applicant", "resident_id": "r-6"}, {"role": "respondent"}],
    }
    visit = await post(client, "/visits", clerk, {"resident_id": "r-6", "matters": [dispute]}, 201)
    case_id = visit["cases"][0]["id"]
    await post(client, f"/cases/{case_id}/accept", clerk)
    today = date.today().isoformat()
    await post(
        client, f"/cases/{case_id}/mediation/sessions", clerk,
        {"held_on": today, "mediator_id": "w-9"},
    )  # fmt: skip
    decided = await post(
        client, f"/cases/{case_id}/mediation/outcome", clerk,
        {"agreement": True, "terms": "repair the shared wall"},
    )  # fmt: skip
    assert decided["state"] == "decided"
    assert decided["mediation"]["outcome"] == "agreement"
    assert decided["mediation"]["follow_up_on"] is not None
    assert (await outbox_types(settings, case_id))[-3:] == [
        "mediation_session_held", "decided", "mediation_agreement_reached",
    ]  # fmt: skip

    petition = {
        "matter_code": "petition",
        "documents": ["petition_letter"],
        "related_case_ids": [case_id],
    }
    visit = await post(client, "/visits", clerk, {"resident_id": "r-6", "matters": [petition]}, 201)
    shown = (await client.get(f"/cases/{visit['cases'][0]['id']}", headers=clerk)).json()
    assert shown["related_case_ids"] == [case_id]


async def test_a_retried_visit_opens_its_cases_once(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember
) -> None:
    await remember("r-8")
    headers = {**clerk, "Idempotency-Key": "visit-r-8-1"}
    body = {"resident_id": "r-8", "matters": [CARD]}
    first = await client.post("/visits", json=body, headers=headers)
    again = await client.post("/visits", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = (await client.get("/cases?resident_id=r-8", headers=clerk)).json()["items"]
    assert len(listed) == 1


async def test_a_hardship_subsidy_approval_states_its_amount_and_the_event_carries_it(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember, settings: Settings
) -> None:
    year = date.today().year
    await remember("r-77", birth_year=year - 77, employment_status="retired")
    hardship = {
        "matter_code": "elder_hardship_medical_subsidy",
        "documents": ["id_card", "medical_bills", "income_proof"],
    }
    visit = await post(
        client, "/visits", clerk, {"resident_id": "r-77", "matters": [hardship]}, 201
    )
    case_id = visit["cases"][0]["id"]
    await post(client, f"/cases/{case_id}/accept", clerk)
    await post(client, f"/cases/{case_id}/forward", clerk)
    for body, message in [
        ({"outcome": "approved"}, "required"),
        (
            {"outcome": "denied", "reason": "income above the line", "amount_fen": 100},
            "only an approval takes an amount",
        ),
    ]:
        refused = await client.post(f"/cases/{case_id}/decide", json=body, headers=clerk)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "body.amount_fen"
        assert refused.json()["errors"][0]["message"] == message
    zero = await client.post(
        f"/cases/{case_id}/decide", json={"outcome": "approved", "amount_fen": 0}, headers=clerk
    )
    assert zero.status_code == 422
    decided = await post(
        client, f"/cases/{case_id}/decide", clerk, {"outcome": "approved", "amount_fen": 150_000}
    )
    assert (decided["state"], decided["amount_fen"]) == ("decided", 150_000)

    engine = create_engine(settings.resolved_database_url(), pooled=False)
    try:
        async with session_factory(engine)() as session:
            payload = await session.scalar(
                select(OutboxRecord.payload).where(
                    OutboxRecord.partition_key == case_id,
                    OutboxRecord.event_type.like("%.case.decided.%"),
                )
            )
    finally:
        await engine.dispose()
    assert payload is not None
    data = json.loads(payload)["data"]
    assert (data["matter_code"], data["resident_id"], data["amount_fen"]) == (
        "elder_hardship_medical_subsidy",
        "r-77",
        150_000,
    )

    await remember("r-2")
    other = await post(client, "/visits", clerk, {"resident_id": "r-2", "matters": [CARD]}, 201)
    card = other["cases"][0]["id"]
    await post(client, f"/cases/{card}/accept", clerk)
    await post(client, f"/cases/{card}/forward", clerk)
    no_sum = await client.post(
        f"/cases/{card}/decide", json={"outcome": "approved", "amount_fen": 100}, headers=clerk
    )
    assert no_sum.status_code == 422
    assert no_sum.json()["errors"][0]["message"] == (
        "only a matter that pays a sum takes an amount"
    )
    approved = await post(client, f"/cases/{card}/decide", clerk, {"outcome": "approved"})
    assert approved["amount_fen"] is None
