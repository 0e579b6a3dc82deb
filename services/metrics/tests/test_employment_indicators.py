"""Employment indicators from the employment service's events, applied in-process on SQLite:
re-employed this year (the real figure: 3-month retention checks passed), the re-employment
rate of laid-off job seekers, placements of priority groups and on public-welfare posts, the
micro-loan default rate; a redelivered event counts once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import evaluation
from metrics.bootstrap import load_catalogue
from metrics.domain.measures import Catalogue
from metrics.settings import Settings
from metrics.testing import City, Harness, at_noon, envelope
from shared.contracts import EventPayload
from shared.contracts import employment as jobs

TODAY = date(2026, 11, 22)
CITY = City("140500", {"140502": ["c1", "c2"], "140525": ["c3"]})
CATALOGUE: Catalogue = load_catalogue(Settings())


@pytest.fixture
async def harness(sqlite_url: str) -> AsyncIterator[Harness]:
    h = await Harness(sqlite_url, CATALOGUE, today=TODAY).start()
    await h.send(*CITY.area_events(), at=at_noon(date(2026, 1, 5)))
    yield h
    await h.close()


async def value(h: Harness, indicator: str, area: str, day: date = TODAY) -> float | None:
    async def run(session: AsyncSession) -> float | None:
        found = await evaluation.evaluate(
            session, indicators=[CATALOGUE.indicators[indicator]], area_ids=[area], day=day
        )
        return found[(indicator, area)].value

    result: float | None = await h.run(run)
    return result


async def send(h: Harness, payload: EventPayload, key: str, day: date) -> None:
    await h.send(envelope(payload, aggregate_id=key, at=at_noon(day)))


def registered(seeker: str, community: str, groups: list[str], on: date) -> jobs.SeekerRegistered:
    return jobs.SeekerRegistered(
        seeker_id=seeker,
        resident_id=f"r-{seeker}",
        community_id=community,
        path=CITY.path(community),
        priority_groups=groups,  # type: ignore[arg-type]
        skills=["catering.cook"],
        status="seeking",
        version=1,
        registered_on=on,
    )


def placement(
    placement_id: str, seeker: str, community: str, groups: list[str], kind: str
) -> dict[str, Any]:
    return {
        "placement_id": placement_id,
        "seeker_id": seeker,
        "vacancy_id": f"v-{placement_id}",
        "employer_id": "e-1",
        "vacancy_kind": kind,
        "community_id": community,
        "path": CITY.path(community),
        "priority_groups": groups,
        "started_on": date(2026, 3, 2),
    }


def loan(loan_id: str, community: str) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "seeker_id": f"s-{loan_id}",
        "community_id": community,
        "path": CITY.path(community),
        "amount_fen": 3_000_000,
        "term_months": 24,
    }


async def test_reemployment_placements_and_the_laid_off_rate(harness: Harness) -> None:
    day = date(2026, 3, 1)
    await send(harness, registered("s1", "c1", ["age_4050", "laid_off"], day), "s1", day)
    await send(harness, registered("s2", "c1", ["laid_off"], day), "s2", day)
    await send(harness, registered("s3", "c3", [], day), "s3", day)
    assert await value(harness, "laid_off_reemployment_rate", "140500") == 0.0
    assert await value(harness, "reemployed_this_year", "140500") == 0.0

    made = jobs.PlacementMade(
        **placement("p1", "s1", "c1", ["age_4050", "laid_off"], "public_welfare"), ends_on=None
    )
    other = jobs.PlacementMade(**placement("p2", "s3", "c3", [], "enterprise"), ends_on=None)
    await send(harness, made, "p1", date(2026, 3, 2))
    await send(harness, other, "p2", date(2026, 3, 2))
    assert await value(harness, "priority_group_placements", "140500") == 1.0
    assert await value(harness, "public_welfare_placements", "140502") == 1.0
    assert await value(harness, "public_welfare_placements", "140525") == 0.0

    again = jobs.Reemployed(
        **placement("p1", "s1", "c1", ["age_4050", "laid_off"], "public_welfare"),
        reemployed_on=date(2026, 6, 2),
    )
    event = envelope(again, aggregate_id="p1", at=at_noon(date(2026, 6, 2)))
    assert await harness.send(event, event) == 1  # a redelivery counts once
    assert await value(harness, "reemployed_this_year", "140500") == 1.0
    assert await value(harness, "reemployed_this_year", "140500", date(2026, 6, 1)) == 0.0
    assert await value(harness, "laid_off_reemployment_rate", "140502") == 50.0
    assert await value(harness, "laid_off_reemployment_rate", "140500") == 50.0


async def test_loan_default_rate(harness: Harness) -> None:
    assert await value(harness, "loan_default_rate", "140500") is None  # no loan yet
    for number, community in enumerate(["c1", "c1", "c2", "c3"]):
        paid = jobs.LoanDisbursed(
            **loan(f"l{number}", community),
            disbursed_on=date(2026, 2, 1),
            schedule=[jobs.Instalment(number=1, due_on=date(2026, 3, 1), amount_fen=3_000_000)],
        )
        await send(harness, paid, f"l{number}", date(2026, 2, 1))
    defaulted = jobs.LoanDefaulted(
        **loan("l0", "c1"), outstanding_fen=3_000_000, defaulted_on=date(2026, 5, 30)
    )
    await send(harness, defaulted, "l0", date(2026, 5, 30))
    assert await value(harness, "loan_default_rate", "140500") == 25.0
    assert await value(harness, "loan_default_rate", "140502") == pytest.approx(100 / 3)
    assert await value(harness, "loan_default_rate", "140525") == 0.0
