"""Periodic jobs of the registry: the scan for floating residents' permits about to expire.

:func:`raise_permit_expiry_events` stages one ``PermitExpiring`` per resident and permit: the
expiry date a warning was raised for is stored (``permit_warned_for``), so a later scan skips
it and a renewed permit (a new expiry date) can warn again. The marking is one conditional
``UPDATE … RETURNING``: two replicas scanning at once warn each resident once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.adapters.people import ResidentRow
from registry.domain.people import PERMIT_WARNING_DAYS
from registry.settings import Settings
from shared import outbox
from shared.contracts import CONTRACTS
from shared.contracts.registry import PermitExpiring
from shared.db import transaction

log = logging.getLogger(__name__)


async def raise_permit_expiry_events(session: AsyncSession, *, today: date) -> int:
    """Stage ``PermitExpiring`` for each living floating resident whose permit expires from
    ``today`` to ``today`` + 30 days and was not warned about yet; how many were staged.

    Runs in the caller's transaction: the marks and the events commit together.
    """
    horizon = today + timedelta(days=PERMIT_WARNING_DAYS)
    statement = (
        update(ResidentRow)
        .where(
            ResidentRow.status == "alive",
            ResidentRow.registration == "floating",
            ResidentRow.permit_expires_on >= today,
            ResidentRow.permit_expires_on <= horizon,
            or_(
                ResidentRow.permit_warned_for.is_(None),
                ResidentRow.permit_warned_for != ResidentRow.permit_expires_on,
            ),
        )
        .values(permit_warned_for=ResidentRow.permit_expires_on)
        .returning(
            ResidentRow.id,
            ResidentRow.community_id,
            ResidentRow.community_path,
            ResidentRow.permit_expires_on,
        )
        .execution_options(synchronize_session=False)
    )
    warned = (await session.execute(statement)).all()
    for resident_id, community_id, community_path, expires_on in sorted(warned):
        payload = PermitExpiring(
            resident_id=resident_id,
            community_id=community_id,
            path=[part for part in community_path.split("/") if part],
            expires_on=expires_on,
        )
        outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=resident_id))
    return len(warned)


async def scan_permits_periodically(
    sessions: async_sessionmaker[AsyncSession],
    *,
    interval_s: float,
    stop: asyncio.Event,
    today: Callable[[], date] = date.today,
) -> None:
    """Run the permit scan now and then every ``interval_s`` seconds until ``stop`` is set; a
    failed scan is logged and retried at the next interval."""
    while not stop.is_set():
        try:
            async with transaction(sessions) as session:
                count = await raise_permit_expiry_events(session, today=today())
            log.info("permit expiry scan done", extra={"permit_warnings": count})
        except Exception:
            log.exception("permit expiry scan failed; retrying at the next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


@contextlib.asynccontextmanager
async def permit_expiry_scans(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> AsyncIterator[None]:
    """Run :func:`scan_permits_periodically` in the background while the context is open
    (the registry app's lifespan); the first scan starts at once."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        scan_permits_periodically(sessions, interval_s=settings.permit_scan_interval_s, stop=stop),
        name="permit-expiry-scan",
    )
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            log.warning("permit expiry scan did not stop in time; cancelled")
