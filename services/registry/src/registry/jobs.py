"""Periodic jobs of the registry: the scan for floating residents' permits about to expire.

:func:`raise_permit_expiry_events` records one ``PermitExpiring`` per resident and permit: the
expiry date a warning was raised for is stored (``permit_warned_for``), so a later scan skips
it and a renewed permit (a new expiry date) can warn again. The marking is one conditional
``UPDATE … RETURNING``: two replicas scanning at once warn each resident once.
:func:`schedule_permit_scans` runs the scan at start-up and then periodically, each scan in a
unit of work of its own (:func:`shared.unit_of_work.unit_of_work`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.adapters.people import mark_expiring_permits
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
