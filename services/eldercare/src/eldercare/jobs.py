"""The service's periodic jobs, each idempotent so that it can run late, twice or after
downtime: the daily round (enrol residents who reached the threshold, propose every
entitlement due, pay every subsidy month owed) and the missed-visit round."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eldercare import entitlements, orders, roster
from eldercare.domain.entitlements import EntitlementRule
from shared.unit_of_work import EventTranslator, unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DailyRound:
    """What one daily round did."""

    enrolled: int
    proposed: int
    paid: int


async def daily_round(
    sessions: async_sessionmaker[AsyncSession],
    *,
    translate: EventTranslator,
    rules: tuple[EntitlementRule, ...],
    threshold: int,
    today: date,
) -> DailyRound:
    """Enrol, propose and pay everything due by ``today`` that is not done yet (each step in
    its own transaction; proposals in batches until none is left)."""
    async with unit_of_work(sessions, translate=translate) as uow:
        enrolled = await roster.enrol_due(uow, today=today, threshold=threshold)
    proposed = 0
    while True:
        async with unit_of_work(sessions, translate=translate) as uow:
            batch = await entitlements.propose_due(uow, rules=rules, today=today)
        proposed += batch
        if batch == 0:
            break
    async with unit_of_work(sessions, translate=translate) as uow:
        paid = await entitlements.pay_subsidies(uow, rules=rules, today=today)
    if enrolled or proposed or paid:
        log.info("daily round", extra={"enrolled": enrolled, "proposed": proposed, "paid": paid})
    return DailyRound(enrolled, proposed, paid)


async def missed_visits(
    sessions: async_sessionmaker[AsyncSession], *, translate: EventTranslator, now: datetime
) -> int:
    """Raise the alert of every visit whose window ended without a check-in; how many."""
    total = 0
    while True:
        async with unit_of_work(sessions, translate=translate) as uow:
            missed = await orders.flag_missed(uow, now=now)
        total += missed
        if missed == 0:
            return total
