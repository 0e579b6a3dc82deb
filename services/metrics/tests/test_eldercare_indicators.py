"""Eldercare indicators from eldercare's events, applied in-process on SQLite: elders by care
level and placement, the waiting list, entitlements granted within 30 days, the missed-visit
rate and the subsidy paid this year."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import evaluation
from metrics.bootstrap import load_catalogue
from metrics.domain.measures import Catalogue
from metrics.settings import Settings
from metrics.testing import City, Harness, at_noon, envelope
from shared.contracts import eldercare as ec

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


def elder(resident: str, community: str, **extra: Any) -> dict[str, Any]:
    return {
        "resident_id": resident,
        "community_id": community,
        "path": CITY.path(community),
        "sex": "female",
        "birth_year": 1940,
        "age": 86,
        "disabled": False,
        "living_alone": False,
        "empty_nest": False,
        "enrolled_on": date(2026, 2, 1),
        **extra,
    }


def level(resident: str, community: str, care_level: int, on: date) -> ec.CareLevelChanged:
    return ec.CareLevelChanged(
        resident_id=resident,
        community_id=community,
        path=CITY.path(community),
        previous_level=None,
        care_level=care_level,
        assessment_id=f"a-{resident}-{care_level}",
        changed_on=on,
    )


def placement(pid: str, resident: str, kind: ec.PlacementKind) -> dict[str, Any]:
    return {
        "placement_id": pid,
        "resident_id": resident,
        "community_id": "c1",
        "path": CITY.path("c1"),
        "kind": kind,
        "centre_id": None if kind == "home" else "centre-1",
    }


async def test_elders_by_care_level_follow_assessments_moves_and_death(harness: Harness) -> None:
    enrolled = [ec.ElderEnrolled(**elder(f"e{n}", "c1" if n < 3 else "c3")) for n in range(4)]
    await harness.send(*enrolled, at=at_noon(date(2026, 2, 1)))
    await harness.send(
        level("e0", "c1", 3, date(2026, 3, 1)),
        level("e1", "c1", 2, date(2026, 3, 1)),
        level("e3", "c3", 0, date(2026, 3, 1)),
        at=at_noon(date(2026, 3, 1)),
    )
    assert await value(harness, "elders", "140500") == 4.0
    assert await value(harness, "elders_severe", "140502") == 1.0
    assert await value(harness, "elders_moderate", "140500") == 1.0
    assert await value(harness, "elders_capable", "140525") == 1.0
    assert await value(harness, "elders_severe", "140502", date(2026, 2, 15)) == 0.0
    # A move keeps the care level; a death removes the elder from the day of death.
    moved = ec.ElderUpdated(**elder("e0", "c2", living_alone=True), changed=["community_id"])
    await harness.send(moved, at=at_noon(date(2026, 4, 1)))
    assert await value(harness, "elders_severe", "c2") == 1.0
    assert await value(harness, "elders_severe", "c1") == 0.0
    died = ec.ElderDeceased(**elder("e1", "c1"), died_on=date(2026, 5, 1))
    await harness.send(died, at=at_noon(date(2026, 5, 2)))
    assert await value(harness, "elders_moderate", "140500") == 0.0
    assert await value(harness, "elders", "140500") == 3.0
    assert await value(harness, "elders_moderate", "140500", date(2026, 4, 30)) == 1.0


async def test_placements_and_the_waiting_list(harness: Harness) -> None:
    requested = date(2026, 6, 1)
    await harness.send(
        ec.PlacementRequested(
            **placement("p1", "e1", "day_care"), requested_on=requested, waiting_position=None
        ),
        ec.PlacementStarted(
            **placement("p1", "e1", "day_care"), started_on=requested, previous_placement_id=None
        ),
        ec.PlacementRequested(
            **placement("p2", "e2", "day_care"), requested_on=requested, waiting_position=1
        ),
        ec.PlacementStarted(
            **placement("p3", "e3", "home"), started_on=requested, previous_placement_id=None
        ),
        at=at_noon(requested),
    )
    assert await value(harness, "elders_in_day_care", "140502") == 1.0
    assert await value(harness, "elders_home_based_care", "140502") == 1.0
    assert await value(harness, "care_waiting_list", "140500") == 1.0
    ended = date(2026, 7, 1)
    await harness.send(
        ec.PlacementEnded(**placement("p1", "e1", "day_care"), ended_on=ended, reason="ended"),
        ec.PlacementStarted(
            **placement("p2", "e2", "day_care"), started_on=ended, previous_placement_id=None
        ),
        at=at_noon(ended),
    )
    assert await value(harness, "care_waiting_list", "140500") == 0.0
    assert await value(harness, "elders_in_day_care", "140502") == 1.0
    assert await value(harness, "care_waiting_list", "140500", date(2026, 6, 15)) == 1.0


async def test_entitlements_visits_and_subsidies(harness: Harness) -> None:
    def granted(eid: str, due: date, on: date) -> ec.EntitlementGranted:
        return ec.EntitlementGranted(
            entitlement_id=eid,
            resident_id=f"r-{eid}",
            community_id="c3",
            path=CITY.path("c3"),
            kind="preferential_card",
            age=65,
            due_on=due,
            granted_on=on,
            monthly_amount_fen=None,
        )

    await harness.send(
        granted("g1", date(2026, 1, 1), date(2026, 1, 20)),
        granted("g2", date(2026, 1, 1), date(2026, 3, 2)),
        granted("g3", date(2026, 1, 1), date(2026, 1, 31)),
        granted("g4", date(2026, 1, 1), date(2026, 2, 1)),
    )
    assert await value(harness, "entitlements_granted_within_30_days", "140525") == 50.0

    window = {
        "order_id": "o1",
        "resident_id": "r1",
        "community_id": "c3",
        "path": CITY.path("c3"),
        "service": "bathing",
        "window_start": datetime(2026, 11, 3, 1, tzinfo=UTC),
        "window_end": datetime(2026, 11, 3, 3, tzinfo=UTC),
    }
    on_time = datetime(2026, 11, 3, 2, tzinfo=UTC)
    late = datetime(2026, 11, 3, 5, tzinfo=UTC)
    missed = ec.VisitMissed(**window, visit_id="v2", detected_at=late)
    await harness.send(
        ec.VisitCompleted(**window, visit_id="v1", checked_in_at=on_time, checked_out_at=late),
        missed,
        ec.VisitCompleted(**window, visit_id="v3", checked_in_at=on_time, checked_out_at=late),
        ec.VisitCompleted(**window, visit_id="v4", checked_in_at=on_time, checked_out_at=late),
        at=at_noon(date(2026, 11, 3)),
    )
    # v2 is checked in late afterwards: still one visit, still missed.
    late_completion = ec.VisitCompleted(
        **window, visit_id="v2", checked_in_at=late, checked_out_at=late
    )
    await harness.send(envelope(late_completion, at=at_noon(date(2026, 11, 4))))
    assert await value(harness, "missed_visit_rate", "140525") == 25.0

    def paid(pid: str, month: date, on: date) -> ec.SubsidyPaid:
        return ec.SubsidyPaid(
            payment_id=pid,
            resident_id="r9",
            community_id="c3",
            path=CITY.path("c3"),
            kind="longevity_subsidy",
            entitlement_id="g9",
            month=month,
            amount_fen=12_345,
            paid_on=on,
        )

    await harness.send(
        paid("pay-2025", date(2025, 12, 1), date(2025, 12, 1)),
        paid("pay-jan", date(2026, 1, 1), date(2026, 1, 1)),
        paid("pay-feb", date(2026, 2, 1), date(2026, 2, 1)),
    )
    assert await value(harness, "subsidy_paid_this_year", "140500") == pytest.approx(246.9)
