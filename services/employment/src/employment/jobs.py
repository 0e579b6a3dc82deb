"""Periodic jobs of the employment service: turning retention checks that fell due into
follow-up tasks (``placement.retention_due``), putting loans in arrears or default, and
re-deriving the "4050" group of seekers whose age crosses a boundary this year. Each step is a
unit of work of its own, so its changes and their events commit together."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from employment import loans_service, matches_service, registry_facts
from employment.settings import Settings
from shared.runtime import ServiceRuntime
from shared.unit_of_work import EventTranslator, unit_of_work

log = logging.getLogger(__name__)


async def follow_up(
    sessions: async_sessionmaker[AsyncSession], *, translate: EventTranslator, today: date
) -> tuple[int, int, int]:
    """One run: the retention checks now due, the loans whose standing changed, the seekers
    whose age groups changed."""
    async with unit_of_work(sessions, translate=translate) as uow:
        checks = await matches_service.mark_due_checks(uow, today=today)
    async with unit_of_work(sessions, translate=translate) as uow:
        loans = await loans_service.review_loans(uow, today=today)
    async with unit_of_work(sessions, translate=translate) as uow:
        seekers = await registry_facts.refresh_age_groups(uow, today=today)
    log.info(
        "follow-up run done",
        extra={
            "retention_checks_due": checks,
            "loans_changed": loans,
            "seekers_regrouped": seekers,
        },
    )
    return checks, loans, seekers


def schedule_follow_ups(
    runtime: ServiceRuntime, settings: Settings, *, today: Callable[[], date] = date.today
) -> None:
    """Run :func:`follow_up` at start-up and every ``follow_up_interval_s`` seconds."""

    async def run() -> tuple[int, int, int]:
        return await follow_up(runtime.sessions, translate=runtime.translate, today=today())

    runtime.every("follow-ups", settings.follow_up_interval_s, run)
