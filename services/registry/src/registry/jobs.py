"""Periodic jobs of the registry: the scan for floating residents' permits about to expire,
and the age milestones residents reach.

:func:`raise_permit_expiry_events` records one ``PermitExpiring`` per resident and permit: the
expiry date a warning was raised for is stored (``permit_warned_for``), so a later scan skips
it and a renewed permit (a new expiry date) can warn again. The marking is one conditional
``UPDATE … RETURNING``: two replicas scanning at once warn each resident once.
:func:`schedule_permit_scans` runs the scan at start-up and then periodically, each scan in a
unit of work of its own (:func:`shared.unit_of_work.unit_of_work`).

:func:`publish_age_milestones` records one ``ResidentAgeReached`` per living resident and
milestone age reached on a day after the last day covered, up to today
(:mod:`registry.domain.milestones`); the milestones, their outbox rows and the new last day
commit together, so a registry that was down catches up and nothing is published twice.
:func:`schedule_age_milestones` runs it at start-up and then every
``age_milestone_interval_s`` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.adapters import milestones
from registry.adapters.people import mark_expiring_permits
from registry.domain.milestones import scan_window
from registry.domain.people import permit_warning_window
from registry.settings import Settings
from shared.runtime import ServiceRuntime
from shared.unit_of_work import EventTranslator, UnitOfWork, unit_of_work

log = logging.getLogger(__name__)


async def raise_permit_expiry_events(uow: UnitOfWork, *, today: date) -> int:
    """Record ``PermitExpiring`` for each living floating resident whose permit expires from
    ``today`` to ``today`` + 30 days and was not warned about yet; how many."""
    first, last = permit_warning_window(today)
    warnings = await mark_expiring_permits(uow.session, first=first, last=last)
    uow.record(*warnings)
    return len(warnings)


async def scan_permits(
    sessions: async_sessionmaker[AsyncSession], *, translate: EventTranslator, today: date
) -> int:
    """One scan in a transaction of its own: the marks and the events commit together."""
    async with unit_of_work(sessions, translate=translate) as uow:
        count = await raise_permit_expiry_events(uow, today=today)
    log.info("permit expiry scan done", extra={"permit_warnings": count})
    return count


def schedule_permit_scans(
    runtime: ServiceRuntime, settings: Settings, *, today: Callable[[], date] = date.today
) -> None:
    """Scan at start-up and then every ``permit_scan_interval_s`` seconds while the service
    runs (a failed scan is logged and retried at the next interval)."""

    async def scan() -> int:
        return await scan_permits(runtime.sessions, translate=runtime.translate, today=today())

    runtime.every("permit-expiry-scan", settings.permit_scan_interval_s, scan)


async def publish_age_milestones(uow: UnitOfWork, *, today: date, ages: Sequence[int]) -> int:
    """Record ``ResidentAgeReached`` for each milestone in ``ages`` that a living resident
    reached after the last day covered (only today on the first run), up to ``today``, and
    not published yet; store ``today`` as the last day covered; how many."""
    high_water = await milestones.scanned_through(uow.session)
    window = scan_window(high_water.scanned_through if high_water else None, today=today)
    if window is None:
        return 0
    after, through = window
    reached = await milestones.reached_milestones(
        uow.session, ages=ages, after=after, through=through
    )
    uow.record(*reached)
    milestones.mark_scanned(uow.session, high_water, through)
    return len(reached)


async def scan_age_milestones(
    sessions: async_sessionmaker[AsyncSession],
    *,
    translate: EventTranslator,
    today: date,
    ages: Sequence[int],
) -> int:
    """One run in a transaction of its own: milestones, events and high-water commit together."""
    async with unit_of_work(sessions, translate=translate) as uow:
        count = await publish_age_milestones(uow, today=today, ages=ages)
    log.info("age milestone scan done", extra={"age_milestones": count})
    return count


def schedule_age_milestones(
    runtime: ServiceRuntime, settings: Settings, *, today: Callable[[], date] = date.today
) -> None:
    """Publish the age milestones at start-up and then every ``age_milestone_interval_s``
    seconds while the service runs (a failed run is logged; the next one covers its days)."""
    ages = tuple(sorted(set(settings.age_milestones)))

    async def scan() -> int:
        return await scan_age_milestones(
            runtime.sessions, translate=runtime.translate, today=today(), ages=ages
        )

    runtime.every("age-milestones", settings.age_milestone_interval_s, scan)
