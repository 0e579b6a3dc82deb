"""Indicators on the age *today* (year of the day minus year of birth), not the band frozen in
an event: eldercare's elders aged 80 or more and the registry's out-of-work residents aged 40
to 59 move on 1 January without any event, through the shipped catalogue, applied in-process
on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import evaluation
from metrics.bootstrap import load_catalogue
from metrics.domain.measures import Catalogue
from metrics.settings import Settings
from metrics.testing import City, Harness, at_noon, envelope, resident
from shared import metrics
from shared.consumer import EventConsumer
from shared.contracts import CONTRACTS
from shared.contracts import eldercare as ec
from shared.contracts.registry import ResidentAgeReached, ResidentRegistered, ResidentUpdated

TODAY = date(2026, 11, 22)
NEW_YEAR = date(2027, 1, 1)
CITY = City("140500", {"140502": ["c1", "c2"]})
CATALOGUE: Catalogue = load_catalogue(Settings())


@pytest.fixture
async def harness(sqlite_url: str) -> AsyncIterator[Harness]:
    h = await Harness(sqlite_url, CATALOGUE, today=TODAY).start()
    await h.send(*CITY.area_events(), at=at_noon(date(2026, 1, 5)))
    yield h
    await h.close()


async def value(h: Harness, indicator: str, day: date, area: str = "140502") -> float | None:
    async def run(session: AsyncSession) -> float | None:
        found = await evaluation.evaluate(
            session, indicators=[CATALOGUE.indicators[indicator]], area_ids=[area], day=day
        )
        return found[(indicator, area)].value

    result: float | None = await h.run(run)
    return result


def enrolled(resident_id: str, community: str, born: int) -> ec.ElderEnrolled:
    return ec.ElderEnrolled(
        resident_id=resident_id,
        community_id=community,
        path=CITY.path(community),
        sex="female",
        birth_year=born,
        age=2026 - born,
        disabled=False,
        living_alone=False,
        empty_nest=False,
        enrolled_on=date(2026, 2, 1),
    )


async def test_elders_aged_80_or_more_counts_the_age_on_the_day_asked(harness: Harness) -> None:
    await harness.send(
        enrolled("e1", "c1", 1940),  # 86
        enrolled("e2", "c1", 1946),  # 80 this year
        enrolled("e3", "c2", 1947),  # 79 this year, 80 from 1 January
        enrolled("e4", "c2", 1960),  # 66
        at=at_noon(date(2026, 2, 1)),
    )
    assert await value(harness, "elders", TODAY) == 4.0
    assert await value(harness, "elders_80_plus", TODAY) == 2.0
    assert await value(harness, "elders_80_plus", date(2026, 12, 31)) == 2.0
    assert await value(harness, "elders_80_plus", NEW_YEAR) == 3.0
    assert await value(harness, "elders_80_plus", NEW_YEAR, "c2") == 1.0
    assert await value(harness, "elders_80_plus", date(2026, 1, 31)) == 0.0  # not yet enrolled

    await harness.send(
        ec.ElderDeceased(**enrolled("e1", "c1", 1940).model_dump(), died_on=date(2026, 11, 1)),
        at=at_noon(date(2026, 11, 2)),
    )
    assert await value(harness, "elders_80_plus", TODAY) == 1.0


async def test_out_of_work_residents_aged_40_to_59_by_their_age_today(harness: Harness) -> None:
    def born(rid: str, year: int, status: str) -> ResidentRegistered:
        return resident(CITY, rid, "c1", employment_status=status).model_copy(
            update={"birth_year": year}
        )

    await harness.send(
        born("r0", 1980, "employed"),
        born("r1", 1987, "unemployed"),  # 39 this year, 40 from 1 January
        born("r2", 1970, "laid_off"),  # 56
        born("r3", 1967, "unemployed"),  # 59 this year, 60 from 1 January
        born("r4", 1990, "unemployed"),  # 36
        at=at_noon(date(2026, 3, 1)),
    )
    assert await value(harness, "out_of_work_40_to_59", TODAY) == 2.0  # r2, r3
    assert await value(harness, "out_of_work_40_to_59", NEW_YEAR) == 2.0  # r1, r2
    assert await value(harness, "out_of_work_40_to_59", NEW_YEAR, "c2") == 0.0

    back_to_work = ResidentUpdated(
        **{**born("r2", 1970, "employed").model_dump(), "version": 2},
        changed=["employment_status"],
    )
    await harness.send(back_to_work, at=at_noon(date(2026, 11, 10)))
    assert await value(harness, "out_of_work_40_to_59", TODAY) == 1.0
    assert await value(harness, "out_of_work_40_to_59", date(2026, 11, 9)) == 2.0


class KeptLetters:
    """Stands in for the dead-letter producer: keeps what it is asked to send."""

    def __init__(self) -> None:
        self.letters: list[str] = []

    async def send_and_wait(self, topic: str, **_: object) -> None:
        self.letters.append(topic)


async def test_the_registry_age_milestone_event_is_skipped_not_dead_lettered(
    harness: Harness,
) -> None:
    """``resident.age_reached`` shares the resident topic metrics reads; metrics counts ages
    from the year of birth, so it skips the event (counted ``ignored``) and applies the rest."""
    milestone = ResidentAgeReached(
        resident_id="r1",
        community_id="c1",
        path=CITY.path("c1"),
        age=60,
        reached_on=date(2026, 11, 1),
    )
    events = [
        envelope(milestone, at=at_noon(TODAY)),
        envelope(resident(CITY, "r1", "c1"), at=at_noon(TODAY)),
    ]
    topic = CONTRACTS.for_payload(ResidentAgeReached).topic
    assert topic == CONTRACTS.for_payload(ResidentRegistered).topic
    consumer = EventConsumer(
        settings=Settings(database_url=harness.database_url, kafka_bootstrap_servers="x:1"),
        sessions=harness.sessions,
        subscription=harness.handlers,
        group_id="metrics-age-test",
    )
    letters = KeptLetters()
    consumer._producer = letters  # type: ignore[assignment]
    assert topic in consumer.topics

    def ignored() -> float:
        return metrics.EVENTS_CONSUMED.labels(
            topic=topic,
            event_type=events[0].type,
            outcome="ignored",
            service="metrics",
            group="metrics-age-test",
        )._value.get()

    before = ignored()
    await consumer.process(
        [
            ConsumerRecord(
                topic=topic,
                partition=0,
                offset=offset,
                timestamp=0,
                timestamp_type=0,
                key=b"r1",
                value=event.to_json_bytes(),
                checksum=None,
                serialized_key_size=2,
                serialized_value_size=0,
                headers=event.kafka_headers(),
            )
            for offset, event in enumerate(events)
        ]
    )
    assert ignored() == before + 1
    assert letters.letters == []
    assert await value(harness, "residents", TODAY, "c1") == 1.0
