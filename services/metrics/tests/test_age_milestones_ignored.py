"""The registry's age milestones share the resident topic metrics reads: metrics skips them as
a type it does not handle (counted ``ignored``), dead-letters nothing, and goes on applying
the resident events around them."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from metrics.app import create_app
from metrics.settings import Settings
from metrics.testing import City, envelope, eventually, publish, resident
from shared.contracts.registry import ResidentAgeReached
from shared.testing.service import running_service, scrape_metrics

pytestmark = [pytest.mark.integration, pytest.mark.publishes(False)]

AGE_REACHED = "org.shequ.registry.resident.age_reached.v1"


def consumed(exposition: str, event_type: str, outcome: str) -> float:
    """The events-consumed counter of one type and outcome (0 when absent)."""
    for line in exposition.splitlines():
        if (
            line.startswith("shequ_events_consumed_total{")
            and f'event_type="{event_type}"' in line
            and f'outcome="{outcome}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def dead_lettered_by_metrics(exposition: str) -> float:
    """Events the metrics service has dead-lettered so far, over every topic and reason."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith("shequ_events_dead_lettered_total{") and 'service="metrics"' in line
    )


async def test_age_milestones_are_skipped_and_the_events_around_them_applied(
    fresh_postgres_url: str, kafka_bootstrap: str
) -> None:
    tag = uuid.uuid4().hex[:6]
    city = City(f"c{tag}", {f"d{tag}": [f"m{tag}0"]})
    community = f"m{tag}0"
    settings = Settings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        log_json=False,
    )
    async with running_service(create_app, settings) as client:
        dead_letters_before = dead_lettered_by_metrics(await scrape_metrics(client))
        milestone = ResidentAgeReached(
            resident_id=f"r{tag}",
            community_id=community,
            path=city.path(community),
            age=60,
            reached_on=date.today(),
        )
        await publish(
            kafka_bootstrap,
            *(envelope(a) for a in city.area_events()),
            envelope(resident(city, f"r{tag}", community)),
            envelope(milestone),
            envelope(resident(city, f"s{tag}", community)),
        )

        async def both_residents_and_the_milestone_seen() -> bool:
            exposition = await scrape_metrics(client)
            registered = "org.shequ.registry.resident.registered.v1"
            return (
                consumed(exposition, registered, "applied") >= 2
                and consumed(exposition, AGE_REACHED, "ignored") >= 1
            )

        await eventually(both_residents_and_the_milestone_seen)
        exposition = await scrape_metrics(client)
        assert consumed(exposition, AGE_REACHED, "applied") == 0
        # The counters are process-wide and other tests dead-letter on purpose: compare.
        assert dead_lettered_by_metrics(exposition) == dead_letters_before
