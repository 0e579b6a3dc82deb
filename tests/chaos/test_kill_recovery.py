"""Kill -9 trials: a role of a service (API, relay, consumer), a whole service, or the
PostgreSQL server of all of them is killed at a random moment while a generator writes through
the APIs of the five services, then restarted; every acknowledged write must show up exactly
once.

Each trial writes, each with an ``Idempotency-Key`` retried until acknowledged (as a client
does when its connection breaks): three residents in the registry (one aged 60 or more, one
laid off, one employed), an employer in employment, a visit in casework (a case for the laid-off
resident of the trial before), a target in metrics and an assessment in eldercare (of the elder
of the trial before). Meanwhile one target, drawn at random,
is killed with SIGKILL at a random moment and restarted after a random pause. Then, within a
deadline, the trial holds when:

- every acknowledged write's event is on its topic (read by a raw consumer) under exactly one
  event id: ``resident.registered`` per resident, ``employer.registered``, ``case.submitted``,
  ``target.created``, ``assessment.completed``, and eldercare's ``elder.enrolled`` per
  resident of 60 or more (published by eldercare's consumer, so a consumer applying an event
  twice would publish it twice);
- every consumer's effect is there exactly once: casework's resident facts, employment's
  registry facts, eldercare's roster and metrics' entity projection each hold every resident
  at version 1, and metrics' ``residents`` indicator of the community equals the number of
  residents acknowledged so far (an event applied twice would count twice).

A missing event or effect is *lost*; a second event id for one write, or a count above the
acknowledged writes, is *doubled*. The same event id read twice from a topic (the relay died
between sending and marking) is allowed (delivery is at least once, consumers de-duplicate) and
counted as *redelivered*. ``make test`` runs ``SHEQU_CHAOS_TRIALS`` (default 3) trials;
``make chaos`` runs 200 and prints the tally.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from eldercare.domain.assessment import BARTHEL_ITEMS
from registry.domain.national_id import check_character
from shared.auth import ALL_SCOPES, mint_token
from shared.contracts import CONTRACTS, casework, eldercare, employment, metrics, registry
from shared.settings import ServiceSettings
from shared.testing.chaos import POSTGRES_CRASH, ChaosPlatform, TopicLog, chaos_platform

pytestmark = pytest.mark.e2e

TRIALS = int(os.environ.get("SHEQU_CHAOS_TRIALS", "3"))
SEED = int(os.environ.get("SHEQU_CHAOS_SEED", str(random.randrange(1 << 30))))
REPORT = os.environ.get("SHEQU_CHAOS_REPORT", "")
ONLY = {target for target in os.environ.get("SHEQU_CHAOS_TARGETS", "").split(",") if target}
"""Draw kill targets among these only (``casework/consumer,postgres/crash``); default all."""
WRITE_WINDOW_S = 2.0
"""Writes start at random moments within this window; the kill falls within it too."""
SETTLE_TIMEOUT_S = 120.0
"""How long a trial waits for every event and effect (a killed consumer's group must rebalance)."""
ACK_TIMEOUT_S = 90.0

RESIDENT_REGISTERED = CONTRACTS.for_payload(registry.ResidentRegistered)
ELDER_ENROLLED = CONTRACTS.for_payload(eldercare.ElderEnrolled)
EMPLOYER_REGISTERED = CONTRACTS.for_payload(employment.EmployerRegistered)
CASE_SUBMITTED = CONTRACTS.for_payload(casework.CaseSubmitted)
TARGET_CREATED = CONTRACTS.for_payload(metrics.TargetCreated)
ASSESSMENT_COMPLETED = CONTRACTS.for_payload(eldercare.AssessmentCompleted)
CHECKED = (
    RESIDENT_REGISTERED,
    ELDER_ENROLLED,
    EMPLOYER_REGISTERED,
    CASE_SUBMITTED,
    TARGET_CREATED,
    ASSESSMENT_COMPLETED,
)

CARD = {
    "matter_code": "reemployment_concession_card",
    "documents": ["id_card", "household_register", "unemployment_registration_card", "photo"],
}

FACT_QUERIES = {
    "casework": "SELECT resident_id, version FROM resident_fact WHERE resident_id = ANY($1)",
    "employment": "SELECT id, version FROM resident WHERE id = ANY($1)",
    "eldercare": "SELECT resident_id, registry_version FROM elders WHERE resident_id = ANY($1)",
    "metrics": "SELECT entity_id, version FROM entity_projection "
    "WHERE entity_type = 'resident' AND entity_id = ANY($1)",
}
"""Each consumer's effect of a resident's registration: its row and the version it holds."""


STARTED = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr (shown with ``pytest -s``, as ``make chaos`` runs it)."""
    print(f"[chaos {time.monotonic() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


class NotAcknowledged(Exception):
    """A write was refused for a reason a retry cannot cure (a fault of the generator)."""


def token() -> dict[str, str]:
    settings = ServiceSettings(service_name="chaos", environment="development")
    bearer = mint_token(settings, subject="chaos", scopes=ALL_SCOPES, ttl_s=6 * 3600)
    return {"Authorization": f"Bearer {bearer}"}


UNCLEAN: list[str] = []
"""Server errors other than a clean 503 problem+json met while writing (must stay empty)."""


def clean_unavailable(response: httpx.Response) -> bool:
    """A 503 problem+json without internals: how a service refuses while its database is away."""
    return (
        response.status_code == 503
        and response.headers.get("content-type", "").startswith("application/problem+json")
        and "Traceback" not in response.text
        and "asyncpg" not in response.text
    )


async def acknowledged(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """POST until acknowledged (2xx), with one ``Idempotency-Key`` for every attempt."""
    key = {"Idempotency-Key": uuid.uuid4().hex}
    deadline = time.monotonic() + ACK_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = await client.post(url, json=body, headers={**headers, **key}, timeout=10)
        except httpx.TransportError as exc:  # the API was killed: retry
            last = repr(exc)
        else:
            if response.is_success:
                answer: dict[str, Any] = response.json()
                return answer
            # 409: the first attempt's transaction still holds the key; 429: too fast;
            # 503: the database is away (a refusal must be clean: anything else is counted)
            if response.status_code not in (409, 429) and response.status_code < 500:
                raise NotAcknowledged(f"POST {url}: {response.status_code} {response.text}")
            if response.status_code >= 500 and not clean_unavailable(response):
                UNCLEAN.append(f"POST {url}: {response.status_code} {response.text[:200]}")
            last = f"{response.status_code} {response.text[:200]}"
        await asyncio.sleep(0.2)
    raise NotAcknowledged(f"POST {url} not acknowledged in {ACK_TIMEOUT_S} s: {last}")


def national_id(born: date, number: int) -> str:
    """A valid id number for someone born on ``born``; ``number`` odd: male."""
    first_17 = f"110105{born:%Y%m%d}{number % 1000:03d}"
    return first_17 + check_character(first_17)


@dataclass
class Expectations:
    """What the acknowledged writes so far must have caused."""

    residents: list[str] = field(default_factory=list)
    elders: list[str] = field(default_factory=list)
    employers: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    assessments: list[str] = field(default_factory=list)


@dataclass
class Tally:
    """Outcome of the trials."""

    trials: int = 0
    held: int = 0
    lost: int = 0
    doubled: int = 0
    redelivered: int = 0
    acknowledged_writes: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    settle_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    last_kill: str = ""

    def summary(self) -> dict[str, Any]:
        settle = sorted(self.settle_seconds) or [0.0]
        return {
            "seed": SEED,
            "trials": self.trials,
            "held": self.held,
            "lost_effects": self.lost,
            "doubled_effects": self.doubled,
            "redelivered_records": self.redelivered,
            "unclean_server_errors": len(UNCLEAN),
            "acknowledged_writes": self.acknowledged_writes,
            "kills": dict(sorted(self.kills.items())),
            "settle_seconds_median": round(settle[len(settle) // 2], 1),
            "settle_seconds_max": round(settle[-1], 1),
            "failures": self.failures[:20],
        }


class World:
    """The platform, the area tree and household the writes use, and the checks."""

    def __init__(self, platform: ChaosPlatform, topics: TopicLog, rng: random.Random) -> None:
        self.platform = platform
        self.topics = topics
        self.rng = rng
        self.client = platform.client
        self.headers = token()
        self.prefix = f"ch{rng.randrange(10**6):06d}"
        self.community = f"{self.prefix}m"
        self.household = ""
        self.people = 0
        self.expected = Expectations()
        self.next_applicant = ""
        self.databases: dict[str, asyncpg.Connection] = {}

    def url(self, service: str, path: str) -> str:
        return f"{self.platform.api(service)}{path}"

    async def set_up(self) -> None:
        """Areas and a household in the registry; wait until employment and casework know
        them; one laid-off resident for the first trial's visit."""
        for service in FACT_QUERIES:
            self.databases[service] = await asyncpg.connect(self.platform.database_dsn(service))
        for area_id, level, parent in [
            (self.prefix, "city", None),
            (f"{self.prefix}d", "district", self.prefix),
            (f"{self.prefix}s", "street", f"{self.prefix}d"),
            (self.community, "community", f"{self.prefix}s"),
        ]:
            await acknowledged(
                self.client,
                self.url("registry", "/areas"),
                {
                    "id": area_id,
                    "level": level,
                    "name": area_id,
                    "parent_id": parent,
                    "valid_from": "2005-01-01",
                },
                self.headers,
            )
        household = await acknowledged(
            self.client,
            self.url("registry", "/households"),
            {"community_id": self.community, "address": "1 Dongjie", "registered_on": "2020-05-01"},
            self.headers,
        )
        self.household = household["id"]
        say("areas and household written")
        self.next_applicant = await self.register("laid_off", 45)
        await self.register("retired", 70)  # assessed in the first trial
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not await self._known_everywhere(self.expected.residents):
            assert time.monotonic() < deadline, "the first resident never reached the consumers"
            await asyncio.sleep(0.5)
        say("the first resident reached every consumer")
        while True:  # employment learns the community from the registry's area events
            try:
                await self.register_employer()
                break
            except NotAcknowledged:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while await self.metrics_residents() != len(self.expected.residents):
            assert time.monotonic() < deadline, "metrics never counted the first resident"
            await asyncio.sleep(0.5)
        say("set up")

    async def fetch(self, service: str, query: str, residents: list[str]) -> list[Any]:
        """Rows of ``query`` in ``service``'s database, reconnecting after a crash of the
        server (no rows while it is still down: the trial waits)."""
        failures = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
        try:
            return list(await self.databases[service].fetch(query, residents))
        except failures:
            with contextlib.suppress(Exception):
                await self.databases[service].close(timeout=1)
        try:
            self.databases[service] = await asyncpg.connect(self.platform.database_dsn(service))
            return list(await self.databases[service].fetch(query, residents))
        except failures:
            return []

    async def tear_down(self) -> None:
        for connection in self.databases.values():
            await connection.close()

    # -- writes --------------------------------------------------------------------------

    async def register(self, employment_status: str, age: int) -> str:
        self.people += 1
        born = date(date.today().year - age, 1, 1) + timedelta(days=self.people // 1000)
        body = {
            "national_id": national_id(born, self.people),
            "name": "Chaos Tester",
            "sex": "male" if self.people % 2 else "female",
            "birth_date": born.isoformat(),
            "household_id": self.household,
            "employment_status": employment_status,
        }
        resident = await acknowledged(
            self.client, self.url("registry", "/residents"), body, self.headers
        )
        self.expected.residents.append(resident["id"])
        if age >= 60:
            self.expected.elders.append(resident["id"])
        return str(resident["id"])

    async def register_employer(self) -> None:
        employer = await acknowledged(
            self.client,
            self.url("employment", "/employers"),
            {"name": "Chaos Works", "kind": "enterprise", "community_id": self.community},
            self.headers,
        )
        self.expected.employers.append(employer["id"])

    async def submit_case(self, applicant: str) -> None:
        visit = await acknowledged(
            self.client,
            self.url("casework", "/visits"),
            {"resident_id": applicant, "matters": [CARD]},
            self.headers,
        )
        self.expected.cases.extend(case["id"] for case in visit["cases"])

    async def set_target(self) -> None:
        target_id = f"chaos-{uuid.uuid4().hex[:12]}"
        await acknowledged(
            self.client,
            self.url("metrics", "/targets"),
            {
                "id": target_id,
                "name": "chaos",
                "indicator_id": "residents",
                "scope_area_id": self.prefix,
                "target_value": 1,
                "baseline_date": "2025-01-01",
                "deadline": "2030-12-31",
                "source_plan": "chaos trial",
            },
            self.headers,
        )
        self.expected.targets.append(target_id)

    async def assess(self, elder: str) -> None:
        assessment = await acknowledged(
            self.client,
            self.url("eldercare", f"/elders/{elder}/assessments"),
            {"barthel": {item: max(scores) for item, scores in BARTHEL_ITEMS.items()}},
            self.headers,
        )
        self.expected.assessments.append(assessment["id"])

    async def writes(self) -> None:
        """One trial's writes, each starting at a random moment of the window; the laid-off
        resident registered now applies at casework in the next trial."""
        applicant = self.next_applicant
        elder = self.expected.elders[-1]  # on the roster since the last trial held

        async def later(write: Awaitable[Any]) -> Any:
            await asyncio.sleep(self.rng.uniform(0, WRITE_WINDOW_S))
            return await write

        _, laid_off, *_ = await asyncio.gather(
            later(self.register("retired", self.rng.randint(60, 90))),
            later(self.register("laid_off", 45)),
            later(self.register("employed", 30)),
            later(self.register_employer()),
            later(self.submit_case(applicant)),
            later(self.set_target()),
            later(self.assess(elder)),
        )
        self.next_applicant = laid_off

    # -- checks --------------------------------------------------------------------------

    async def metrics_residents(self) -> float | None:
        try:
            response = await self.client.get(
                self.url("metrics", "/indicators/residents/values"),
                params={"area": self.community},
                headers=self.headers,
                timeout=5,
            )
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        value: float | None = response.json()[0]["value"]
        return value

    async def _known_everywhere(self, residents: list[str]) -> bool:
        for service, query in FACT_QUERIES.items():
            rows = await self.fetch(service, query, residents)
            if len(rows) < len(residents):
                return False
        return True

    async def verdict(self, since: Expectations) -> tuple[int, int, list[str]]:
        """Lost and doubled effects of the writes after ``since`` (and the counts so far)."""
        lost: list[str] = []
        doubled: list[str] = []
        new = Expectations(
            *(
                getattr(self.expected, name)[len(getattr(since, name)) :]
                for name in ("residents", "elders", "employers", "cases", "targets", "assessments")
            )
        )
        for contract, keys in [
            (RESIDENT_REGISTERED, new.residents),
            (ELDER_ENROLLED, new.elders),
            (EMPLOYER_REGISTERED, new.employers),
            (CASE_SUBMITTED, new.cases),
            (TARGET_CREATED, new.targets),
            (ASSESSMENT_COMPLETED, new.assessments),
        ]:
            for key in keys:
                ids = set(self.topics.event_ids(contract.topic, contract.type, key))
                if not ids:
                    lost.append(f"no {contract.type} for {key}")
                elif len(ids) > 1:
                    doubled.append(f"{len(ids)} {contract.type} event ids for {key}")
        for service, query in FACT_QUERIES.items():
            rows = dict(await self.fetch(service, query, new.residents))
            for resident in new.residents:
                if resident not in rows:
                    lost.append(f"{service} has no facts of {resident}")
                elif rows[resident] != 1:
                    doubled.append(f"{service} holds {resident} at version {rows[resident]}")
        counted = await self.metrics_residents()
        expected = len(self.expected.residents)
        if counted is None or counted < expected:
            lost.append(f"metrics counts {counted} residents, {expected} acknowledged")
        elif counted > expected:
            doubled.append(f"metrics counts {counted} residents, {expected} acknowledged")
        return len(lost), len(doubled), lost + doubled


def snapshot(expected: Expectations) -> Expectations:
    return Expectations(
        list(expected.residents),
        list(expected.elders),
        list(expected.employers),
        list(expected.cases),
        list(expected.targets),
        list(expected.assessments),
    )


WRITES_PER_TRIAL = 7


async def fault(platform: ChaosPlatform, rng: random.Random, tally: Tally) -> None:
    """Kill a random target at a random moment of the write window, restart it after a pause."""
    targets = [t for t in platform.targets() if not ONLY or "/".join(t) in ONLY]
    service, role = rng.choice(targets)
    await asyncio.sleep(rng.uniform(0, WRITE_WINDOW_S))
    tally.kills[f"{service}/{role}"] += 1
    tally.last_kill = f"{service}/{role}"
    if (service, role) == POSTGRES_CRASH:
        say("  crashing PostgreSQL")
        await platform.crash_postgres()
        say("  PostgreSQL back")
        return
    victims = platform.kill(service, role)
    say(f"  killed {service}/{role}")
    await asyncio.sleep(rng.uniform(0, 1.0))
    await platform.restart(victims)
    say(f"  {service}/{role} restarted and ready")


async def trial(world: World, tally: Tally) -> None:
    """Writes with a kill among them; then wait for every event and effect, or the deadline."""
    before = snapshot(world.expected)
    await asyncio.gather(world.writes(), fault(world.platform, world.rng, tally))
    say("  writes acknowledged")
    tally.acknowledged_writes += WRITES_PER_TRIAL
    started = time.monotonic()
    said = started
    while True:
        lost, doubled, problems = await world.verdict(before)
        if (lost == 0 and doubled == 0) or time.monotonic() - started > SETTLE_TIMEOUT_S:
            break
        if time.monotonic() - said > 15:
            said = time.monotonic()
            say(f"  waiting for: {'; '.join(problems[:4])}")
        await asyncio.sleep(0.5)
    if doubled == 0:  # a double may only show later: look again once everything arrived
        await asyncio.sleep(1.0)
        lost, doubled, problems = await world.verdict(before)
    tally.trials += 1
    tally.settle_seconds.append(time.monotonic() - started)
    tally.lost += lost
    tally.doubled += doubled
    say(
        f"trial {tally.trials}: killed {tally.last_kill}, settled in "
        f"{tally.settle_seconds[-1]:.1f} s, lost {lost}, doubled {doubled}"
    )
    if lost == 0 and doubled == 0:
        tally.held += 1
    else:
        tally.failures.append(f"trial {tally.trials}: " + "; ".join(problems[:5]))
        say(f"  {tally.failures[-1]}")


def write_report(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


@pytest.mark.timeout(600 + TRIALS * 240)
async def test_killed_relays_consumers_and_services_lose_and_double_nothing() -> None:
    rng = random.Random(SEED)
    tally = Tally()
    logs = Path(os.environ.get("SHEQU_CHAOS_LOGS") or tempfile.mkdtemp(prefix="shequ-chaos-"))
    say(f"starting the platform (seed {SEED}, {TRIALS} trials, logs in {logs})")
    async with chaos_platform(logs) as platform:
        say("platform ready")
        topics = sorted({contract.topic for contract in CHECKED})
        async with TopicLog(platform.broker.bootstrap_servers, topics) as topic_log:
            world = World(platform, topic_log, rng)
            try:
                await world.set_up()
                for _ in range(TRIALS):
                    await trial(world, tally)
                    if REPORT:  # after every trial, so a long run can be followed
                        text = json.dumps(tally.summary(), indent=2, ensure_ascii=False)
                        await asyncio.to_thread(write_report, Path(REPORT), text)
            finally:
                await world.tear_down()
            ids = Counter(record.event_id for record in topic_log.records)
            tally.redelivered = sum(count - 1 for count in ids.values())
    summary = tally.summary()
    summary["logs"] = str(logs)
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    print(f"\nchaos (kill -9): {text}")
    if REPORT:
        await asyncio.to_thread(write_report, Path(REPORT), text)
    assert tally.trials == TRIALS
    assert (tally.lost, tally.doubled) == (0, 0), text
    assert not UNCLEAN, UNCLEAN[:5]
    assert tally.held == TRIALS, text
