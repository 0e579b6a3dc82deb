"""The shipped targets on the services' own demo data show every status: the registry's and
employment's demo loaders run on SQLite, their outbox events (stamped as if loaded on one fixed
day) go through the metrics projections in-process, and the targets' statuses at their scope
include achieved and missed (the 2005–2007 plan) and on track and at risk (the same goals
restated for 2026–2028)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from employment import demo as employment_demo
from employment.adapters.events import translate as employment_translate
from metrics.adapters.tables import TargetRow, TargetStatusRow
from metrics.bootstrap import load_catalogue
from metrics.consumers import HANDLED
from metrics.settings import Settings
from metrics.testing import Harness, at_noon
from registry import demo as registry_demo
from registry.adapters.events import translate as registry_translate
from shared.contracts import CONTRACTS, CloudEvent
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.tables import OutboxRecord

LOADED_ON = date(2026, 11, 22)
"""The day the demo is loaded and the targets evaluated."""

Loader = Callable[[async_sessionmaker[AsyncSession]], Awaitable[object]]


async def demo_events(service: str, url: str, load: Loader) -> list[CloudEvent]:
    """A service's demo loader on a fresh database; the events it staged in its outbox."""
    await asyncio.to_thread(upgrade, service, url)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        await load(sessions)
        async with sessions() as session:
            rows = await session.scalars(select(OutboxRecord).order_by(OutboxRecord.id))
            return [CloudEvent.model_validate_json(row.payload) for row in rows]
    finally:
        await engine.dispose()


async def test_the_demo_shows_targets_achieved_missed_on_track_and_at_risk(sqlite_url: str) -> None:
    base = sqlite_url.rsplit("/", 1)[0]
    events = await demo_events(
        "registry",
        f"{base}/registry.db",
        lambda s: registry_demo.load_demo_data(s, translate=registry_translate),
    )
    events += await demo_events(
        "employment",
        f"{base}/employment.db",
        lambda s: employment_demo.load_demo_data(
            s, translate=employment_translate, today=LOADED_ON
        ),
    )
    consumed = {CONTRACTS.for_payload(p).type for p in HANDLED}
    moment = at_noon(LOADED_ON)
    stamped = [e.model_copy(update={"time": moment}) for e in events if e.type in consumed]
    assert len(stamped) > 50

    harness = await Harness(sqlite_url, load_catalogue(Settings()), today=LOADED_ON).start()
    try:
        assert await harness.send_batch(*stamped) == len(stamped)
        async with harness.sessions() as session:
            scopes = {
                target.id: await session.get(TargetStatusRow, (target.id, target.scope_area_id))
                for target in await session.scalars(select(TargetRow))
            }
    finally:
        await harness.close()
    status = {target: row.status for target, row in scopes.items() if row is not None}
    assert set(status.values()) == {"achieved", "missed", "on_track", "at_risk"}, status
    # the plan's deadline (2007) has passed: achieved or missed for good
    assert status["jincheng-cross-appointments"] == "achieved"  # 50 % of workers
    assert status["jincheng-office-rooms-300"] == "missed"  # 4 of 7 communities
    # the same goals for 2026–2028 are live
    assert status["jincheng-office-rooms-300-by-2028"] == "at_risk"  # flat since 2026
    assert status["jincheng-laid-off-reemployed-95-by-2028"] == "on_track"  # rising this year
