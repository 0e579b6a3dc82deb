"""Age conditions on exact ages (DR-6): the registry's events carry the age on their date and
an age milestone on the birthdays the catalogue uses, so a 70+ matter opens on the 70th
birthday (not on 1 January of that year) and an "up to 60" one closes on the 61st."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from casework.catalogue_service import shipped_catalogue
from casework.consumers import apply
from casework.domain.eligibility import ResidentFacts, unmet_conditions
from casework.settings import Settings
from shared.ages import KnownAge
from shared.contracts import CONTRACTS
from shared.contracts.registry import ResidentAgeReached
from shared.db import create_engine, session_factory

PATH = ["c1", "d1", "s1", "m1"]
MATTERS = shipped_catalogue().by_code()
Remember = Callable[..., Awaitable[None]]
BIRTHDAY = date(2026, 7, 1)


def resident(known: KnownAge | None, **changes: object) -> ResidentFacts:
    facts: dict[str, object] = {
        "resident_id": "r-1",
        "community_id": "m1",
        "path": ("c1", "d1", "s1", "m1"),
        "birth_year": 1956,
        "registration": "registered",
        "employment_status": "retired",
        "disabled": False,
        "flags": (),
        "known_age": known,
    }
    facts.update(changes)
    return ResidentFacts(**facts)  # type: ignore[arg-type]


@pytest.mark.unit
def test_a_70_plus_matter_opens_on_the_70th_birthday() -> None:
    certificate = MATTERS["longevity_certificate"]
    registered = resident(KnownAge(66, date(2023, 3, 1), exact=False))
    # the calendar year says 70 since 1 January; the registry's ages say 69 until 1 July
    assert unmet_conditions(certificate, registered, BIRTHDAY - timedelta(days=1)) == [
        "longevity_certificate needs age 70 or more; the resident is 69"
    ]
    reached = resident(KnownAge(70, BIRTHDAY, exact=True))
    assert unmet_conditions(certificate, reached, BIRTHDAY) == []


@pytest.mark.unit
def test_an_up_to_60_matter_closes_on_the_61st_birthday() -> None:
    registration = MATTERS["unemployment_registration"]
    assert registration.conditions.max_age == 60
    sixty = resident(KnownAge(60, BIRTHDAY, exact=True), employment_status="laid_off")
    assert unmet_conditions(registration, sixty, BIRTHDAY + timedelta(days=364)) == []
    sixty_one = resident(
        KnownAge(61, BIRTHDAY + timedelta(days=365), exact=True), employment_status="laid_off"
    )
    assert unmet_conditions(registration, sixty_one, BIRTHDAY + timedelta(days=365)) == [
        "unemployment_registration needs age 60 or less; the resident is 61"
    ]


async def reach(settings: Settings, resident_id: str, age: int, on: date) -> None:
    """Apply a registry age milestone as the consumer does."""
    payload = ResidentAgeReached(
        resident_id=resident_id, community_id=PATH[-1], path=PATH, age=age, reached_on=on
    )
    event = CONTRACTS.new_event(payload, aggregate_id=resident_id)
    engine = create_engine(settings.resolved_database_url(), pooled=False)
    try:
        async with session_factory(engine)() as session, session.begin():
            await apply(session, event, payload)
    finally:
        await engine.dispose()


@pytest.mark.integration
@pytest.mark.publishes
async def test_the_milestone_event_opens_the_matter_whatever_the_order(
    client: httpx.AsyncClient, clerk: dict[str, str], remember: Remember, settings: Settings
) -> None:
    today = date.today()
    certificate = {"matter_code": "longevity_certificate", "documents": ["id_card"]}
    visit: dict[str, Any] = {"resident_id": "r-69", "matters": [certificate]}
    registered_on = today - timedelta(days=400)
    state: dict[str, Any] = {
        "birth_year": today.year - 70,
        "employment_status": "retired",
        "age": 68,
        "age_on": registered_on.isoformat(),
    }
    await remember("r-69", **state)
    refused = await client.post("/visits", json=visit, headers=clerk)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["message"] == (
        "longevity_certificate needs age 70 or more; the resident is 69"
    )

    await reach(settings, "r-69", 70, today)
    await reach(settings, "r-69", 70, today)  # a duplicate changes nothing
    await remember("r-69", **state)  # the older state again: the milestone stays
    accepted = await client.post("/visits", json=visit, headers=clerk)
    assert accepted.status_code == 201, accepted.text

    await reach(settings, "r-early", 70, today)  # before any state: held
    early = await client.post("/visits", json={**visit, "resident_id": "r-early"}, headers=clerk)
    assert early.status_code == 422  # not announced yet: unknown to casework
    assert early.json()["errors"][0]["field"] == "body.resident_id"
    await remember("r-early", **state)  # the registration arrives: the held milestone counts
    accepted = await client.post("/visits", json={**visit, "resident_id": "r-early"}, headers=clerk)
    assert accepted.status_code == 201, accepted.text
