"""What the other services record about the city's residents, through their routes.

After the registry import, the generator reads residents back from the registry (their ids
are the registry's; sorted by national id, so a seed picks the same people every run) and, in
each community, asks:

- casework: visits opening cases of the service matters of the catalogue (``GET /matters``)
  whose conditions the applicant meets, each case taken to one state of the life cycle:
  submitted, returned, accepted, withdrawn, suspended, delegated to a community worker,
  settled or decided, then closed and rated; disputes between two residents taken through
  mediation (sessions with a community worker as mediator, an agreement or none, closed and
  rated); petitions about a case of the community, linked, decided, closed and rated;
- employment: an employer and vacancies per community, job seekers among the laid-off and
  unemployed, matches and placements (some passing the three-month retention check);
- eldercare: assessments of elders (dated over the past two years), day-care placements at a
  centre, and home-service orders whose visits are checked in and out.

A service hears of a resident or an area from the registry's events; a call that finds the
resident or the area unknown yet (404, or 422 on the resident or an unknown area) is retried
until :data:`KNOWN_TIMEOUT_S`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from shared.city.feed import FeedError
from shared.city.plan import CityPlan, Community

KNOWN_TIMEOUT_S = 120.0
RETRY_PAUSE_S = 0.5
BUSY_TIMEOUT_S = 60.0
CASES_PER_COMMUNITY = 24
DISPUTES_PER_COMMUNITY = 3
PETITIONS_PER_COMMUNITY = 2
SEEKERS_PER_COMMUNITY = 12
ELDERS_PER_COMMUNITY = 12
BARTHEL_MAXIMA = {
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
CASE_ENDINGS = (
    "submitted",
    "returned",
    "accepted",
    "withdrawn",
    "suspended",
    "delegated",
    "closed",
    "closed",
    "closed",
    "closed",
)
"""Where the cases of a community end, in turn: most are closed (and rated)."""
DISPUTE_ENDINGS = ("submitted", "accepted", "withdrawn", "decided", "closed", "closed")
"""Where disputes end, in turn through the city: ``accepted`` with a session held, ``decided``
with an agreement (its follow-up visit due), ``closed`` with an agreement or none, rated."""
AGREEMENT_TERMS = "双方同意按协议分担维修费用"
PETITION_ENDINGS = ("submitted", "accepted", "withdrawn", "closed", "closed")
"""Where petitions end, in turn through the city: ``accepted`` and linked to a second case,
``closed`` after the centre's decision, rated."""


@dataclass(frozen=True)
class ServiceUrls:
    """Base URL of each service."""

    registry: str
    casework: str
    employment: str
    eldercare: str
    metrics: str


@dataclass
class ServiceTally:
    """What the other services recorded."""

    cases: dict[str, int] = field(default_factory=dict)
    """Cases of every kind by the state they were left in."""
    disputes: int = 0
    petitions: int = 0
    seekers: int = 0
    vacancies: int = 0
    placements: int = 0
    assessments: int = 0
    care_placements: int = 0
    visits: int = 0

    @property
    def case_count(self) -> int:
        return sum(self.cases.values())


class Api:
    """JSON calls to the services with one bearer token; an unexpected answer is a
    :class:`FeedError` naming the call."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def request(
        self, method: str, url: str, body: Any = None, *, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """One call; a 429 is waited out (its ``Retry-After``) and tried again, and so is a 503
        (a database busy for a moment) until :data:`BUSY_TIMEOUT_S`."""
        busy_until = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            response = self.client.request(method, url, json=body, params=params)
            if response.status_code == 429:
                time.sleep(float(response.headers.get("Retry-After") or 1))
            elif response.status_code == 503 and time.monotonic() < busy_until:
                time.sleep(RETRY_PAUSE_S)
            else:
                return response

    def call(
        self, method: str, url: str, body: Any = None, *, params: dict[str, Any] | None = None
    ) -> Any:
        response = self.request(method, url, body, params=params)
        if response.status_code >= 300:
            raise FeedError(
                f"{method} {url} answered {response.status_code}: {response.text[:400]}"
            )
        return response.json() if response.content else None

    def once_known(self, method: str, url: str, body: Any = None) -> Any:
        """The call, retried while the service has not heard of the resident or area yet."""
        deadline = time.monotonic() + KNOWN_TIMEOUT_S
        while True:
            response = self.request(method, url, body)
            if response.status_code < 300:
                return response.json() if response.content else None
            unknown = response.status_code == 404 or (
                response.status_code == 422
                and ("resident" in response.text or "no current area" in response.text)
            )
            if not unknown or time.monotonic() > deadline:
                raise FeedError(
                    f"{method} {url} answered {response.status_code}: {response.text[:400]}"
                )
            time.sleep(RETRY_PAUSE_S)

    def pages(self, url: str, params: dict[str, Any], *, at_most: int) -> list[dict[str, Any]]:
        """Items of a cursor-paginated list, up to ``at_most``."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(items) < at_most:
            page = self.call(
                "GET",
                url,
                params={**params, "limit": 500, **({"cursor": cursor} if cursor else {})},
            )
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items[:at_most]


def residents(
    api: Api, urls: ServiceUrls, community: Community, *, at_most: int = 5000, **filters: Any
) -> list[dict[str, Any]]:
    """Living residents of ``community`` matching ``filters``, sorted by national id."""
    found = api.pages(
        f"{urls.registry}/residents",
        {"within": community.id, "status": "alive", **filters},
        at_most=at_most,
    )
    return sorted(found, key=lambda r: str(r["national_id"]))


def feed_services(
    api: Api,
    urls: ServiceUrls,
    plan: CityPlan,
    *,
    on_community: Callable[[ServiceTally], None] | None = None,
) -> ServiceTally:
    """Cases, job seekers and elders' care in every community of ``plan``."""
    tally = ServiceTally()
    catalogue = [m for m in api.call("GET", f"{urls.casework}/matters")["items"] if m["active"]]
    matters = [m for m in catalogue if m["kind"] == "service"]
    dispute = next((m for m in catalogue if m["kind"] == "mediation"), None)
    petition = next((m for m in catalogue if m["kind"] == "petition"), None)
    skills = [s["code"] for s in api.call("GET", f"{urls.employment}/skills") if "." in s["code"]]
    centre_ids: dict[str, str] = {}
    for turn, community in enumerate(plan.communities):
        rng = random.Random(f"{plan.seed}:services:{community.id}")
        people = residents(api, urls, community)
        workers = api.pages(
            f"{urls.registry}/workers", {"within": community.id, "current": "true"}, at_most=50
        )
        opened = _cases(api, urls, rng, people, matters, workers, tally, today=plan.today)
        # disputes and petitions draw from their own generator: the rest of the city stays
        # what the same seed drew before they were added
        drawn = random.Random(f"{plan.seed}:disputes:{community.id}")
        adults = [p for p in people if _age(p) >= 18]
        if dispute is not None and len(adults) >= 2 and workers:
            for number in range(DISPUTES_PER_COMMUNITY):
                turn_number = turn * DISPUTES_PER_COMMUNITY + number
                ending = DISPUTE_ENDINGS[turn_number % len(DISPUTE_ENDINGS)]
                _dispute(api, urls, drawn, adults, dispute, workers, ending, tally)
        if petition is not None and opened:
            for number in range(PETITIONS_PER_COMMUNITY):
                turn_number = turn * PETITIONS_PER_COMMUNITY + number
                ending = PETITION_ENDINGS[turn_number % len(PETITION_ENDINGS)]
                _petition(api, urls, drawn, opened, petition, ending, tally)
        _employment(api, urls, rng, community, people, skills, tally, today=plan.today)
        district_centre = centre_ids.get(community.district_id)
        if district_centre is None:
            district_centre = centre_ids[community.district_id] = api.once_known(
                "POST",
                f"{urls.eldercare}/centres",
                {
                    "kind": "day_care",
                    "name": f"{community.name}日间照料中心",
                    "community_id": community.id,
                    "capacity": 60,
                },
            )["id"]
        _eldercare(api, urls, rng, people, district_centre, tally, today=plan.today)
        if on_community is not None:
            on_community(tally)
    return tally


def _age(person: dict[str, Any]) -> int:
    return int(person["age"])


def _meets(matter: dict[str, Any], person: dict[str, Any]) -> bool:
    conditions = matter["conditions"] or {}
    age = _age(person)
    if conditions.get("min_age") is not None and age < conditions["min_age"]:
        return False
    if conditions.get("max_age") is not None and age > conditions["max_age"]:
        return False
    for name, value in (
        ("registration", person["registration"]),
        ("employment", person["employment_status"]),
    ):
        allowed = conditions.get(name)
        if allowed is not None and value not in allowed:
            return False
    if conditions.get("disabled") is not None and person["disabled"] != conditions["disabled"]:
        return False
    flags_any = conditions.get("flags_any")
    return flags_any is None or bool(set(flags_any) & set(person["flags"]))


def _cases(
    api: Api,
    urls: ServiceUrls,
    rng: random.Random,
    people: list[dict[str, Any]],
    matters: list[dict[str, Any]],
    workers: list[dict[str, Any]],
    tally: ServiceTally,
    *,
    today: date,
) -> list[dict[str, Any]]:
    """Cases across the catalogue, each taken to one state of the life cycle; the cases opened
    (id and applicant)."""
    adults = [p for p in people if _age(p) >= 18]
    base = f"{urls.casework}/cases"
    opened: list[dict[str, Any]] = []
    for number in range(min(CASES_PER_COMMUNITY, len(adults))):
        person = adults[rng.randrange(len(adults))]
        eligible = [m for m in matters if _meets(m, person)]
        if not eligible:
            continue
        matter = eligible[number % len(eligible)]
        ending = CASE_ENDINGS[number % len(CASE_ENDINGS)]
        documents = list(matter["required_documents"])
        brought = documents[:-1] if ending == "returned" and documents else documents
        visit = api.once_known(
            "POST",
            f"{urls.casework}/visits",
            {
                "resident_id": person["id"],
                "matters": [{"matter_code": matter["code"], "documents": brought}],
            },
        )
        case_id = visit["cases"][0]["id"]
        opened.append({"id": case_id, "resident_id": person["id"]})
        if ending == "returned":
            api.call("POST", f"{base}/{case_id}/return", {"missing_documents": documents[-1:]})
        elif ending == "withdrawn":
            api.call("POST", f"{base}/{case_id}/withdraw")
        elif ending != "submitted":
            api.call("POST", f"{base}/{case_id}/accept")
            if ending == "suspended":
                api.call("POST", f"{base}/{case_id}/suspend")
            elif ending == "delegated" and workers:
                agent = workers[rng.randrange(len(workers))]["id"]
                api.call("POST", f"{base}/{case_id}/delegate", {"agent_id": agent})
            elif ending == "closed":
                _decide_and_close(api, base, case_id, matter, rng)
        tally.cases[ending] = tally.cases.get(ending, 0) + 1
    return opened


def _decide_and_close(
    api: Api, base: str, case_id: str, matter: dict[str, Any], rng: random.Random
) -> None:
    approved = rng.random() < 0.85
    decision: dict[str, Any] = {
        "outcome": "approved" if approved else "denied",
        "reason": None if approved else "不符合条件",
    }
    if matter["on_the_spot"]:
        api.call("POST", f"{base}/{case_id}/settle", decision)
    else:
        api.call("POST", f"{base}/{case_id}/forward")
        if approved and matter["pays"]:
            decision["amount_fen"] = rng.randint(20, 200) * 1000
        api.call("POST", f"{base}/{case_id}/decide", decision)
    _close_and_rate(api, base, case_id, rng)


def _close_and_rate(api: Api, base: str, case_id: str, rng: random.Random) -> None:
    api.call("POST", f"{base}/{case_id}/close")
    rating = rng.choices((5, 4, 3, 2), (60, 28, 8, 4))[0]
    api.call("POST", f"{base}/{case_id}/rating", {"rating": rating})


def _dispute(
    api: Api,
    urls: ServiceUrls,
    rng: random.Random,
    adults: list[dict[str, Any]],
    matter: dict[str, Any],
    workers: list[dict[str, Any]],
    ending: str,
    tally: ServiceTally,
) -> None:
    """A dispute between two adults of the community, mediated by a community worker and
    left in ``ending`` (:data:`DISPUTE_ENDINGS`)."""
    applicant, respondent = rng.sample(adults, 2)
    visit = api.once_known(
        "POST",
        f"{urls.casework}/visits",
        {
            "resident_id": applicant["id"],
            "matters": [
                {
                    "matter_code": matter["code"],
                    "documents": list(matter["required_documents"]),
                    "parties": [
                        {"role": "applicant", "resident_id": applicant["id"]},
                        {"role": "respondent", "resident_id": respondent["id"]},
                    ],
                }
            ],
        },
    )
    base = f"{urls.casework}/cases"
    case_id = visit["cases"][0]["id"]
    if ending == "withdrawn":
        api.call("POST", f"{base}/{case_id}/withdraw")
    elif ending != "submitted":
        api.call("POST", f"{base}/{case_id}/accept")
        mediator = workers[rng.randrange(len(workers))]["id"]
        # the casework service's day is China's (UTC+8): a UTC day is never in its future
        held_on = datetime.now(UTC).date().isoformat()
        for _ in range(rng.randint(1, 2)):
            api.call(
                "POST",
                f"{base}/{case_id}/mediation/sessions",
                {"held_on": held_on, "mediator_id": mediator},
            )
        if ending in ("decided", "closed"):
            agreement = ending == "decided" or rng.random() < 0.7
            api.call(
                "POST",
                f"{base}/{case_id}/mediation/outcome",
                {"agreement": agreement, "terms": AGREEMENT_TERMS if agreement else None},
            )
            if ending == "closed":
                _close_and_rate(api, base, case_id, rng)
    tally.disputes += 1
    tally.cases[ending] = tally.cases.get(ending, 0) + 1


def _petition(
    api: Api,
    urls: ServiceUrls,
    rng: random.Random,
    opened: list[dict[str, Any]],
    matter: dict[str, Any],
    ending: str,
    tally: ServiceTally,
) -> None:
    """A petition by the applicant of a case opened in the community, about that case, left
    in ``ending`` (:data:`PETITION_ENDINGS`)."""
    about = opened[rng.randrange(len(opened))]
    visit = api.once_known(
        "POST",
        f"{urls.casework}/visits",
        {
            "resident_id": about["resident_id"],
            "matters": [
                {
                    "matter_code": matter["code"],
                    "documents": list(matter["required_documents"]),
                    "related_case_ids": [about["id"]],
                }
            ],
        },
    )
    base = f"{urls.casework}/cases"
    case_id = visit["cases"][0]["id"]
    if ending == "withdrawn":
        api.call("POST", f"{base}/{case_id}/withdraw")
    elif ending != "submitted":
        api.call("POST", f"{base}/{case_id}/accept")
        if ending == "accepted":
            other = opened[rng.randrange(len(opened))]["id"]
            if other != about["id"]:
                api.call("POST", f"{base}/{case_id}/links", {"case_ids": [other]})
        else:
            approved = rng.random() < 0.6
            api.call(
                "POST",
                f"{base}/{case_id}/decide",
                {
                    "outcome": "approved" if approved else "denied",
                    "reason": None if approved else "经核查，诉求不符合政策规定",
                },
            )
            _close_and_rate(api, base, case_id, rng)
    tally.petitions += 1
    tally.cases[ending] = tally.cases.get(ending, 0) + 1


def _employment(
    api: Api,
    urls: ServiceUrls,
    rng: random.Random,
    community: Community,
    people: list[dict[str, Any]],
    skills: list[str],
    tally: ServiceTally,
    *,
    today: date,
) -> None:
    """An employer with two vacancies, seekers among the laid-off and unemployed, and
    placements for half the seekers (past placements pass their three-month check)."""
    base = urls.employment
    employer = api.call(
        "POST",
        f"{base}/employers",
        {
            "name": f"{community.name}便民服务公司",
            "kind": "enterprise",
            "community_id": community.id,
        },
    )
    vacancies = []
    for kind, posts in (("enterprise", 8), ("convenience_service", 6)):
        vacancies.append(
            api.call(
                "POST",
                f"{base}/vacancies",
                {
                    "employer_id": employer["id"],
                    "kind": kind,
                    "place_id": community.id,
                    "title": "社区服务岗" if kind == "convenience_service" else "物业维修工",
                    "required_skills": [rng.choice(skills)],
                    "hours": "full_time",
                    "hours_per_week": 40,
                    "wage_fen": rng.randint(2500, 4500) * 100,
                    "posts": posts,
                },
            )
        )
        tally.vacancies += 1
    candidates = [
        p
        for p in people
        if p["employment_status"] in ("laid_off", "unemployed") and 16 <= _age(p) < 60
    ]
    for number, person in enumerate(candidates[:SEEKERS_PER_COMMUNITY]):
        vacancy = vacancies[number % len(vacancies)]
        seeker = api.once_known(
            "POST",
            f"{base}/seekers",
            {
                "resident_id": person["id"],
                "skills": list(vacancy["required_skills"]),
                "education": rng.choice(
                    ("junior_middle", "senior_middle", "vocational", "college")
                ),
                "hours": ["full_time", "part_time"],
            },
        )
        tally.seekers += 1
        if number % 2:
            continue
        match = api.call(
            "POST", f"{base}/matches", {"vacancy_id": vacancy["id"], "seeker_id": seeker["id"]}
        )
        started = today - timedelta(days=rng.randint(30, 300))
        placement = api.call(
            "POST", f"{base}/matches/{match['id']}/accept", {"started_on": started.isoformat()}
        )
        tally.placements += 1
        due = started + timedelta(days=92)
        if due <= today:
            api.call(
                "POST",
                f"{base}/placements/{placement['id']}/retention-checks",
                {"months": 3, "passed": rng.random() < 0.9, "checked_on": due.isoformat()},
            )


def _eldercare(
    api: Api,
    urls: ServiceUrls,
    rng: random.Random,
    people: list[dict[str, Any]],
    centre_id: str,
    tally: ServiceTally,
    *,
    today: date,
) -> None:
    """Assessments of elders, day-care placements for the more dependent, and home-service
    orders with a visit checked in and out."""
    base = urls.eldercare
    elders = [p for p in people if _age(p) >= 60][:ELDERS_PER_COMMUNITY]
    for number, person in enumerate(elders):
        dependency = rng.random()
        barthel = {
            item: (top if rng.random() > dependency * 0.8 else 0)
            for item, top in BARTHEL_MAXIMA.items()
        }
        assessed_on = today - timedelta(days=rng.randint(0, 700))
        api.once_known(
            "POST",
            f"{base}/elders/{person['id']}/assessments",
            {"barthel": barthel, "assessed_on": assessed_on.isoformat()},
        )
        tally.assessments += 1
        if number % 3 == 0:
            api.call(
                "POST",
                f"{base}/placements",
                {"resident_id": person["id"], "kind": "day_care", "centre_id": centre_id},
            )
            tally.care_placements += 1
        elif number % 3 == 1:
            order = api.call(
                "POST", f"{base}/orders", {"resident_id": person["id"], "service": "meal_delivery"}
            )
            api.call(
                "POST",
                f"{base}/orders/{order['id']}/assign",
                {"assignee_kind": "carer", "assignee_id": f"carer-{number:03d}"},
            )
            now = datetime.now(UTC)
            visit = api.call(
                "POST",
                f"{base}/orders/{order['id']}/visits",
                {
                    "window_start": (now - timedelta(minutes=30)).isoformat(),
                    "window_end": (now + timedelta(hours=2)).isoformat(),
                },
            )
            api.call("POST", f"{base}/visits/{visit['id']}/check-in")
            api.call("POST", f"{base}/visits/{visit['id']}/check-out")
            tally.visits += 1
