"""Casework indicators from casework's events, applied in-process on SQLite: cases closed
within their time limit, satisfaction (average and share rated 4–5), agency cases and overdue
cases by department; a redelivered event counts once, a reopened case closing again is a new
fact."""

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
from shared.contracts import casework as cw

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


def case(case_id: str, community: str, version: int, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "visit_id": f"v-{case_id}",
        "matter_code": "subsistence_allowance",
        "department": "civil_affairs",
        "community_id": community,
        "path": CITY.path(community),
        "state": "closed",
        "version": version,
        **extra,
    }


async def send(h: Harness, payload: EventPayload, day: date) -> None:
    assert isinstance(payload, cw.CaseEvent)
    await h.send(envelope(payload, aggregate_id=payload.case_id, at=at_noon(day)))


def closed(case_id: str, community: str, on: date, within: bool, version: int = 9) -> cw.CaseClosed:
    return cw.CaseClosed(
        **case(case_id, community, version),
        closed_on=on,
        within_time_limit=within,
        working_days_used=12,
        time_limit_days=20,
        delegated=False,
        reopened=version > 9,
    )


async def test_cases_closed_on_time_and_a_reopened_case_closing_again(harness: Harness) -> None:
    assert await value(harness, "cases_closed_on_time", "140500") is None  # nothing closed yet
    await send(harness, closed("k1", "c1", date(2026, 3, 2), True), date(2026, 3, 2))
    await send(harness, closed("k2", "c1", date(2026, 3, 3), True), date(2026, 3, 3))
    await send(harness, closed("k3", "c3", date(2026, 3, 4), False), date(2026, 3, 4))
    event = envelope(closed("k4", "c2", date(2025, 12, 30), False), aggregate_id="k4")
    await harness.send(event, event)  # last year, and delivered twice
    assert await value(harness, "cases_closed", "140500") == 3.0
    assert await value(harness, "cases_closed_on_time", "140502") == 100.0
    assert await value(harness, "cases_closed_on_time", "140500") == pytest.approx(200 / 3)
    # k1 reopened and closed late: a second fact
    await send(harness, closed("k1", "c1", date(2026, 5, 4), False, 14), date(2026, 5, 4))
    assert await value(harness, "cases_closed", "140500") == 4.0
    assert await value(harness, "cases_closed_on_time", "140500") == 50.0
    assert await value(
        harness, "cases_closed_on_time", "140500", date(2026, 3, 31)
    ) == pytest.approx(200 / 3)


async def test_satisfaction_agency_and_overdue_by_department(harness: Harness) -> None:
    for n, rating in enumerate([5, 4, 2, 5]):
        rated = cw.CaseRated(**case(f"r{n}", "c1" if n < 2 else "c3", 10), rating=rating)
        await send(harness, rated, date(2026, 4, 1))
    assert await value(harness, "satisfaction_average", "140500") == 4.0
    assert await value(harness, "satisfied_share", "140500") == 75.0
    assert await value(harness, "satisfied_share", "140502") == 100.0

    delegated = cw.CaseDelegated(**{**case("d1", "c2", 3), "state": "delegated"}, agent_id="w-1")
    await send(harness, delegated, date(2026, 6, 1))
    assert await value(harness, "agency_cases", "140500") == 1.0

    def overdue(case_id: str, department: cw.Department) -> cw.CaseOverdue:
        facts = {**case(case_id, "c3", 6), "state": "forwarded", "department": department}
        return cw.CaseOverdue(**facts, due_on=date(2026, 6, 30), days_overdue=1)

    await send(harness, overdue("o1", "civil_affairs"), date(2026, 7, 1))
    await send(harness, overdue("o2", "civil_affairs"), date(2026, 7, 2))
    await send(harness, overdue("o3", "public_security"), date(2026, 7, 2))
    assert await value(harness, "cases_overdue", "140525") == 3.0
    assert await value(harness, "cases_overdue_civil_affairs", "140500") == 2.0
    assert await value(harness, "cases_overdue_public_security", "140500") == 1.0
    assert await value(harness, "cases_overdue_justice", "140500") == 0.0
