"""Use cases of assessments: record one (scored with its instrument, setting the elder's care
level) and list an elder's (:mod:`eldercare.domain.assessment`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eldercare import clock
from eldercare.adapters import store
from eldercare.adapters.tables import AssessmentRow, ElderRow
from eldercare.domain.assessment import AssessmentSnapshot, assess
from eldercare.elders import enrolled_elder, get_elder
from shared import audit
from shared.auth import Principal
from shared.unit_of_work import UnitOfWork


async def record_assessment(
    uow: UnitOfWork,
    *,
    principal: Principal,
    resident_id: str,
    barthel: Mapping[str, int],
    iadl_dependent: Sequence[str],
    instrument: str | None = None,
    assessed_on: date | None = None,
    today: date | None = None,
) -> AssessmentSnapshot:
    """Score and record an assessment of an enrolled elder; the elder's care level becomes
    the newest assessment's."""
    day = today or clock.today()
    snapshot = await enrolled_elder(uow.session, principal=principal, resident_id=resident_id)
    assessment, completed = assess(
        resident_id=resident_id,
        community_id=snapshot.community_id,
        path=snapshot.path,
        version=instrument,
        barthel=barthel,
        iadl_dependent=iadl_dependent,
        assessed_on=assessed_on or day,
        today=day,
        assessor=principal.subject,
    )
    uow.record(completed)
    uow.session.add(store.assessment_row(assessment))
    audit.record_change(uow, principal, "assess", "elder", resident_id, snapshot.path)
    newest = await uow.session.scalar(
        select(AssessmentRow.assessed_on)
        .where(AssessmentRow.resident_id == resident_id, AssessmentRow.id != assessment.id)
        .order_by(AssessmentRow.assessed_on.desc())
        .limit(1)
    )
    if newest is None or newest <= assessment.assessed_on:
        elder = await store.get_elder(uow.session, resident_id, for_update=True)
        assert elder is not None
        uow.track(elder)
        elder.set_care_level(
            assessment.care_level, assessment_id=assessment.id, on=assessment.assessed_on
        )
        await store.save_elder(uow.session, elder)
    return assessment


async def list_assessments(
    session: AsyncSession, *, principal: Principal, resident_id: str
) -> list[AssessmentSnapshot]:
    """An elder's assessments, newest first."""
    await get_elder(session, principal=principal, resident_id=resident_id)
    rows = await session.scalars(
        select(AssessmentRow)
        .where(AssessmentRow.resident_id == resident_id)
        .order_by(AssessmentRow.assessed_on.desc(), AssessmentRow.id)
    )
    return [store.assessment_snapshot(row) for row in rows]


async def reassessments_due(
    session: AsyncSession, *, principal: Principal, by: date, within: str | None = None
) -> list[AssessmentSnapshot]:
    """Each enrolled elder's newest assessment whose reassessment is due by ``by`` (elders
    who died or left drop out)."""
    rows = await session.scalars(
        select(AssessmentRow)
        .join(ElderRow, ElderRow.resident_id == AssessmentRow.resident_id)
        .where(
            store.in_area(AssessmentRow.path, principal.area, within),
            ElderRow.status == "enrolled",
        )
        .order_by(AssessmentRow.resident_id, AssessmentRow.assessed_on.desc())
    )
    newest: dict[str, AssessmentSnapshot] = {}
    for row in rows:
        newest.setdefault(row.resident_id, store.assessment_snapshot(row))
    return sorted(
        (a for a in newest.values() if a.reassess_on <= by), key=lambda a: (a.reassess_on, a.id)
    )
