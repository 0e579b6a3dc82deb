"""Which routes read or change personal data, and that every one of them is audited.

Every operation of the five OpenAPI documents is classified here, once: in :data:`AUDITED`
(it reads or changes personal data: a resident, household, case, seeker, match, placement,
enrolment, loan, elder, assessment, entitlement, order, visit or ledger line) with the resource
type and action its audit row carries, or declared not audited with the reason: in
:data:`NOT_AUDITED`, under a path prefix of :data:`NO_PERSONAL_DATA`, or in the metrics
service (no personal data at all). A new route fails :func:`test_every_route_is_classified` until
it is put in one.

An audited route is then proved audited against the running service (SQLite, the run's
broker, demo data): called with a correlation id of its own, it must leave an audit row with
that correlation id, resource type and action (:func:`test_an_audited_route_leaves_its_row`).
Commands whose success needs a life cycle this module does not walk (a case decided, a course
completed) name the use case that writes their row instead, and
:func:`test_a_command_without_a_live_call_writes_its_row_in_its_use_case` reads that it does.

Registry reads of residents without ``pii:read`` show them masked (no id number, no birth
date) but still name them: they are audited as ``read-masked``
(:func:`test_a_masked_read_is_audited_as_such`).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import insert

from casework import case_service
from eldercare.adapters.store import path_text
from eldercare.adapters.tables import PaymentRow
from employment import loans_service, seekers_service, training_service
from registry.domain.national_id import check_character
from shared.auth import ALL_SCOPES
from shared.db import create_engine
from shared.settings_docs import SERVICES

pytestmark = pytest.mark.integration
IN_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")


def _route_security() -> ModuleType:
    """``tests/test_route_security.py``: its route list, running platform and object makers."""
    name = "shequ_route_security_kit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("test_route_security.py")
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


rs = _route_security()
TODAY = date.today().isoformat()
Key = tuple[str, str, str]
Call = Callable[[Any, dict[str, str]], Awaitable[httpx.Response]]
"""(service, headers of area A with the call's correlation id) → the route's answer."""


@dataclass(frozen=True)
class Audited:
    """A route reading or changing personal data: its audit row's resource type and action,
    and either a ``call`` that succeeds or the use case (``via``) that writes the row."""

    resource_type: str
    action: str
    call: Call | None = None
    via: Callable[..., Any] | None = None


# --- calls ------------------------------------------------------------------------------------


def get(path: str, **params: str) -> Call:
    async def call(service: Any, headers: dict[str, str]) -> httpx.Response:
        found: httpx.Response = await service.client.get(path, params=params, headers=headers)
        return found

    return call


def named(
    method: str,
    path: str,
    make: Callable[[Any], Awaitable[str]],
    body: dict[str, Any] | None = None,
    **params: str,
) -> Call:
    """A call on a fresh object ``make`` gives (``{id}`` in ``path``)."""

    async def call(service: Any, headers: dict[str, str]) -> httpx.Response:
        object_id = await make(service)
        url = path.format(id=object_id)
        response: httpx.Response = await service.client.request(
            method, url, json=body, params=params, headers=headers
        )
        return response

    return call


def post(path: str, body: Callable[[Any], Awaitable[dict[str, Any]]]) -> Call:
    async def call(service: Any, headers: dict[str, str]) -> httpx.Response:
        response: httpx.Response = await service.client.post(
            path, json=await body(service), headers=headers
        )
        return response

    return call


def fixed(body: dict[str, Any]) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def make(_service: Any) -> dict[str, Any]:
        return body

    return make


def national_id(born: str = "19800505") -> str:
    first_17 = f"110105{born}{rs.female_sequence()}"
    return first_17 + check_character(first_17)


async def registry_person(service: Any, **fields: Any) -> tuple[str, str]:
    """A resident registered in area A: (id, national id number)."""
    number = national_id()
    body = {
        "national_id": number,
        "name": "Audit Coverage",
        "sex": "female",
        "birth_date": "1980-05-05",
        "household_id": await rs.registry_household(service),
        "employment_status": "employed",
        **fields,
    }
    return await service.create("/residents", body, service.of_a), number


async def resident_body(service: Any) -> dict[str, Any]:
    return {
        "national_id": national_id(),
        "name": "Audit Coverage",
        "sex": "female",
        "birth_date": "1980-05-05",
        "household_id": await rs.registry_household(service),
        "employment_status": "employed",
    }


async def registry_resident(service: Any) -> str:
    return (await registry_person(service))[0]


async def registry_floating_resident(service: Any) -> str:
    expires = (date.today() + timedelta(days=10)).isoformat()
    return (await registry_person(service, registration="floating", permit_expires_on=expires))[0]


def look_up(method: str) -> Call:
    async def call(service: Any, headers: dict[str, str]) -> httpx.Response:
        _, number = await registry_person(service)
        if method == "GET":
            found: httpx.Response = await service.client.get(
                "/residents/lookup", params={"national_id": number}, headers=headers
            )
            return found
        posted: httpx.Response = await service.client.post(
            "/residents/lookup", json={"national_id": number}, headers=headers
        )
        return posted

    return call


def permit_renewals() -> Call:
    async def call(service: Any, headers: dict[str, str]) -> httpx.Response:
        await registry_floating_resident(service)
        found: httpx.Response = await service.client.get(
            "/worklists/permit-renewals", headers=headers
        )
        return found

    return call


async def import_households(service: Any, headers: dict[str, str]) -> httpx.Response:
    row = '{"type": "household", "ref": "AC-%s", "community_id": "%s", "address": "2 Audit '
    row += 'Road", "registered_on": "2020-01-01"}'
    content = row % (uuid.uuid4().hex[:8], service.area_a)
    response: httpx.Response = await service.client.post(
        "/imports", content=content, headers={**headers, "Content-Type": "application/x-ndjson"}
    )
    return response


def everywhere(call: Call) -> Call:
    """``call`` with a token of no area (a move leaves area A)."""

    async def wrapped(service: Any, headers: dict[str, str]) -> httpx.Response:
        unconfined = {**service.token(*ALL_SCOPES), "X-Correlation-ID": headers["X-Correlation-ID"]}
        return await call(service, unconfined)

    return wrapped


async def resident_move_body(service: Any) -> dict[str, Any]:
    return {"household_id": await rs.registry_household(service, area="b"), "moved_on": TODAY}


def resident_move() -> Call:
    async def call(service: Any, headers: dict[str, str]) -> httpx.Response:
        resident = await registry_resident(service)
        response: httpx.Response = await service.client.post(
            f"/residents/{resident}/move", json=await resident_move_body(service), headers=headers
        )
        return response

    return call


def anywhere(service: Any) -> dict[str, str]:
    """Every scope, no area: the demo has too few seekers in area A for every life cycle here,
    so employment's routes are called with it (confinement is tests/test_route_security.py's)."""
    headers: dict[str, str] = service.token(*ALL_SCOPES)
    return headers


async def employment_seekers(service: Any) -> list[dict[str, Any]]:
    listed = await service.client.get("/seekers", params={"limit": 500}, headers=anywhere(service))
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def propose_match(service: Any, headers: dict[str, str]) -> httpx.Response:
    """Propose a seeker for a vacancy they are not matched to yet."""
    vacancies = await service.client.get("/vacancies", headers=anywhere(service))
    for seeker in await employment_seekers(service):
        if seeker["status"] != "seeking":
            continue
        for vacancy in vacancies.json()["items"]:
            body = {"vacancy_id": vacancy["id"], "seeker_id": seeker["id"]}
            proposed: httpx.Response = await service.client.post(
                "/matches", json=body, headers=headers
            )
            if proposed.status_code == 201:
                return proposed
    pytest.fail("no seeker and vacancy left to match")


async def employment_match(service: Any) -> str:
    found: str = (await propose_match(service, anywhere(service))).json()["id"]
    return found


async def enrol(service: Any, headers: dict[str, str]) -> httpx.Response:
    """Enrol a seeker in a course they are not enrolled in."""
    courses = await service.client.get("/courses", headers=anywhere(service))
    for seeker in await employment_seekers(service):
        if seeker["status"] not in ("seeking", "in_training"):
            continue
        for course in courses.json()["items"]:
            body = {"course_id": course["id"], "seeker_id": seeker["id"]}
            enrolled: httpx.Response = await service.client.post(
                "/enrolments", json=body, headers=headers
            )
            if enrolled.status_code == 201:
                return enrolled
    pytest.fail("no seeker left to enrol")


async def employment_enrolment(service: Any) -> str:
    found: str = (await enrol(service, anywhere(service))).json()["id"]
    return found


async def employment_placement(service: Any) -> str:
    match = await employment_match(service)
    accepted = await service.client.post(
        f"/matches/{match}/accept",
        json={"started_on": (date.today() - timedelta(days=200)).isoformat()},
        headers=anywhere(service),
    )
    assert accepted.status_code == 201, accepted.text
    found: str = accepted.json()["id"]
    return found


async def employment_loan(service: Any) -> str:
    """A loan applied for by a seeker without one open."""
    for seeker in await employment_seekers(service):
        body = {"seeker_id": seeker["id"], "amount_fen": 1_000_000, "term_months": 12}
        applied = await service.client.post("/loans", json=body, headers=anywhere(service))
        if applied.status_code == 201:
            found: str = applied.json()["id"]
            return found
    pytest.fail("no seeker left to apply for a loan")


async def eldercare_payment(service: Any, headers: dict[str, str]) -> httpx.Response:
    """The ledger, after a line paid to a demo elder of area A (written as the daily job
    writes it: the job runs once a day)."""
    engine = create_engine(service.settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(PaymentRow),
                {
                    "id": str(uuid.uuid4()),
                    "entitlement_id": None,
                    "case_id": None,
                    "resident_id": "demo-elder-04",
                    "path": path_text(["140500", "140502", "140502001", service.area_a]),
                    "kind": "longevity_subsidy",
                    "month": date.today().replace(day=1),
                    "amount_fen": 10_000,
                    "paid_on": date.today(),
                },
            )
    finally:
        await engine.dispose()
    found: httpx.Response = await service.client.get("/payments", headers=headers)
    return found


async def eldercare_order(service: Any) -> str:
    body = {"resident_id": "demo-elder-04", "service": "cleaning"}
    found: str = await service.create("/orders", body, service.of_a)
    return found


async def eldercare_checked_in_visit(service: Any) -> str:
    visit = await rs.eldercare_visit(service)
    checked = await service.client.post(f"/visits/{visit}/check-in", headers=service.of_a)
    assert checked.status_code == 200, checked.text
    found: str = visit
    return found


async def eldercare_order_with_visit(service: Any) -> str:
    order = await rs.eldercare_order(service)
    body = {"window_start": f"{TODAY}T01:00:00Z", "window_end": "2099-01-01T00:00:00Z"}
    await service.create(f"/orders/{order}/visits", body, service.of_a)
    found: str = order
    return found


async def eldercare_full_centre(service: Any) -> str:
    """A day-care centre of one place in area A, taken, with a second elder waiting."""
    body = {
        "kind": "day_care",
        "name": "Audit coverage centre",
        "community_id": service.area_a,
        "capacity": 1,
    }
    centre = await service.create("/centres", body, service.of_a)
    for elder in ("demo-elder-04", "demo-elder-08"):
        placed = {"resident_id": elder, "kind": "day_care", "centre_id": centre}
        await service.create("/placements", placed, service.of_a)
    found: str = centre
    return found


async def eldercare_proposed_entitlement(service: Any) -> str:
    listed = await service.client.get(
        "/entitlements", params={"status": "proposed", "limit": 500}, headers=service.of_a
    )
    assert listed.status_code == 200, listed.text
    taken = service.objects.setdefault("decided-entitlements", "")
    for item in listed.json()["items"]:
        if item["id"] not in taken:
            service.objects["decided-entitlements"] = f"{taken} {item['id']}"
            found: str = item["id"]
            return found
    pytest.fail("no proposed entitlement left in area A")


async def eldercare_placement(service: Any) -> str:
    found: str = await rs.eldercare_placement(service)
    return found


ASSESSMENT = {
    "barthel": dict.fromkeys(
        (
            "feeding",
            "bathing",
            "grooming",
            "dressing",
            "bowels",
            "bladder",
            "toilet_use",
            "transfers",
            "mobility",
            "stairs",
        ),
        5,
    ),
    "iadl_dependent": [],
}


async def elder(_service: Any) -> str:
    return "demo-elder-04"


# --- the classification -----------------------------------------------------------------------

CASE_COMMANDS = (
    "accept",
    "close",
    "decide",
    "delegate",
    "extend",
    "forward",
    "hops",
    "links",
    "mediation/follow-up",
    "mediation/outcome",
    "mediation/sessions",
    "rating",
    "reopen",
    "resubmit",
    "resume",
    "return",
    "settle",
    "suspend",
    "withdraw",
)
"""Casework's case commands: each use case takes its case through ``case_service._case``,
which writes the ``update`` row in the command's transaction."""

CASE_USE_CASES: dict[str, Callable[..., Any]] = {
    "hops": case_service.record_hop,
    "links": case_service.link,
    "mediation/follow-up": case_service.record_follow_up,
    "mediation/outcome": case_service.conclude_mediation,
    "mediation/sessions": case_service.hold_session,
    "return": case_service.return_case,
    "rating": case_service.rate,
}

AUDITED: dict[Key, Audited] = {
    # registry: residents and households (names, addresses, id numbers)
    ("registry", "POST", "/households"): Audited(
        "household",
        "create",
        post(
            "/households",
            fixed(
                {
                    "community_id": "140502001001",
                    "address": "3 Audit Road",
                    "registered_on": "2020-01-01",
                }
            ),
        ),
    ),
    ("registry", "GET", "/households"): Audited(
        "household", "read", get("/households", within="140502001001")
    ),
    ("registry", "GET", "/households/{household_id}"): Audited(
        "household", "read", named("GET", "/households/{id}", rs.registry_household)
    ),
    ("registry", "GET", "/households/{household_id}/history"): Audited(
        "household", "read-history", named("GET", "/households/{id}/history", rs.registry_household)
    ),
    ("registry", "POST", "/households/{household_id}/move"): Audited(
        "household",
        "move",
        everywhere(
            named(
                "POST",
                "/households/{id}/move",
                rs.registry_household,
                {"community_id": "140525001001", "moved_on": TODAY},
            )
        ),
    ),
    ("registry", "POST", "/imports"): Audited("household", "import", import_households),
    ("registry", "POST", "/residents"): Audited(
        "resident",
        "create",
        post("/residents", resident_body),
    ),
    ("registry", "GET", "/residents"): Audited(
        "resident", "read", get("/residents", within="140502001001")
    ),
    ("registry", "GET", "/residents/lookup"): Audited("resident", "look-up", look_up("GET")),
    ("registry", "POST", "/residents/lookup"): Audited("resident", "look-up", look_up("POST")),
    ("registry", "GET", "/residents/{resident_id}"): Audited(
        "resident", "read", named("GET", "/residents/{id}", registry_resident)
    ),
    ("registry", "GET", "/residents/{resident_id}/history"): Audited(
        "resident", "read-history", named("GET", "/residents/{id}/history", registry_resident)
    ),
    ("registry", "PATCH", "/residents/{resident_id}"): Audited(
        "resident",
        "update",
        named("PATCH", "/residents/{id}", registry_resident, {"disabled": True}),
    ),
    ("registry", "POST", "/residents/{resident_id}/death"): Audited(
        "resident",
        "record-death",
        named("POST", "/residents/{id}/death", registry_resident, {"died_on": TODAY}),
    ),
    ("registry", "POST", "/residents/{resident_id}/departure"): Audited(
        "resident",
        "record-departure",
        named("POST", "/residents/{id}/departure", registry_resident, {"left_on": TODAY}),
    ),
    ("registry", "POST", "/residents/{resident_id}/move"): Audited(
        "resident", "move", everywhere(resident_move())
    ),
    ("registry", "GET", "/worklists/permit-renewals"): Audited(
        "resident", "read", permit_renewals()
    ),
    # casework: cases name their applicant and hold their documents
    ("casework", "POST", "/visits"): Audited(
        "case",
        "create",
        post(
            "/visits",
            fixed({"resident_id": "demo-r-01", "matters": [rs.CASEWORK_CARD]}),
        ),
    ),
    ("casework", "GET", "/visits/{visit_id}"): Audited(
        "case", "read", named("GET", "/visits/{id}", rs.casework_visit)
    ),
    ("casework", "GET", "/cases"): Audited("case", "read", get("/cases", within="140502001001")),
    ("casework", "GET", "/cases/{case_id}"): Audited(
        "case", "read", named("GET", "/cases/{id}", rs.casework_case)
    ),
    **{
        ("casework", "POST", f"/cases/{{case_id}}/{command}"): Audited(
            "case",
            "update",
            call=named("POST", "/cases/{id}/accept", rs.casework_case)
            if command == "accept"
            else None,
            via=CASE_USE_CASES.get(command) or getattr(case_service, command),
        )
        for command in CASE_COMMANDS
    },
    # employment: seekers, and what concerns a named seeker
    ("employment", "POST", "/seekers"): Audited(
        "seeker", "create", via=seekers_service.register_seeker
    ),
    ("employment", "GET", "/seekers"): Audited("seeker", "read", get("/seekers")),
    ("employment", "GET", "/seekers/{seeker_id}"): Audited(
        "seeker", "read", named("GET", "/seekers/{id}", rs.employment_seeker)
    ),
    ("employment", "PATCH", "/seekers/{seeker_id}"): Audited(
        "seeker",
        "update",
        named("PATCH", "/seekers/{id}", rs.employment_seeker, {"education": "primary"}),
    ),
    ("employment", "POST", "/seekers/{seeker_id}/withdraw"): Audited(
        "seeker", "update", via=seekers_service.withdraw_seeker
    ),
    ("employment", "POST", "/seekers/{seeker_id}/card"): Audited(
        "seeker", "update", via=seekers_service.issue_card
    ),
    ("employment", "POST", "/seekers/{seeker_id}/card/revoke"): Audited(
        "seeker", "update", via=seekers_service.revoke_card
    ),
    ("employment", "GET", "/seekers/{seeker_id}/openings"): Audited(
        "seeker", "read", named("GET", "/seekers/{id}/openings", rs.employment_seeker)
    ),
    ("employment", "GET", "/vacancies/{vacancy_id}/candidates"): Audited(
        "seeker",
        "read",
        named(
            "GET",
            "/vacancies/{id}/candidates",
            lambda service: rs.first_listed(service, "/vacancies"),
        ),
    ),
    ("employment", "POST", "/matches"): Audited("match", "propose", propose_match),
    ("employment", "GET", "/matches/{match_id}"): Audited(
        "match", "read", named("GET", "/matches/{id}", employment_match)
    ),
    ("employment", "POST", "/matches/{match_id}/accept"): Audited(
        "match",
        "accept",
        named("POST", "/matches/{id}/accept", employment_match, {"started_on": TODAY}),
    ),
    ("employment", "POST", "/matches/{match_id}/decline"): Audited(
        "match",
        "decline",
        named("POST", "/matches/{id}/decline", employment_match, {"declined_by": "seeker"}),
    ),
    ("employment", "GET", "/placements"): Audited("placement", "read", get("/placements")),
    ("employment", "GET", "/placements/{placement_id}"): Audited(
        "placement", "read", named("GET", "/placements/{id}", employment_placement)
    ),
    ("employment", "POST", "/placements/{placement_id}/retention-checks"): Audited(
        "placement",
        "retention-check",
        named(
            "POST",
            "/placements/{id}/retention-checks",
            employment_placement,
            {"months": 3, "passed": True, "checked_on": TODAY},
        ),
    ),
    ("employment", "POST", "/enrolments"): Audited("enrolment", "create", enrol),
    ("employment", "GET", "/enrolments/{enrolment_id}"): Audited(
        "enrolment", "read", named("GET", "/enrolments/{id}", employment_enrolment)
    ),
    ("employment", "POST", "/enrolments/{enrolment_id}/attendance"): Audited(
        "enrolment", "attend", via=training_service.attend
    ),
    ("employment", "POST", "/enrolments/{enrolment_id}/complete"): Audited(
        "enrolment", "complete", via=training_service.complete
    ),
    ("employment", "POST", "/enrolments/{enrolment_id}/leave"): Audited(
        "enrolment",
        "leave",
        named("POST", "/enrolments/{id}/leave", employment_enrolment, {"left_on": TODAY}),
    ),
    ("employment", "POST", "/loans"): Audited("loan", "create", via=loans_service.apply_for_loan),
    ("employment", "GET", "/loans"): Audited(
        "loan",
        "read",
        named("GET", "/loans", employment_loan),
    ),
    ("employment", "GET", "/loans/{loan_id}"): Audited(
        "loan", "read", named("GET", "/loans/{id}", employment_loan)
    ),
    ("employment", "POST", "/loans/{loan_id}/guarantee"): Audited(
        "loan",
        "update",
        named("POST", "/loans/{id}/guarantee", employment_loan, {"guarantee": "guarantee_fund"}),
    ),
    ("employment", "POST", "/loans/{loan_id}/approve"): Audited(
        "loan", "update", via=loans_service.approve_loan
    ),
    ("employment", "POST", "/loans/{loan_id}/disburse"): Audited(
        "loan", "update", via=loans_service.disburse_loan
    ),
    ("employment", "POST", "/loans/{loan_id}/repayments"): Audited(
        "loan", "update", via=loans_service.repay_loan
    ),
    # eldercare: elders and their care
    ("eldercare", "GET", "/elders"): Audited(
        "elder", "read", get("/elders", within="140502001001")
    ),
    ("eldercare", "GET", "/elders/{resident_id}"): Audited(
        "elder", "read", named("GET", "/elders/{id}", elder)
    ),
    ("eldercare", "GET", "/elders/{resident_id}/assessments"): Audited(
        "assessment", "read", named("GET", "/elders/{id}/assessments", elder)
    ),
    ("eldercare", "POST", "/elders/{resident_id}/assessments"): Audited(
        "elder", "assess", named("POST", "/elders/{id}/assessments", elder, ASSESSMENT)
    ),
    ("eldercare", "GET", "/reassessments"): Audited(
        "assessment", "read", get("/reassessments", by="2100-01-01")
    ),
    ("eldercare", "GET", "/entitlements"): Audited(
        "entitlement", "read", get("/entitlements", resident_id="demo-elder-04")
    ),
    ("eldercare", "POST", "/entitlements/{entitlement_id}/grant"): Audited(
        "entitlement",
        "grant",
        named("POST", "/entitlements/{id}/grant", eldercare_proposed_entitlement),
    ),
    ("eldercare", "POST", "/entitlements/{entitlement_id}/decline"): Audited(
        "entitlement",
        "decline",
        named(
            "POST",
            "/entitlements/{id}/decline",
            eldercare_proposed_entitlement,
            {"reason": "not_qualified"},
        ),
    ),
    ("eldercare", "GET", "/payments"): Audited("payment", "read", eldercare_payment),
    ("eldercare", "POST", "/orders"): Audited(
        "order",
        "create",
        post("/orders", fixed({"resident_id": "demo-elder-04", "service": "meal_delivery"})),
    ),
    ("eldercare", "GET", "/orders/{order_id}"): Audited(
        "order", "read", named("GET", "/orders/{id}", eldercare_order)
    ),
    ("eldercare", "POST", "/orders/{order_id}/assign"): Audited(
        "order",
        "assign",
        named(
            "POST",
            "/orders/{id}/assign",
            eldercare_order,
            {"assignee_kind": "carer", "assignee_id": "carer-audit"},
        ),
    ),
    ("eldercare", "POST", "/orders/{order_id}/cancel"): Audited(
        "order", "cancel", named("POST", "/orders/{id}/cancel", eldercare_order, {})
    ),
    ("eldercare", "POST", "/orders/{order_id}/visits"): Audited(
        "visit",
        "schedule",
        named(
            "POST",
            "/orders/{id}/visits",
            rs.eldercare_order,
            {"window_start": f"{TODAY}T01:00:00Z", "window_end": "2099-01-01T00:00:00Z"},
        ),
    ),
    ("eldercare", "GET", "/orders/{order_id}/visits"): Audited(
        "visit", "read", named("GET", "/orders/{id}/visits", eldercare_order_with_visit)
    ),
    ("eldercare", "POST", "/visits/{visit_id}/check-in"): Audited(
        "visit", "check-in", named("POST", "/visits/{id}/check-in", rs.eldercare_visit)
    ),
    ("eldercare", "POST", "/visits/{visit_id}/check-out"): Audited(
        "visit",
        "check-out",
        named("POST", "/visits/{id}/check-out", eldercare_checked_in_visit),
    ),
    ("eldercare", "POST", "/placements"): Audited(
        "placement",
        "request",
        post("/placements", fixed({"resident_id": "demo-elder-08", "kind": "home"})),
    ),
    ("eldercare", "POST", "/placements/{placement_id}/end"): Audited(
        "placement", "end", named("POST", "/placements/{id}/end", eldercare_placement, {})
    ),
    ("eldercare", "GET", "/centres/{centre_id}/waiting-list"): Audited(
        "placement", "read", named("GET", "/centres/{id}/waiting-list", eldercare_full_centre)
    ),
}
"""Every route that reads or changes personal data → the row it must leave."""

NO_PERSONAL_DATA = {
    "registry": {
        "/areas": "areas, their codes, names and history: no person",
        "/facilities": "facilities and their floor areas: no person",
        "/organisations": "community organisations (a name, a kind, a member count): no person",
        "/workers": "community worker posts: role, education, birth year and sex, never a "
        "name, address or id number",
        "/volunteers": "a volunteer's community, dates and hours, at most a resident's opaque "
        "id: never a name, address or id number",
    },
    "casework": {
        "/calendar": "the working-day calendar",
        "/matters": "the catalogue of service matters",
    },
    "employment": {
        "/courses": "training courses, public offers",
        "/employers": "employers, public like their vacancies",
        "/vacancies": "vacancies, public offers (their candidates are audited)",
        "/skills": "the skill taxonomy",
        "/welfare-quotas": "a community's number of public-welfare posts",
    },
    "eldercare": {
        "/instruments": "the assessment instruments",
    },
}
"""Path prefixes of routes holding no personal data, per service, and why."""

NOT_AUDITED: dict[Key, str] = {
    ("registry", "GET", "/residents/count"): "a count, no person",
    ("registry", "GET", "/imports/{import_id}"): "an import job's counts and the line, field "
    "and reason of each rejected row, never a value",
    ("casework", "POST", "/tracking"): "public: a case's state for its number and code, "
    "without the applicant (tests/test_route_security.py)",
    ("eldercare", "POST", "/centres"): "a centre's name, kind and places: no person",
    **{
        (name, "GET", "/audit"): "the audit log itself (actors and resource ids)"
        for name in SERVICES
    },
    **{
        (name, "GET", path): "public event contracts"
        for name in SERVICES
        for path in ("/schemas/events", "/schemas/events/{schema_file}", "/schemas/asyncapi.yaml")
    },
}
"""Routes holding no personal data (beyond :data:`NO_PERSONAL_DATA`), and why."""


def not_audited_because(key: Key) -> str | None:
    service, _, path = key
    if key in NOT_AUDITED:
        return NOT_AUDITED[key]
    if service == "metrics":
        return "metrics holds no personal data: counts and indicators from events"
    for prefix, why in NO_PERSONAL_DATA.get(service, {}).items():
        if (path == prefix or path.startswith(prefix + "/")) and key not in AUDITED:
            return why
    return None


ROUTE_KEYS = sorted(rs.route_key(route) for route in rs.ROUTES)


def test_every_route_is_classified() -> None:
    unclassified = [
        " ".join(key) for key in ROUTE_KEYS if key not in AUDITED and not not_audited_because(key)
    ]
    assert not unclassified, (
        "routes neither audited nor declared free of personal data (add each to AUDITED in "
        f"{Path(__file__).name} and audit it with shared.audit, or to NOT_AUDITED with the "
        f"reason): {unclassified}"
    )
    both = [" ".join(key) for key in AUDITED if key in NOT_AUDITED]
    assert not both, f"declared audited and not audited: {both}"
    stale = [" ".join(key) for key in [*AUDITED, *NOT_AUDITED] if key not in ROUTE_KEYS]
    assert not stale, f"declared but no longer documented (docs/openapi): {stale}"


def test_every_audited_route_is_proved_live_or_through_its_use_case() -> None:
    unproved = [" ".join(k) for k, a in AUDITED.items() if a.call is None and a.via is None]
    assert not unproved, f"audited routes with neither a live call nor a use case: {unproved}"


@pytest.mark.parametrize("key", [k for k, a in AUDITED.items() if a.call is None], ids=" ".join)
def test_a_command_without_a_live_call_writes_its_row_in_its_use_case(key: Key) -> None:
    audited = AUDITED[key]
    assert audited.via is not None
    source = inspect.getsource(audited.via)
    writes = ("audit.record_change(", "_audit(uow", "_case(uow")
    assert any(call in source for call in writes), (
        f"{' '.join(key)}: {audited.via.__qualname__} writes no audit row"
    )
    records = f'"{audited.action}"' in source or (
        audited.action == "update" and "_case(uow" in source
    )
    assert records, (
        f"{' '.join(key)}: {audited.via.__qualname__} does not record {audited.action!r}"
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def platform(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    async with AsyncExitStack() as stack:
        yield rs.Platform(stack, kafka_bootstrap, tmp_path_factory.mktemp("audit-coverage"))


@IN_MODULE_LOOP
@pytest.mark.parametrize("key", [k for k, a in AUDITED.items() if a.call is not None], ids=" ".join)
async def test_an_audited_route_leaves_its_row(key: Key, platform: Any) -> None:
    audited = AUDITED[key]
    assert audited.call is not None
    service = await platform.service(key[0])
    correlation = f"audit-coverage-{uuid.uuid4().hex[:12]}"
    caller = anywhere(service) if key[0] == "employment" else service.of_a
    response = await audited.call(service, {**caller, "X-Correlation-ID": correlation})
    assert response.is_success, f"{' '.join(key)}: {response.status_code} {response.text[:300]}"
    auditor = service.token("audit:read")
    listed = await service.client.get(
        "/audit",
        params={"resource_type": audited.resource_type, "limit": 500},
        headers=auditor,
    )
    assert listed.status_code == 200, listed.text
    rows = [row for row in listed.json()["items"] if row["correlation_id"] == correlation]
    assert rows, f"{' '.join(key)} answered {response.status_code} and left no audit row"
    assert audited.action in {row["action"] for row in rows}, (
        f"{' '.join(key)}: rows {[(r['action'], r['resource_type']) for r in rows]}, "
        f"expected action {audited.action!r}"
    )


@IN_MODULE_LOOP
@pytest.mark.parametrize("path", ["/residents", "/residents/{id}"])
async def test_a_masked_read_is_audited_as_such(path: str, platform: Any) -> None:
    """Without ``pii:read`` a resident is shown masked, still by name: each resident shown
    leaves a ``read-masked`` row (a ``pii:read`` read leaves ``read``)."""
    service = await platform.service("registry")
    resident = await registry_resident(service)
    correlation = f"audit-masked-{uuid.uuid4().hex[:12]}"
    headers = {
        **service.token("registry:read", area=service.area_a),
        "X-Correlation-ID": correlation,
    }
    if path == "/residents":
        response = await service.client.get(
            "/residents", params={"within": "140502001001", "limit": 5}, headers=headers
        )
        shown = {item["id"] for item in response.json()["items"]}
    else:
        response = await service.client.get(f"/residents/{resident}", headers=headers)
        shown = {response.json()["id"]}
    assert response.status_code == 200, response.text
    listed = await service.client.get(
        "/audit",
        params={"resource_type": "resident", "limit": 500},
        headers=service.token("audit:read"),
    )
    rows = [row for row in listed.json()["items"] if row["correlation_id"] == correlation]
    assert shown
    assert {row["resource_id"] for row in rows} == shown
    assert {row["action"] for row in rows} == {"read-masked"}
