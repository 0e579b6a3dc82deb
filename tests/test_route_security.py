"""Every route of every service, enumerated from its OpenAPI document, against the running
service (SQLite, the run's broker, the registry's demo data):

- without a token, and with a malformed, a wrongly signed or an expired one: 401;
- with a valid token holding no scope: 403 naming the scopes the route needs (it must need
  some); with every scope but one of those: 403;
- for each path parameter, an object made in area A is answered 404 to a token confined to
  area B, with the same body as a missing object: a resource's existence never leaks;
- the document declares every status the route answered here, and 401/403 (secured),
  404 (names a resource), 409 (``Idempotency-Key``), 413/422 (takes input) and ``text/csv``
  (served as CSV).

A documented route that anyone may call must be in the small allow-list :data:`PUBLIC_API`
(service, method, path): it must declare no security, answer without a token, and give no
existence oracle (its check in :data:`PUBLIC_API` compares the answers for a missing and a
wrong key). Every other documented route must be secured as above.

The routes come from ``docs/openapi/<service>.yaml``, which ``make schemas`` writes from the
apps and ``shared/tests/test_settings_docs.py`` keeps equal to them; a route the apps serve but
no document lists must be a known undocumented public one (:data:`PUBLIC`). So a new route or
a new service is covered without a new test. A path parameter this module cannot fill fails,
saying what to add to :data:`OBJECTS` (how to make such an object) or :data:`BODIES` (a valid
request body).
"""

from __future__ import annotations

import importlib
import itertools
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr

from shared.auth import ALL_SCOPES, mint_token
from shared.http import BULK_BODY_EXTENSION
from shared.settings import ServiceSettings
from shared.settings_docs import SERVICES
from shared.testing.service import bearer, running_service

pytestmark = pytest.mark.integration
IN_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
"""For tests using :func:`platform`, whose services live as long as the module."""

ROOT = Path(__file__).resolve().parents[1]
OPENAPI_DIR = ROOT / "docs" / "openapi"
HTTP_METHODS = ("get", "put", "post", "patch", "delete")
TODAY = date.today().isoformat()
MAX_BODY_BYTES = 4096
"""The body limit the services run with here, so a 413 costs little to provoke."""

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/dashboard"),  # the page only; its data comes from the secured API
    ("GET", "/dashboard/assets/{name}"),
}
"""Routes anyone may call that stay out of the OpenAPI documents (operations, API docs, the
dashboard's page). Public routes of the API itself are documented: :data:`PUBLIC_API`."""

SERVICE_SETTINGS: dict[str, dict[str, Any]] = {
    "registry": {"demo_data": True},
    "employment": {"demo_data": True},
    "casework": {"demo_data": True},
    "eldercare": {"demo_data": True},
}
"""Settings of a service's own beyond the common ones (:meth:`Platform.service`)."""


# --- the routes, from the documents -------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One operation of one service's OpenAPI document."""

    service: str
    method: str
    path: str
    operation: Mapping[str, Any]

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    @property
    def path_parameters(self) -> list[str]:
        return [p["name"] for p in self.operation.get("parameters", []) if p["in"] == "path"]

    @property
    def required_query(self) -> list[str]:
        return [
            p["name"]
            for p in self.operation.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        ]

    @property
    def takes_json(self) -> bool:
        content = self.operation.get("requestBody", {}).get("content", {})
        return "application/json" in content

    @property
    def takes_body(self) -> bool:
        return "requestBody" in self.operation or bool(self.operation.get(BULK_BODY_EXTENSION))

    def declares(self, status: int) -> bool:
        return str(status) in self.operation.get("responses", {})

    def url(self, values: Mapping[str, str]) -> str:
        return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], self.path)


def documented_routes() -> list[Route]:
    """Every operation of every committed OpenAPI document."""
    routes = []
    for document in sorted(OPENAPI_DIR.glob("*.yaml")):
        spec = yaml.safe_load(document.read_text())
        for path, item in (spec.get("paths") or {}).items():
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    routes.append(Route(document.stem, method.upper(), path, operation))
    return routes


ROUTES = documented_routes()
NAMED_ROUTES = [route for route in ROUTES if route.path_parameters]


def route_key(route: Route) -> tuple[str, str, str]:
    return (route.service, route.method, route.path)


def route_id(route: Route) -> str:
    return str(route)


# --- the running services -------------------------------------------------------------------


@dataclass
class Service:
    """A running service, its client, and the areas A and B of its confinement checks."""

    name: str
    settings: ServiceSettings
    client: httpx.AsyncClient
    area_a: str = ""
    area_b: str = ""
    objects: dict[str, str] = field(default_factory=dict)
    """Path parameter → id of an object made for it (in area A, or an existing global one)."""

    def token(self, *scopes: str, area: str | None = None) -> dict[str, str]:
        return bearer(self.settings, *scopes, area=area)

    @property
    def of_a(self) -> dict[str, str]:
        """Every scope, confined to area A."""
        return self.token(*ALL_SCOPES, area=self.area_a)

    @property
    def of_b(self) -> dict[str, str]:
        """Every scope, confined to area B."""
        return self.token(*ALL_SCOPES, area=self.area_b)

    async def create(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> str:
        """POST ``body`` to ``path`` and return the new object's id."""
        response = await self.client.post(path, json=body, headers=headers)
        assert response.status_code == 201, f"{self.name} POST {path}: {response.text}"
        created: str = response.json()["id"]
        return created


async def registry_set_up(service: Service) -> None:
    """The demo data's community 140502001001 (district 140502) and district 140525."""
    service.area_a, service.area_b = "140502001001", "140525"


async def metrics_set_up(service: Service) -> None:
    """Districts A and B of a city of the test's own, a community in each, fed to metrics as
    registry events."""
    from metrics.testing import City, envelope, eventually, publish

    tag = uuid.uuid4().hex[:6]
    service.area_a, service.area_b = f"rs{tag}a", f"rs{tag}b"
    city = City(f"rs{tag}", {service.area_a: [f"{service.area_a}1"], service.area_b: []})
    await publish(service.settings.kafka_bootstrap_servers, *map(envelope, city.area_events()))

    async def known() -> bool:
        found = await service.client.get(f"/areas/{service.area_a}1", headers=service.of_a)
        return found.status_code == 200

    await eventually(known, timeout_s=120)


async def eldercare_set_up(service: Service) -> None:
    """The demo elders' community 140502001001 (district 140502) and district 140525."""
    service.area_a, service.area_b = "140502001001", "140525"


async def casework_set_up(service: Service) -> None:
    """The demo residents' community 140502001001 (district 140502) and district 140525."""
    service.area_a, service.area_b = "140502001001", "140525"


CASEWORK_CARD = {
    "matter_code": "reemployment_concession_card",
    "documents": ["id_card", "household_register", "unemployment_registration_card", "photo"],
}


async def casework_visit(service: Service) -> str:
    """A visit of the demo resident demo-r-01 (area A) for a concession card."""
    body = {"resident_id": "demo-r-01", "matters": [CASEWORK_CARD]}
    return await service.create("/visits", body, service.of_a)


async def casework_case(service: Service) -> str:
    visit = await service.client.get(
        f"/visits/{await casework_visit(service)}", headers=service.of_a
    )
    assert visit.status_code == 200, visit.text
    found: str = visit.json()["cases"][0]["id"]
    return found


async def casework_matter(_service: Service) -> str:
    return "legal_aid"


async def casework_matter_body(service: Service) -> dict[str, Any]:
    found = await service.client.get("/matters/legal_aid", headers=service.of_a)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def employment_set_up(service: Service) -> None:
    """The demo seekers' community 140502001001 (district 140502) and district 140525."""
    service.area_a, service.area_b = "140502001001", "140525"


async def employment_seeker_of(service: Service, resident_id: str) -> str:
    """The id of the demo seeker who is the demo resident ``resident_id`` (area A)."""
    listed = await service.client.get(
        "/seekers", params={"within": service.area_a}, headers=service.of_a
    )
    assert listed.status_code == 200, listed.text
    found: str = next(s["id"] for s in listed.json()["items"] if s["resident_id"] == resident_id)
    return found


async def employment_seeker(service: Service) -> str:
    return await employment_seeker_of(service, "demo-r02")


async def employment_match(service: Service) -> str:
    vacancies = await service.client.get("/vacancies", headers=service.of_a)
    cook = next(v["id"] for v in vacancies.json()["items"] if v["title"] == "Canteen cook")
    body = {"vacancy_id": cook, "seeker_id": await employment_seeker_of(service, "demo-r02")}
    return await service.create("/matches", body, service.of_a)


async def employment_placement(service: Service) -> str:
    return await first_listed(service, "/placements?within=140502001001")


async def employment_enrolment(service: Service) -> str:
    body = {
        "course_id": await first_listed(service, "/courses"),
        "seeker_id": await employment_seeker_of(service, "demo-r11"),
    }
    return await service.create("/enrolments", body, service.of_a)


async def employment_loan(service: Service) -> str:
    body = {
        "seeker_id": await employment_seeker_of(service, "demo-r11"),
        "amount_fen": 1_000_000,
        "term_months": 12,
    }
    return await service.create("/loans", body, service.of_a)


SET_UP: dict[str, Callable[[Service], Awaitable[None]]] = {
    "employment": employment_set_up,
    "registry": registry_set_up,
    "casework": casework_set_up,
    "eldercare": eldercare_set_up,
    "metrics": metrics_set_up,
}
"""How each service gets its areas A and B (a service without routes naming objects needs
none)."""


class Platform:
    """The services of the run, started on first use and stopped at the module's end."""

    def __init__(self, stack: AsyncExitStack, bootstrap: str, directory: Path) -> None:
        self._stack, self._bootstrap, self._directory = stack, bootstrap, directory
        self._running: dict[str, Service] = {}

    async def service(self, name: str) -> Service:
        if name not in self._running:
            create_app = importlib.import_module(f"{name}.app").create_app
            settings = importlib.import_module(f"{name}.settings").Settings(
                environment="development",
                database_url=f"sqlite+aiosqlite:///{self._directory / name}.db",
                kafka_bootstrap_servers=self._bootstrap,
                log_json=False,
                http_max_body_bytes=MAX_BODY_BYTES,
                http_max_bulk_body_bytes=MAX_BODY_BYTES,
                **SERVICE_SETTINGS.get(name, {}),
            )
            client = await self._stack.enter_async_context(running_service(create_app, settings))
            service = Service(name, settings, client)
            if name in SET_UP:
                await SET_UP[name](service)
            self._running[name] = service
        return self._running[name]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def platform(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    async with AsyncExitStack() as stack:
        yield Platform(stack, kafka_bootstrap, tmp_path_factory.mktemp("route-security"))


# --- how to make an object for a path parameter -------------------------------------------

Maker = Callable[[Service], Awaitable[str]]


@dataclass(frozen=True)
class InArea:
    """Objects that belong to an area: ``make`` creates one in the service's area A (with a
    token of A) and returns its id."""

    make: Maker


@dataclass(frozen=True)
class Everywhere:
    """Objects every token may see whatever its area (``why``); ``existing`` gives one."""

    why: str
    existing: Maker


async def demo_community(service: Service) -> str:
    return service.area_a


async def registry_facility(service: Service) -> str:
    body = {
        "community_id": service.area_a,
        "kind": "library",
        "rooms": [{"purpose": "library", "area_m2": 80.0}],
        "opened_on": "2020-01-01",
    }
    return await service.create("/facilities", body, service.of_a)


async def registry_household(service: Service, *, area: str = "a") -> str:
    community, token = (
        (service.area_a, service.of_a) if area == "a" else ("140525001001", service.of_b)
    )
    body = {"community_id": community, "address": "1 Test Road", "registered_on": "2020-01-01"}
    return await service.create("/households", body, token)


async def registry_import(service: Service) -> str:
    """An import job started by a token of area A (``Prefer: respond-async``)."""
    row = {"type": "household", "ref": "J-1", "community_id": service.area_a}
    content = json.dumps({**row, "address": "1 Job Road", "registered_on": "2020-01-01"})
    headers = {**service.of_a, "Prefer": "respond-async"}
    response = await service.client.post("/imports", content=content, headers=headers)
    assert response.status_code == 202, f"registry POST /imports: {response.text}"
    job: str = response.json()["id"]
    return job


_SEQUENCES = itertools.count(uuid.uuid4().int % 500)


def female_sequence() -> str:
    """The three digits after the birth date of a woman's id number, new at each call (500
    before they repeat): numbers drawn at random met twice in a run and were refused 409."""
    return f"{next(_SEQUENCES) % 500 * 2:03d}"


async def registry_resident(service: Service) -> str:
    from registry.domain.national_id import check_character

    first_17 = f"11010519800505{female_sequence()}"
    body = {
        "national_id": first_17 + check_character(first_17),
        "name": "Test Resident",
        "sex": "female",
        "birth_date": "1980-05-05",
        "household_id": await registry_household(service),
        "employment_status": "employed",
    }
    return await service.create("/residents", body, service.of_a)


async def registry_worker(service: Service) -> str:
    body = {
        "community_id": service.area_a,
        "role": "officer",
        "appointment": "hired",
        "education": "college",
        "birth_year": 1985,
        "sex": "male",
        "appointed_on": "2020-01-01",
    }
    return await service.create("/workers", body, service.of_a)


async def registry_organisation(service: Service) -> str:
    body = {
        "community_id": service.area_a,
        "name": "Chess club",
        "kind": "culture",
        "member_count": 12,
        "registered_on": "2020-01-01",
    }
    return await service.create("/organisations", body, service.of_a)


async def registry_volunteer(service: Service) -> str:
    body = {"community_id": service.area_a, "registered_on": "2020-01-01"}
    return await service.create("/volunteers", body, service.of_a)


async def first_listed(service: Service, path: str) -> str:
    listed = await service.client.get(path, headers=service.token(*ALL_SCOPES))
    assert listed.status_code == 200, listed.text
    items = listed.json()
    first: str = (items["items"] if isinstance(items, dict) else items)[0]["id"]
    return first


async def metrics_indicator(service: Service) -> str:
    return await first_listed(service, "/indicators")


async def metrics_community(service: Service) -> str:
    return f"{service.area_a}1"


async def metrics_target(service: Service) -> str:
    body = {
        "id": f"rs-target-{uuid.uuid4().hex[:6]}",
        "name": "Route security",
        "indicator_id": await metrics_indicator(service),
        "scope_area_id": service.area_a,
        "comparison": ">=",
        "target_value": 80,
        "baseline_date": "2026-01-01",
        "deadline": "2030-12-31",
        "source_plan": "tests/test_route_security.py",
    }
    return await service.create("/targets", body, service.of_a)


async def event_schema_file(_service: Service) -> str:
    return "org.shequ.registry.area.created.v1.json"


async def metrics_table(service: Service) -> str:
    from metrics.service import EXPORTS

    return next(iter(EXPORTS))


async def eldercare_elder(service: Service) -> str:
    """A demo elder of area A (the demo puts elders 4 and 8 in 140502001001)."""
    return "demo-elder-04"


async def eldercare_entitlement(service: Service) -> str:
    listed = await service.client.get(
        "/entitlements", params={"resident_id": "demo-elder-04"}, headers=service.of_a
    )
    assert listed.status_code == 200, listed.text
    found: str = listed.json()["items"][0]["id"]
    return found


async def eldercare_centre(service: Service) -> str:
    body = {
        "kind": "day_care",
        "name": "Route security centre",
        "community_id": service.area_a,
        "capacity": 3,
    }
    return await service.create("/centres", body, service.of_a)


async def eldercare_placement(service: Service) -> str:
    body = {"resident_id": "demo-elder-08", "kind": "home"}
    return await service.create("/placements", body, service.of_a)


async def eldercare_order(service: Service) -> str:
    body = {"resident_id": "demo-elder-04", "service": "cleaning"}
    order_id = await service.create("/orders", body, service.of_a)
    assigned = await service.client.post(
        f"/orders/{order_id}/assign",
        json={"assignee_kind": "carer", "assignee_id": "carer-rs"},
        headers=service.of_a,
    )
    assert assigned.status_code == 200, assigned.text
    return order_id


async def eldercare_visit(service: Service) -> str:
    body = {"window_start": f"{TODAY}T01:00:00Z", "window_end": "2099-01-01T00:00:00Z"}
    return await service.create(
        f"/orders/{await eldercare_order(service)}/visits", body, service.of_a
    )


OBJECTS: dict[tuple[str, str], InArea | Everywhere] = {
    ("registry", "area_id"): InArea(demo_community),
    ("registry", "facility_id"): InArea(registry_facility),
    ("registry", "household_id"): InArea(registry_household),
    ("registry", "resident_id"): InArea(registry_resident),
    ("registry", "worker_id"): InArea(registry_worker),
    ("registry", "organisation_id"): InArea(registry_organisation),
    ("registry", "volunteer_id"): InArea(registry_volunteer),
    ("registry", "import_id"): InArea(registry_import),
    ("metrics", "area_id"): InArea(metrics_community),
    ("metrics", "indicator_id"): Everywhere(
        "the indicator catalogue is the same for every area", metrics_indicator
    ),
    ("metrics", "target_id"): InArea(metrics_target),
    ("casework", "visit_id"): InArea(casework_visit),
    ("casework", "case_id"): InArea(casework_case),
    ("casework", "code"): Everywhere(
        "the matter catalogue is the same for everyone", casework_matter
    ),
    ("metrics", "table"): Everywhere("the names of the tables metrics exports", metrics_table),
    ("eldercare", "resident_id"): InArea(eldercare_elder),
    ("eldercare", "entitlement_id"): InArea(eldercare_entitlement),
    ("eldercare", "centre_id"): InArea(eldercare_centre),
    ("eldercare", "placement_id"): InArea(eldercare_placement),
    ("eldercare", "order_id"): InArea(eldercare_order),
    ("eldercare", "visit_id"): InArea(eldercare_visit),
    ("employment", "seeker_id"): InArea(employment_seeker),
    ("employment", "match_id"): InArea(employment_match),
    ("employment", "placement_id"): InArea(employment_placement),
    ("employment", "enrolment_id"): InArea(employment_enrolment),
    ("employment", "loan_id"): InArea(employment_loan),
    ("employment", "vacancy_id"): Everywhere(
        "vacancies are public offers that every community matches its seekers to",
        lambda service: first_listed(service, "/vacancies"),
    ),
    ("employment", "employer_id"): Everywhere(
        "employers are public, like their vacancies", lambda s: first_listed(s, "/employers")
    ),
    ("employment", "course_id"): Everywhere(
        "courses are public offers", lambda service: first_listed(service, "/courses")
    ),
    **{
        (name, "schema_file"): Everywhere(
            "the event schemas are public documentation, the same for everyone", event_schema_file
        )
        for name in SERVICES
    },
}
"""(service, path parameter) → how to get an object for it. A new path parameter needs an
entry, or its routes fail."""


async def household_in_b(service: Service) -> str:
    return await registry_household(service, area="b")


Body = Callable[[Service], Awaitable[dict[str, Any]]]


def fixed(body: dict[str, Any]) -> Body:
    async def make(_service: Service) -> dict[str, Any]:
        return body

    return make


async def resident_move(service: Service) -> dict[str, Any]:
    return {"household_id": await household_in_b(service), "moved_on": TODAY}


BODIES: dict[tuple[str, str, str], Body] = {
    ("registry", "POST", "/areas/{area_id}/retire"): fixed({"effective": TODAY}),
    ("registry", "POST", "/areas/{area_id}/split"): fixed(
        {
            "areas": [
                {"id": "rsSplit1", "name": "One", "household_ids": []},
                {"id": "rsSplit2", "name": "Two", "household_ids": []},
            ],
            "effective": TODAY,
        }
    ),
    ("registry", "PATCH", "/facilities/{facility_id}"): fixed({"kind": "library"}),
    ("registry", "POST", "/facilities/{facility_id}/close"): fixed({"closed_on": TODAY}),
    ("registry", "POST", "/households/{household_id}/move"): fixed(
        {"community_id": "140525001001", "moved_on": TODAY}
    ),
    ("registry", "PATCH", "/residents/{resident_id}"): fixed({"disabled": False}),
    ("registry", "POST", "/residents/{resident_id}/death"): fixed({"died_on": TODAY}),
    ("registry", "POST", "/residents/{resident_id}/departure"): fixed({"left_on": TODAY}),
    ("registry", "POST", "/residents/{resident_id}/move"): resident_move,
    ("registry", "POST", "/volunteers/{volunteer_id}/hours"): fixed(
        {"hours": 2.5, "served_on": TODAY}
    ),
    ("registry", "POST", "/workers/{worker_id}/leave"): fixed({"left_on": TODAY}),
    ("casework", "POST", "/cases/{case_id}/return"): fixed({"missing_documents": ["photo"]}),
    ("casework", "POST", "/cases/{case_id}/resubmit"): fixed({"documents": ["photo"]}),
    ("casework", "POST", "/cases/{case_id}/settle"): fixed({"outcome": "approved"}),
    ("casework", "POST", "/cases/{case_id}/decide"): fixed({"outcome": "approved"}),
    ("casework", "POST", "/cases/{case_id}/delegate"): fixed({"agent_id": "w-rs"}),
    ("casework", "POST", "/cases/{case_id}/hops"): fixed({"hop": "received_by_department"}),
    ("casework", "POST", "/cases/{case_id}/extend"): fixed({"days": 2, "reason": "rs"}),
    ("casework", "POST", "/cases/{case_id}/rating"): fixed({"rating": 5}),
    ("casework", "POST", "/cases/{case_id}/mediation/sessions"): fixed(
        {"held_on": TODAY, "mediator_id": "w-rs"}
    ),
    ("casework", "POST", "/cases/{case_id}/mediation/outcome"): fixed({"agreement": False}),
    ("casework", "POST", "/cases/{case_id}/mediation/follow-up"): fixed({"visited_on": TODAY}),
    ("casework", "POST", "/cases/{case_id}/links"): fixed({"case_ids": ["rsMissing"]}),
    ("casework", "PUT", "/matters/{code}"): casework_matter_body,
    ("eldercare", "POST", "/elders/{resident_id}/assessments"): fixed(
        {
            "barthel": {
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
            },
            "iadl_dependent": [],
        }
    ),
    ("eldercare", "POST", "/entitlements/{entitlement_id}/decline"): fixed(
        {"reason": "not_qualified"}
    ),
    ("eldercare", "POST", "/placements/{placement_id}/end"): fixed({}),
    ("eldercare", "POST", "/orders/{order_id}/assign"): fixed(
        {"assignee_kind": "carer", "assignee_id": "carer-rs"}
    ),
    ("eldercare", "POST", "/orders/{order_id}/cancel"): fixed({}),
    ("eldercare", "POST", "/orders/{order_id}/visits"): fixed(
        {"window_start": f"{TODAY}T01:00:00Z", "window_end": f"{TODAY}T03:00:00Z"}
    ),
    ("employment", "PATCH", "/seekers/{seeker_id}"): fixed({"education": "primary"}),
    ("employment", "POST", "/seekers/{seeker_id}/withdraw"): fixed(
        {"reason": "request", "withdrawn_on": TODAY}
    ),
    ("employment", "POST", "/seekers/{seeker_id}/card/revoke"): fixed({"reason": "other"}),
    ("employment", "PUT", "/vacancies/{vacancy_id}"): fixed(
        {
            "title": "Cook",
            "required_skills": ["catering.cook"],
            "hours": "full_time",
            "hours_per_week": 40,
            "wage_fen": 200_000,
        }
    ),
    ("employment", "POST", "/matches/{match_id}/accept"): fixed({"started_on": TODAY}),
    ("employment", "POST", "/matches/{match_id}/decline"): fixed({"declined_by": "seeker"}),
    ("employment", "POST", "/placements/{placement_id}/retention-checks"): fixed(
        {"months": 6, "passed": True, "checked_on": TODAY}
    ),
    ("employment", "POST", "/enrolments/{enrolment_id}/attendance"): fixed({"day": TODAY}),
    ("employment", "POST", "/enrolments/{enrolment_id}/complete"): fixed({"completed_on": TODAY}),
    ("employment", "POST", "/enrolments/{enrolment_id}/leave"): fixed({"left_on": TODAY}),
    ("employment", "POST", "/loans/{loan_id}/guarantee"): fixed({"guarantee": "guarantee_fund"}),
    ("employment", "POST", "/loans/{loan_id}/approve"): fixed({"approved_on": TODAY}),
    ("employment", "POST", "/loans/{loan_id}/disburse"): fixed({"disbursed_on": TODAY}),
    ("employment", "POST", "/loans/{loan_id}/repayments"): fixed(
        {"amount_fen": 100, "paid_on": TODAY}
    ),
}
"""A request body that passes validation, for routes that name an object and take a body
(objects it refers to lie in area B, so only the named object is out of reach)."""


QUERY_VALUES: dict[tuple[str, str], Callable[[Service, str], str]] = {
    ("metrics", "area"): lambda _service, area: area,
    ("employment", "since"): lambda _service, _area: "2000-01-01T00:00:00Z",
}
"""(service, required query parameter) → its value for a token confined to an area."""


def required_query(service: Service, route: Route, area: str) -> dict[str, str]:
    """Values of the route's required query parameters for a token of ``area``."""
    values = {}
    for name in route.required_query:
        make = QUERY_VALUES.get((service.name, name))
        if make is None:
            pytest.fail(
                f"{route} requires the query parameter {name!r}; add ({service.name!r}, "
                f"{name!r}) to QUERY_VALUES in {Path(__file__).name}",
                pytrace=False,
            )
        values[name] = make(service, area)
    return values


def missing_id() -> str:
    return f"rsMissing{uuid.uuid4().hex[:8]}"


async def object_for(service: Service, parameter: str) -> InArea | Everywhere:
    """How to get an object for ``parameter``, making one on first use; fails loudly when
    nobody said how."""
    found = OBJECTS.get((service.name, parameter))
    if found is None:
        pytest.fail(
            f"{service.name}: no way to make an object for the path parameter {parameter!r}. "
            f"Add ({service.name!r}, {parameter!r}) to OBJECTS in {Path(__file__).name}: "
            "InArea(make) if objects belong to an area (make one in area A and return its "
            "id), Everywhere(why, existing) if every token may see them",
            pytrace=False,
        )
    if isinstance(found, InArea) and not (service.area_a and service.area_b):
        pytest.fail(
            f"{service.name}: objects of {parameter!r} belong to an area, but nothing gives the "
            f"service its areas A and B: add {service.name!r} to SET_UP in "
            f"{Path(__file__).name}",
            pytrace=False,
        )
    if parameter not in service.objects:
        maker = found.make if isinstance(found, InArea) else found.existing
        service.objects[parameter] = await maker(service)
    return found


async def object_id(service: Service, parameter: str) -> str:
    """The id of the object made (or found) for ``parameter``."""
    await object_for(service, parameter)
    return service.objects[parameter]


# --- requests -------------------------------------------------------------------------------


async def call(
    service: Service,
    route: Route,
    headers: Mapping[str, str],
    *,
    values: Mapping[str, str] | None = None,
    body: Any = None,
    query: Mapping[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """Call ``route`` with path ``values`` (placeholders by default) and a body: ``body`` as
    JSON, or ``content``, or ``{}`` for a route taking JSON, or nothing."""
    url = route.url(values or dict.fromkeys(route.path_parameters, "rsPlaceholder"))
    if content is None and body is None and route.takes_body:
        body, content = ({}, None) if route.takes_json else (None, b"")
    return await service.client.request(
        route.method, url, headers=dict(headers), json=body, content=content, params=query
    )


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), (
        response.headers["content-type"],
        response.text,
    )
    document: dict[str, Any] = response.json()
    return document


def required_scopes(response: httpx.Response) -> set[str]:
    """The scopes a 403's ``WWW-Authenticate`` says the route needs."""
    found = re.search(r'scope="([^"]*)"', response.headers.get("www-authenticate", ""))
    return set(found.group(1).split()) if found else set()


def assert_declared(route: Route, *responses: httpx.Response) -> None:
    """Every status answered is declared by the route's document."""
    undeclared = sorted({r.status_code for r in responses if not route.declares(r.status_code)})
    assert not undeclared, (
        f"{route} answered {undeclared} but its OpenAPI document does not declare "
        f"{'them' if len(undeclared) > 1 else 'it'} (declared: "
        f"{sorted(route.operation.get('responses', {}))}); see _declare_refusals in "
        "shared/src/shared/http.py, then `make schemas`"
    )


# --- the public routes of the API ---------------------------------------------------------

PublicCheck = Callable[[Service, Route], Awaitable[list[httpx.Response]]]


async def casework_tracking(service: Service, route: Route) -> list[httpx.Response]:
    """A case tracked without a token; a wrong code and an unknown number get one answer."""
    body = {"resident_id": "demo-r-01", "matters": [CASEWORK_CARD]}
    visit = await service.client.post("/visits", json=body, headers=service.of_a)
    assert visit.status_code == 201, visit.text
    case = visit.json()["cases"][0]
    pair = {"number": case["number"], "code": case["verification_code"]}
    found = await call(service, route, {}, body=pair)
    assert found.status_code == 200, f"{route} without a token: {found.text[:300]}"
    assert found.json()["number"] == case["number"]
    assert "resident_id" not in found.json()
    wrong_code = await call(service, route, {}, body={**pair, "code": "WRONG234"})
    unknown = await call(service, route, {}, body={"number": "19990101000000", "code": "X"})
    assert (wrong_code.status_code, unknown.status_code) == (404, 404), (
        f"{route}: {wrong_code.status_code} for a wrong code, {unknown.status_code} for an "
        "unknown number"
    )
    assert problem(wrong_code) == problem(unknown), (
        f"{route}: a wrong code is answered unlike an unknown number, so it reveals that the "
        "number exists"
    )
    return [found, wrong_code, unknown]


async def event_contracts(service: Service, route: Route) -> list[httpx.Response]:
    """The event contracts (JSON Schemas, AsyncAPI) are public documentation, served by every
    service so that an event's ``dataschema`` resolves without a token; they hold no data.
    A missing schema is a plain 404."""
    values = {"schema_file": "org.shequ.registry.area.created.v1.json"}
    found = await call(service, route, {}, values=values if route.path_parameters else None)
    assert found.status_code == 200, f"{route} without a token: {found.text[:300]}"
    answers = [found]
    if route.path_parameters:
        missing = await call(service, route, {}, values={"schema_file": "org.shequ.no.v1.json"})
        assert missing.status_code == 404, f"{route}: {missing.status_code} for a missing schema"
        answers.append(missing)
    return answers


EVENT_CONTRACT_ROUTES = (
    "/schemas/events",
    "/schemas/events/{schema_file}",
    "/schemas/asyncapi.yaml",
)
"""shared.schema_routes, mounted by the app factory on every service."""

PUBLIC_API: dict[tuple[str, str, str], PublicCheck] = {
    ("casework", "POST", "/tracking"): casework_tracking,
    **{(name, "GET", path): event_contracts for name in SERVICES for path in EVENT_CONTRACT_ROUTES},
}
"""The documented routes anyone may call, with no token: (service, method, path) → a check
that calls it without one and shows it reveals no object's existence (the same answer for a
missing and a wrong key). Every other documented route needs a token and a scope."""

SECURED_ROUTES = [route for route in ROUTES if route_key(route) not in PUBLIC_API]


# --- the tests ------------------------------------------------------------------------------


def live_routes(app: FastAPI) -> dict[tuple[str, str], bool]:
    """(method, full path) → whether it is in the app's OpenAPI document, for every route."""
    found = {}
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        for method in getattr(original, "methods", None) or ():
            if method != "HEAD":
                found[(method, context.path)] = bool(getattr(original, "include_in_schema", True))
    return found


@pytest.mark.parametrize("name", SERVICES)
def test_every_route_a_service_serves_is_documented_or_public(name: str, tmp_path: Path) -> None:
    assert (OPENAPI_DIR / f"{name}.yaml").exists(), f"no docs/openapi/{name}.yaml: make schemas"
    app = importlib.import_module(f"{name}.app").create_app(
        importlib.import_module(f"{name}.settings").Settings(
            environment="development", database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"
        )
    )
    documented = {(r.method, r.path) for r in ROUTES if r.service == name}
    for (method, path), in_schema in live_routes(app).items():
        if (method, path) in PUBLIC:
            continue
        assert in_schema, (
            f"{name} {method} {path} is hidden from the OpenAPI document but not a known public "
            "route: document it (and secure it), or add it to PUBLIC if anyone may call it"
        )
        assert (method, path) in documented, (
            f"{name} {method} {path} is not in docs/openapi/{name}.yaml: run `make schemas`"
        )


def test_every_public_api_route_is_documented_without_security() -> None:
    documented = {route_key(route): route for route in ROUTES}
    for key in PUBLIC_API:
        assert key in documented, (
            f"{' '.join(key)} is in PUBLIC_API but not in docs/openapi/{key[0]}.yaml: "
            "document it (`make schemas`) or drop it from the allow-list"
        )
        assert not documented[key].operation.get("security"), (
            f"{' '.join(key)} is in PUBLIC_API but its document asks for a bearer token"
        )


def test_every_service_of_the_repository_is_enumerated() -> None:
    found = {path.parent.name for path in ROOT.glob("services/*/pyproject.toml")}
    assert found == set(SERVICES), "shared.settings_docs.SERVICES must list every service"


@IN_MODULE_LOOP
@pytest.mark.parametrize("route", [r for r in ROUTES if route_key(r) in PUBLIC_API], ids=route_id)
async def test_a_public_route_answers_without_a_token_and_reveals_no_existence(
    route: Route, platform: Platform
) -> None:
    service = await platform.service(route.service)
    answers = await PUBLIC_API[route_key(route)](service, route)
    assert_declared(route, *answers)


@IN_MODULE_LOOP
@pytest.mark.parametrize("route", SECURED_ROUTES, ids=route_id)
async def test_every_route_needs_a_valid_token_and_its_scopes(
    route: Route, platform: Platform
) -> None:
    assert (route.method, route.path) not in PUBLIC, f"{route} is public but documented"
    assert route.operation.get("security"), (
        f"{route} declares no bearer security: every documented route needs a token and a "
        "scope (shared.auth.require_scopes), unless it is in the allow-list PUBLIC_API"
    )
    service = await platform.service(route.service)
    other_secret = service.settings.model_copy(
        update={"auth_jwt_secret": SecretStr("not the secret the service verifies with")}
    )
    refused = {
        "no token": await call(service, route, {}),
        "malformed": await call(service, route, {"Authorization": "Bearer not-a-token"}),
        "wrongly signed": await call(
            service,
            route,
            {"Authorization": "Bearer " + mint_token(other_secret, subject="t", scopes=ALL_SCOPES)},
        ),
        "expired": await call(
            service,
            route,
            {
                "Authorization": "Bearer "
                + mint_token(service.settings, subject="t", scopes=ALL_SCOPES, ttl_s=-3600)
            },
        ),
    }
    for case, response in refused.items():
        assert response.status_code == 401, (
            f"{route} with {case}: {response.status_code} {response.text[:300]}"
        )
        assert problem(response)["status"] == 401
        assert response.headers["www-authenticate"].startswith("Bearer")

    no_scope = await call(service, route, service.token())
    assert no_scope.status_code == 403, (
        f"{route} with a valid token holding no scope: {no_scope.status_code} "
        f"{no_scope.text[:300]} (every route must require a scope)"
    )
    needed = required_scopes(no_scope)
    assert needed, f"{route}: the 403 names no scope: {no_scope.headers}"
    assert needed <= ALL_SCOPES
    lacking = {}
    for scope in sorted(needed):
        lacking[scope] = await call(service, route, service.token(*(ALL_SCOPES - {scope})))
        assert lacking[scope].status_code == 403, (
            f"{route} without {scope}: {lacking[scope].status_code} {lacking[scope].text[:300]}"
        )
        assert problem(lacking[scope])["status"] == 403
    assert_declared(route, *refused.values(), no_scope, *lacking.values())


@IN_MODULE_LOOP
@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_every_route_declares_the_statuses_of_its_input_and_its_csv(
    route: Route, platform: Platform
) -> None:
    service = await platform.service(route.service)
    answers = []
    everything = service.token(*ALL_SCOPES)
    if route.takes_body:
        too_large = await call(service, route, everything, content=b"x" * (MAX_BODY_BYTES + 1))
        assert too_large.status_code == 413, f"{route}: {too_large.status_code}"
        answers.append(too_large)
    if route.takes_json:
        not_an_object = await call(service, route, everything, body=[])
        assert not_an_object.status_code == 422, f"{route}: {not_an_object.text[:300]}"
        answers.append(not_an_object)
    if any(p["name"] == "Idempotency-Key" for p in route.operation.get("parameters", [])):
        assert route.declares(409), f"{route} takes an Idempotency-Key but declares no 409"
    offers_csv = route.method == "GET" and any(
        p["in"] == "query" and p["name"] == "format" and "csv" in json.dumps(p.get("schema", {}))
        for p in route.operation.get("parameters", [])
    )
    if offers_csv or route.path.endswith(".csv"):
        assert "text/csv" in route.operation["responses"]["200"].get("content", {}), (
            f"{route} serves CSV but its 200 response does not declare text/csv"
        )
        query = required_query(service, route, service.area_a)
        csv = await call(
            service,
            route,
            service.of_a,
            values={p: await object_id(service, p) for p in route.path_parameters},
            query={**query, "format": "csv"} if offers_csv else query,
        )
        assert csv.status_code == 200, f"{route}: {csv.text[:300]}"
        assert csv.headers["content-type"].startswith("text/csv")
        answers.append(csv)
    assert_declared(route, *answers)


@IN_MODULE_LOOP
@pytest.mark.parametrize("route", NAMED_ROUTES, ids=route_id)
async def test_another_areas_object_is_not_found_exactly_like_a_missing_one(
    route: Route, platform: Platform
) -> None:
    service = await platform.service(route.service)
    kinds = {p: await object_for(service, p) for p in route.path_parameters}
    body: dict[str, Any] | None = None
    if route.takes_body:
        make_body = BODIES.get((route.service, route.method, route.path))
        if make_body is None:
            pytest.fail(
                f"{route} names an object and takes a body, but BODIES in "
                f"{Path(__file__).name} has no valid body for it: add "
                f"({route.service!r}, {route.method!r}, {route.path!r}): a body that passes "
                "validation (objects it refers to in area B)",
                pytrace=False,
            )
        body = await make_body(service)
    existing = {p: service.objects[p] for p in route.path_parameters}
    missing = {p: missing_id() for p in route.path_parameters}
    of_a, of_b = (
        required_query(service, route, service.area_a),
        required_query(service, route, service.area_b),
    )
    answers = []
    if any(isinstance(kind, InArea) for kind in kinds.values()):
        if route.method == "GET":  # the object is there, for a token of A
            seen = await call(service, route, service.of_a, values=existing, query=of_a)
            assert seen.status_code == 200, f"{route} for area A: {seen.text[:300]}"
            answers.append(seen)
        outside = await call(service, route, service.of_b, values=existing, body=body, query=of_b)
        absent = await call(service, route, service.of_b, values=missing, body=body, query=of_b)
        assert (outside.status_code, absent.status_code) == (404, 404), (
            f"{route} for area B: {outside.status_code} for A's object "
            f"({outside.text[:300]}), {absent.status_code} for a missing one"
        )

        def anonymous(response: httpx.Response, ids: Mapping[str, str]) -> dict[str, Any]:
            text = json.dumps(problem(response))
            for parameter, value in ids.items():
                text = text.replace(value, "{" + parameter + "}")
            return dict(json.loads(text))

        assert anonymous(outside, existing) == anonymous(absent, missing), (
            f"{route}: the 404 for another area's object differs from the one for a missing "
            "object, so it reveals that the object exists"
        )
        answers += [outside, absent]
    else:
        why = "; ".join(kind.why for kind in kinds.values() if isinstance(kind, Everywhere))
        if route.method == "GET":  # anyone sees it
            seen = await call(service, route, service.of_b, values=existing, query=of_b)
            assert seen.status_code == 200, f"{route} ({why}) for area B: {seen.text[:300]}"
            answers.append(seen)
        absent = await call(service, route, service.of_b, values=missing, body=body, query=of_b)
        assert absent.status_code == 404, f"{route}: {absent.status_code} {absent.text[:300]}"
        answers.append(absent)
    assert_declared(route, *answers)
