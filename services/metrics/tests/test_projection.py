"""Projections, snapshots and target statuses from registry events, applied in-process on a
real database (SQLite): duplicates, out-of-order versions, late events and retirements must
not corrupt them, and any interleaving of aggregates gives the same state."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import evaluation, targets_service
from metrics.bootstrap import load_catalogue
from metrics.domain.measures import Catalogue, Indicator
from metrics.evaluation import Points
from metrics.replay import differences, snapshot
from metrics.settings import Settings
from metrics.testing import (
    City,
    Harness,
    at_noon,
    envelope,
    facility,
    office_rooms,
    resident,
    volunteer,
    worker,
)
from shared.auth import Principal
from shared.contracts.registry import (
    AreaRetired,
    ResidentUpdated,
    ServiceHoursLogged,
    WorkerLeft,
)
from shared.tables import OutboxRecord
from shared.unit_of_work import UnitOfWork

TODAY = date(2026, 11, 22)
JINCHENG = City(
    "140500",
    {"140502": ["c1", "c2", "c3", "c4", "c5"], "140525": ["c6", "c7"]},
    households={"c1": 1500, "c2": 1800},
)
CATALOGUE: Catalogue = load_catalogue(Settings())
ROOMS_TARGET = "jincheng-office-rooms-300"


@pytest.fixture
async def harness(sqlite_url: str) -> AsyncIterator[Harness]:
    h = await Harness(sqlite_url, CATALOGUE, today=TODAY).start()
    await h.send(*JINCHENG.area_events(), at=at_noon(date(2026, 1, 5)))
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


async def status_events(h: Harness) -> list[dict[str, object]]:
    async with h.sessions() as session:
        rows = await session.scalars(select(OutboxRecord).order_by(OutboxRecord.id))
        return [
            json.loads(r.payload)["data"]
            for r in rows
            if r.event_type.endswith("status_changed.v1")
        ]


async def test_facilities_lift_a_district_share_and_publish_the_status_change(
    harness: Harness,
) -> None:
    first = await harness.status(ROOMS_TARGET, "140502")
    assert first is not None
    assert (first.status, first.value) == ("missed", 0.0)
    assert await status_events(harness) == []  # first evaluations are silent

    for n, community in enumerate(["c1", "c2", "c3"], start=1):
        await harness.send(facility(JINCHENG, f"f{n}", community, rooms=office_rooms(320)))
    assert await value(harness, "office_service_rooms_300", "140502") == 60.0
    assert (await harness.status(ROOMS_TARGET, "140502")).status == "missed"  # type: ignore[union-attr]

    await harness.send(facility(JINCHENG, "f4", "c4", rooms=office_rooms(300)))  # exactly 300
    district = await harness.status(ROOMS_TARGET, "140502")
    assert district is not None
    assert (district.status, district.value, district.progress) == ("achieved", 80.0, 1.0)
    city = await harness.status(ROOMS_TARGET, "140500")
    assert city is not None
    assert (city.status, city.value) == ("missed", pytest.approx(57.142857))

    ours = [e for e in await status_events(harness) if e["target_id"] == ROOMS_TARGET]
    events = [e for e in ours if e["area_id"] == "140502"]
    assert len(events) == 1
    assert events[0]["previous_status"] == "missed"
    assert events[0]["status"] == "achieved"
    assert events[0]["value"] == 80.0
    assert events[0]["path"] == ["140500", "140502"]
    communities = {e["area_id"] for e in ours if e["area_level"] == "community"}
    assert communities == {"c1", "c2", "c3", "c4"}

    # the history: the share was 0 before the opening day and 80 after
    assert await value(harness, "office_service_rooms_300", "140502", date(2006, 2, 28)) == 0.0
    assert await value(harness, "office_service_rooms_300", "140502", date(2006, 3, 1)) == 80.0


async def test_a_repeated_event_is_applied_once(harness: Harness) -> None:
    event = envelope(facility(JINCHENG, "f1", "c1", kind="library", rooms={"library": 80}))
    assert await harness.send(event, event) == 1
    assert await value(harness, "libraries_opened", "140500") == 1.0


async def test_an_older_version_arriving_late_is_ignored(harness: Harness) -> None:
    v2 = facility(JINCHENG, "f1", "c1", rooms=office_rooms(200), version=2)
    v1 = facility(JINCHENG, "f1", "c1", rooms=office_rooms(400), version=1)
    await harness.send(v2, v1)
    assert await value(harness, "office_service_rooms_300", "c1") == 0.0  # 200 m², not 400
    v3 = facility(JINCHENG, "f1", "c1", rooms=office_rooms(310), version=3)
    await harness.send(v3, v2)
    assert await value(harness, "office_service_rooms_300", "c1") == 100.0


async def test_a_closed_facility_counts_until_the_day_before_closing_even_if_its_opening_is_lost(
    harness: Harness,
) -> None:
    closed = facility(
        JINCHENG,
        "f9",
        "c6",
        kind="library",
        rooms={"library": 50},
        version=3,
        closed_on=date(2007, 1, 1),
    )
    await harness.send(closed)  # versions 1 and 2 never arrive
    assert await value(harness, "libraries_opened", "140525", date(2006, 12, 31)) == 1.0
    assert await value(harness, "libraries_opened", "140525", date(2007, 1, 1)) == 0.0
    await harness.send(facility(JINCHENG, "f9", "c6", kind="library", rooms={"library": 50}))
    assert await value(harness, "libraries_opened", "140525", date(2006, 12, 31)) == 1.0


async def test_a_late_event_recomputes_the_later_history(harness: Harness) -> None:
    await harness.send(
        facility(JINCHENG, "f2", "c2", rooms=office_rooms(350), opened_on=date(2007, 5, 1))
    )
    await harness.send(
        facility(JINCHENG, "f1", "c1", rooms=office_rooms(350), opened_on=date(2006, 1, 1))
    )

    async def history(session: AsyncSession) -> list[tuple[date, float | None]]:
        found = await evaluation.history(
            session,
            indicator=CATALOGUE.indicators["office_service_rooms_300"],
            area_ids=["140502"],
            start=date(2005, 12, 31),
            end=date(2008, 1, 1),
        )
        return found["140502"]

    # the 2007 point counts the facility that opened earlier but arrived later
    assert await harness.run(history) == [
        (date(2005, 12, 31), 0.0),
        (date(2006, 1, 1), 20.0),
        (date(2007, 5, 1), 40.0),
        (date(2008, 1, 1), 40.0),
    ]


async def test_a_retired_community_leaves_the_share_from_the_next_day(harness: Harness) -> None:
    for n, community in enumerate(["c1", "c2", "c3", "c4"], start=1):
        await harness.send(facility(JINCHENG, f"f{n}", community, rooms=office_rooms(300)))
    assert await value(harness, "office_service_rooms_300", "140502") == 80.0
    await harness.send(
        AreaRetired(
            area_id="c5",
            level="community",
            path=JINCHENG.path("c5"),
            valid_to=date(2026, 6, 30),
            reason="abolished",
            successor_ids=[],
        )
    )
    assert await value(harness, "office_service_rooms_300", "140502", date(2026, 6, 30)) == 80.0
    assert await value(harness, "office_service_rooms_300", "140502") == 100.0
    assert await harness.status(ROOMS_TARGET, "c5") is None  # no current answer for it


async def test_workers_average_age_and_a_leave_arriving_before_the_appointment(
    harness: Harness,
) -> None:
    await harness.send(
        worker(JINCHENG, "w1", "c1", birth_year=1980, cross_appointed=True),
        worker(JINCHENG, "w2", "c1", birth_year=1990),
    )
    leave = WorkerLeft(
        worker_id="w3",
        community_id="c2",
        path=JINCHENG.path("c2"),
        role="committee_member",
        left_on=date(2010, 12, 31),
    )
    await harness.send(leave)
    await harness.send(worker(JINCHENG, "w3", "c2", birth_year=1960))  # the appointment, late
    assert await value(harness, "worker_average_age", "140500", date(2010, 6, 1)) == 33.333333
    assert await value(harness, "worker_average_age", "140500", date(2026, 6, 1)) == 41.0
    assert await value(harness, "cross_appointment_share", "140502") == 50.0


async def test_volunteer_share_and_reemployment_from_resident_updates(harness: Harness) -> None:
    residents = [resident(JINCHENG, f"r{n}", "c6") for n in range(9)]
    laid_off = resident(JINCHENG, "r9", "c7", employment_status="laid_off")
    await harness.send(*residents, laid_off, at=at_noon(date(2026, 2, 1)))
    await harness.send(
        volunteer(JINCHENG, "v1", "c6", on=date(2026, 3, 1)),
        volunteer(JINCHENG, "v2", "c7", on=date(2026, 3, 1)),
    )
    assert await value(harness, "volunteer_share", "140525") == 20.0
    assert await value(harness, "volunteer_share", "140525", date(2026, 2, 15)) == 0.0
    employed = ResidentUpdated(
        **{**laid_off.model_dump(), "employment_status": "employed", "version": 2},
        changed=["employment_status"],
    )
    await harness.send(employed, at=at_noon(date(2026, 4, 2)))
    assert await value(harness, "employed_again_this_year", "140525") == 1.0
    assert await value(harness, "employed_again_this_year", "140525", date(2026, 4, 1)) == 0.0
    hours = ServiceHoursLogged(
        volunteer_id="v1",
        entry_id="e1",
        community_id="c6",
        path=JINCHENG.path("c6"),
        hours=2.5,
        served_on=date(2026, 3, 2),
    )
    await harness.send(hours, hours.model_copy(update={"hours": 3.0}))  # a corrected entry
    assert await value(harness, "volunteer_hours_this_year", "140500") == 3.0


async def test_an_api_target_with_a_future_deadline_forecasts_and_reaches_on_track(
    harness: Harness,
) -> None:
    async def create(uow: UnitOfWork) -> None:
        await targets_service.create_target(
            uow,
            principal=Principal(subject="planner", scopes=frozenset({"metrics:write"})),
            new=targets_service.NewTarget(
                target_id="zezhou-libraries",
                name="Zezhou: 4 libraries",
                indicator_id="libraries_opened",
                scope_area_id="140525",
                comparison=">=",
                target_value=4,
                baseline_value=0,
                baseline_date=date(2026, 1, 1),
                deadline=date(2027, 12, 31),
                source_plan="test",
            ),
            catalogue=CATALOGUE,
            tracker=harness.tracker,
        )

    await harness.command(create)
    scope = await harness.status("zezhou-libraries", "140525")
    assert scope is not None
    assert (scope.status, scope.value) == ("at_risk", 0.0)
    opened = [date(2026, 2, 1), date(2026, 5, 1)]
    for n, day in enumerate(opened):
        library = facility(
            JINCHENG, f"l{n}", "c6", kind="library", rooms={"library": 60}, opened_on=day
        )
        await harness.send(library)
    scope = await harness.status("zezhou-libraries", "140525")
    assert scope is not None
    assert scope.status == "on_track"
    assert scope.forecast is not None
    assert scope.forecast >= 4
    below = await harness.status("zezhou-libraries", "c6")
    assert below is not None
    assert (below.value, below.status) == (2.0, None)
    changes = [e for e in await status_events(harness) if e["target_id"] == "zezhou-libraries"]
    assert [(e["previous_status"], e["status"]) for e in changes] == [("at_risk", "on_track")]


async def test_any_interleaving_of_aggregates_gives_the_same_state(
    harness: Harness, tmp_path: Path
) -> None:
    events = [
        envelope(facility(JINCHENG, "f1", "c1", rooms=office_rooms(320))),
        envelope(
            facility(JINCHENG, "f1", "c1", rooms=office_rooms(280), version=2),
            at=at_noon(date(2026, 3, 1)),
        ),
        envelope(
            facility(JINCHENG, "f2", "c2", kind="library", rooms={"library": 40.5, "office": 300})
        ),
        envelope(
            facility(
                JINCHENG,
                "f3",
                "c6",
                kind="culture_sports_place",
                rooms={"culture_sports": 100},
                opened_on=date(2005, 8, 1),
            )
        ),
        envelope(worker(JINCHENG, "w1", "c3", birth_year=1975, cross_appointed=True)),
        envelope(resident(JINCHENG, "r1", "c3"), at=at_noon(date(2026, 2, 1))),
        envelope(volunteer(JINCHENG, "v1", "c3", on=date(2026, 2, 2))),
    ]
    await harness.send(*events)
    other = await Harness(
        f"sqlite+aiosqlite:///{tmp_path / 'other.db'}", CATALOGUE, today=TODAY
    ).start()
    try:
        areas = [envelope(a, at=at_noon(date(2026, 1, 5))) for a in JINCHENG.area_events()]
        areas.reverse()  # communities before their streets, districts and city
        # the same events, areas last and aggregates shuffled (each aggregate keeps its order)
        rest = events[2:]
        random.Random(7).shuffle(rest)
        await other.send(*rest[:2], events[0], *rest[2:], events[1], *areas)
        # the inbox ids of the area events differ: compare everything else
        left, right = await snapshot(harness.database_url), await snapshot(other.database_url)
        for dump in (left, right):
            dump.pop("inbox")
            dump.pop("projection_state")
        assert differences(left, right) == []
    finally:
        await other.close()


async def test_a_batch_gives_the_state_of_the_same_events_one_by_one(
    harness: Harness, tmp_path: Path
) -> None:
    events = [
        envelope(facility(JINCHENG, "f1", "c1", rooms=office_rooms(320))),
        envelope(
            facility(JINCHENG, "f1", "c1", rooms=office_rooms(280), version=2),
            at=at_noon(date(2026, 3, 1)),
        ),
        envelope(
            facility(JINCHENG, "f2", "c2", rooms=office_rooms(310), opened_on=date(2026, 2, 1))
        ),
        envelope(worker(JINCHENG, "w1", "c3", birth_year=1975, cross_appointed=True)),
        envelope(resident(JINCHENG, "r1", "c3"), at=at_noon(date(2026, 2, 1))),
        envelope(volunteer(JINCHENG, "v1", "c3", on=date(2026, 2, 2))),
    ]
    await harness.send(*events)
    batched = await Harness(
        f"sqlite+aiosqlite:///{tmp_path / 'batched.db'}", CATALOGUE, today=TODAY
    ).start()
    try:
        areas = [envelope(a, at=at_noon(date(2026, 1, 5))) for a in JINCHENG.area_events()]
        assert await batched.send_batch(*areas, *events, events[0]) == len(areas) + len(events)
        left, right = await snapshot(harness.database_url), await snapshot(batched.database_url)
        for dump in (left, right):
            dump.pop("inbox")
            dump.pop("projection_state")
        assert differences(left, right) == []
    finally:
        await batched.close()


async def test_the_history_is_the_values_apis_computation_also_when_only_the_year_turns(
    harness: Harness,
) -> None:
    await harness.send(worker(JINCHENG, "w1", "c1", birth_year=1980, on=date(2020, 1, 1)))
    found = await harness.run(
        lambda session: evaluation.history(
            session,
            indicator=CATALOGUE.indicators["worker_average_age"],
            area_ids=["140500"],
            start=date(2024, 6, 1),
            end=TODAY,
        )
    )
    # no event since 2020, yet the age moves on every 1 January, and the last point is today's
    assert found["140500"] == [
        (date(2024, 6, 1), 44.0),
        (date(2025, 1, 1), 45.0),
        (date(2026, 1, 1), 46.0),
        (TODAY, 46.0),
    ]
    assert await value(harness, "worker_average_age", "140500") == 46.0


async def test_the_current_plan_targets_are_live_on_track_and_at_risk(harness: Harness) -> None:
    current = "jincheng-office-rooms-300-by-2028"
    for n, (community, day) in enumerate(
        [("c1", date(2026, 2, 1)), ("c2", date(2026, 5, 1)), ("c3", date(2026, 8, 1))]
    ):
        await harness.send(
            facility(JINCHENG, f"f{n}", community, rooms=office_rooms(320), opened_on=day)
        )
    rising = await harness.status(current, "140502")
    assert rising is not None
    assert (rising.status, rising.value) == ("on_track", 60.0)
    assert rising.forecast_method == "trend"
    assert rising.forecast_from == date(2026, 1, 1)
    assert rising.forecast is not None
    assert rising.forecast >= 80
    flat = await harness.status(current, "140525")
    assert flat is not None
    assert (flat.status, flat.value, flat.forecast) == ("at_risk", 0.0, 0.0)
    historic = await harness.status(ROOMS_TARGET, "140502")
    assert historic is not None
    assert historic.status == "missed"  # the 2007 deadline has passed


async def test_indicators_filter_on_the_age_on_the_day_asked(harness: Harness) -> None:
    h, catalogue = harness, CATALOGUE
    people = [
        resident(JINCHENG, f"r{born}", "c1").model_copy(update={"birth_year": born})
        for born in (1966, 1970, 1990)
    ]
    await h.send(*people, at=at_noon(date(2020, 2, 1)))

    async def on(indicator: str, day: date, area: str = "140500") -> float | None:
        async def run(session: AsyncSession) -> float | None:
            found = await evaluation.evaluate(
                session, indicators=[catalogue.indicators[indicator]], area_ids=[area], day=day
            )
            return found[(indicator, area)].value

        result: float | None = await h.run(run)
        return result

    # the band frozen at registration said 50-59; the age on each day is what counts
    assert await on("residents_60_plus", date(2025, 12, 31)) == 0.0
    assert await on("residents_60_plus", date(2026, 1, 1)) == 1.0
    assert await on("residents_60_plus", date(2030, 1, 1), "c1") == 2.0
    assert await on("aged_share", TODAY, "140502") == pytest.approx(33.333333)
    history = await h.run(
        lambda session: evaluation.history(
            session,
            indicator=catalogue.indicators["residents_60_plus"],
            area_ids=["c1"],
            start=date(2019, 6, 1),
            end=date(2030, 6, 1),
        )
    )
    assert history["c1"] == [
        (date(2019, 6, 1), 0.0),
        (date(2026, 1, 1), 1.0),
        (date(2030, 1, 1), 2.0),
        (date(2030, 6, 1), 2.0),
    ]


async def test_many_days_at_once_equal_each_day_alone(harness: Harness) -> None:
    rng = random.Random(11)
    communities = ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    for n in range(25):
        opened = date(2005, 1, 1) + timedelta(days=rng.randrange(6000))
        closed = opened + timedelta(days=rng.randrange(1, 3000)) if n % 3 == 0 else None
        await harness.send(
            facility(
                JINCHENG,
                f"f{n}",
                rng.choice(communities),
                rooms=office_rooms(rng.choice([80, 150, 220, 310])),
                opened_on=opened,
                closed_on=closed,
                version=2 if closed else 1,
            )
        )
    await harness.send(
        AreaRetired(
            area_id="c5",
            level="community",
            path=JINCHENG.path("c5"),
            valid_to=date(2015, 6, 30),
            reason="abolished",
            successor_ids=[],
        )
    )
    indicators = {i: CATALOGUE.indicators[i] for i in ("office_service_rooms_150", "residents")}
    days = sorted({date(2004, 12, 31) + timedelta(days=rng.randrange(8000)) for _ in range(40)})
    areas = ["140500", "140502", "140525", "140502s", "c5"]
    wanted = [(i, a, d) for i in indicators for a in areas for d in days]
    together = await harness.run(
        lambda session: evaluation.evaluate_many(session, indicators=indicators, wanted=wanted)
    )
    assert len({v.value for v in together.values()}) > 5  # the values do move over the days
    for indicator_id, area, day in wanted[::7]:
        alone = await harness.run(
            lambda session, i=indicator_id, a=area, d=day: evaluation.evaluate_many(
                session, indicators=indicators, wanted=[(i, a, d)]
            )
        )
        assert together[(indicator_id, area, day)] == alone[(indicator_id, area, day)]


async def test_a_shares_history_is_its_value_on_every_day_as_steps(harness: Harness) -> None:
    rng = random.Random(5)
    communities = ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    opened: list[tuple[str, float, date, date | None]] = []
    for n in range(30):
        community, size = rng.choice(communities), rng.choice([80, 150, 220, 310])
        since = date(2008, 1, 1) + timedelta(days=rng.randrange(4000))
        closed = since + timedelta(days=rng.randrange(1, 2000)) if n % 3 == 0 else None
        opened.append((community, size, since, closed))
        await harness.send(
            facility(
                JINCHENG,
                f"f{n}",
                community,
                rooms=office_rooms(size),
                opened_on=since,
                closed_on=closed,
                version=2 if closed else 1,
            )
        )
    retired = date(2013, 6, 30)
    await harness.send(
        AreaRetired(
            area_id="c5",
            level="community",
            path=JINCHENG.path("c5"),
            valid_to=retired,
            reason="abolished",
            successor_ids=[],
        )
    )
    under = {
        "140500": communities,
        "140502": communities[:5],
        "140502s": communities[:5],
        "140525": communities[5:],
        "c5": ["c5"],
        "nowhere": [],
    }

    def expected(bar: float, area: str, day: date) -> float | None:
        """The share counted from the facilities sent, without the service's code."""
        current = [c for c in under[area] if c != "c5" or day <= retired]
        if not current:
            return None
        meeting = sum(
            1
            for c in current
            if sum(
                m2
                for where, m2, since, closed in opened
                if where == c and since <= day and (closed is None or day < closed)
            )
            >= bar
        )
        return round(100.0 * meeting / len(current), 6)

    start, end = date(2010, 3, 1), date(2016, 12, 31)
    every_day = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    for name, bar in (("office_service_rooms_150", 150), ("office_service_rooms_300", 300)):
        indicator = CATALOGUE.indicators[name]

        async def history_of(session: AsyncSession, i: Indicator = indicator) -> Points:
            return await evaluation.history(
                session, indicator=i, area_ids=list(under), start=start, end=end
            )

        history = await harness.run(history_of)
        for area in under:
            steps: list[tuple[date, float | None]] = []
            for day in every_day:
                value = expected(bar, area, day)
                if not steps or steps[-1][1] != value or day == end:
                    steps.append((day, value))
            assert history[area] == steps, (name, area)
        moving = {v for points in history.values() for _, v in points}
        assert len(moving) >= 5, name  # the shares do move over the days
