"""Hardship medical subsidies on PostgreSQL: casework's ``case.decided`` for an approved
``elder_hardship_medical_subsidy`` is paid through the ledger once per case, whatever the
duplicates and the order in which the decisions of a case arrive; other decisions pay
nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eldercare import consumers
from eldercare.adapters.events import translate
from eldercare.adapters.tables import PaymentRow
from shared.contracts.casework import CaseDecided
from shared.tables import OutboxRecord
from shared.unit_of_work import unit_of_work

pytestmark = pytest.mark.integration

TODAY = date(2026, 12, 14)
PATH = ["c1", "d1", "s1", "m1"]


def decided(case_id: str, **fields: Any) -> CaseDecided:
    """A ``case.decided`` payload as casework publishes it (approved hardship subsidy)."""
    values: dict[str, Any] = {
        "case_id": case_id,
        "visit_id": f"visit-{case_id}",
        "matter_code": "elder_hardship_medical_subsidy",
        "department": "civil_affairs",
        "community_id": "m1",
        "path": PATH,
        "state": "decided",
        "version": 6,
        "outcome": "approved",
        "decided_on": "2026-12-10",
        "within_time_limit": True,
        "resident_id": f"r-{case_id}",
        "amount_fen": 150_000,
    }
    return CaseDecided.model_validate({**values, **fields})


async def deliver(sessions: async_sessionmaker[AsyncSession], *payloads: CaseDecided) -> None:
    """Each payload in a transaction of its own, as the consumer applies them."""
    for payload in payloads:
        async with unit_of_work(sessions, translate=translate) as uow:
            await consumers.apply(uow, payload, today=TODAY, threshold=60)


async def ledger(sessions: async_sessionmaker[AsyncSession]) -> list[PaymentRow]:
    async with sessions() as session:
        return list(await session.scalars(select(PaymentRow).order_by(PaymentRow.case_id)))


async def paid_events(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxRecord).where(OutboxRecord.event_type.like("%subsidy_paid%"))
        )
        return [json.loads(row.payload)["data"] for row in rows]


async def test_duplicates_and_reordered_decisions_pay_each_case_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = decided("case-a")
    after_reopening = decided("case-a", version=10, decided_on="2027-01-05", amount_fen=90_000)
    other = decided("case-b", amount_fen=80_000)
    # the later decision of case-a arrives first, then the first twice, case-b in between
    await deliver(sessions, after_reopening, first, other, first, after_reopening, other)

    lines = await ledger(sessions)
    assert [(p.case_id, p.resident_id, p.amount_fen) for p in lines] == [
        ("case-a", "r-case-a", 90_000),
        ("case-b", "r-case-b", 80_000),
    ]
    assert {p.kind for p in lines} == {"hardship_medical_subsidy"}
    assert {p.entitlement_id for p in lines} == {None}
    assert lines[1].month == date(2026, 12, 1)
    assert lines[1].paid_on == TODAY
    events = await paid_events(sessions)
    assert sorted((e["case_id"], e["amount_fen"]) for e in events) == [
        ("case-a", 90_000),
        ("case-b", 80_000),
    ]
    assert {(e["kind"], e["entitlement_id"], tuple(e["path"])) for e in events} == {
        ("hardship_medical_subsidy", None, tuple(PATH))
    }


async def test_denials_other_matters_and_decisions_without_an_amount_pay_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await deliver(
        sessions,
        decided("denied", outcome="denied", amount_fen=None),
        decided("card", matter_code="longevity_certificate", amount_fen=None),
        decided("relief", matter_code="temporary_relief"),
        decided("before-amounts", resident_id=None, amount_fen=None),
    )
    assert await ledger(sessions) == []
    assert await paid_events(sessions) == []


async def test_two_replicas_paying_the_same_case_at_once_write_one_line(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    payload = decided("case-c")
    outcomes = await asyncio.gather(
        deliver(sessions, payload), deliver(sessions, payload), return_exceptions=True
    )
    assert sum(outcome is None for outcome in outcomes) >= 1
    assert [p.case_id for p in await ledger(sessions)] == ["case-c"]
    assert len(await paid_events(sessions)) == 1
