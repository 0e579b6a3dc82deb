"""Use cases for training: schedule a course, enrol a seeker (by choice or as required
reemployment training), record attendance, complete, refuse or abandon (commands); get and
list (queries). Refusing or abandoning *required* training revokes the seeker's concession
card in the same transaction (``seeker.card_revoked``). Courses are public offers; enrolments
are confined to the seeker's area."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from employment.adapters import store
from employment.adapters.tables import AttendanceRow, CourseRow, EnrolmentRow
from employment.domain import training
from employment.domain.seekers import revocation_reason
from employment.domain.taxonomy import taxonomy
from employment.scope import confine, current_date, known_area
from employment.seekers_service import load_seeker
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork


async def schedule_course(
    uow: UnitOfWork,
    *,
    principal: Principal,
    title: str,
    place_id: str,
    skills: list[str],
    starts_on: date,
    ends_on: date,
    sessions: int,
    capacity: int,
    course_id: str | None = None,
) -> training.CourseSnapshot:
    """Schedule a course held in an area of the token's (``course.scheduled``)."""
    path = await known_area(uow.session, principal, place_id, field="place_id")
    course, event = training.schedule_course(
        training.CourseSnapshot(
            id=course_id or str(uuid.uuid4()),
            title=title,
            community_id=place_id,
            path=path,
            skills=taxonomy().validate(skills, field="skills"),
            starts_on=starts_on,
            ends_on=ends_on,
            sessions=sessions,
            capacity=capacity,
            enrolled=0,
        )
    )
    await store.save_course(uow.session, course)
    uow.record(event)
    return course


async def enrol(
    uow: UnitOfWork,
    *,
    principal: Principal,
    course_id: str,
    seeker_id: str,
    required: bool,
    today: date | None = None,
) -> training.EnrolmentSnapshot:
    """Enrol a seeker of the token's area in a course (``enrolment.enrolled``); the seeker is
    then in training."""
    course = await store.get_course(uow.session, course_id, for_update=True)
    if course is None:
        raise InvalidInput("unknown course", errors=[FieldError("course_id", "no such course")])
    seeker = await load_seeker(
        uow.session, principal=principal, seeker_id=seeker_id, for_update=True
    )
    if seeker.state.status not in ("seeking", "in_training"):
        raise Conflict(f"seeker {seeker_id} is {seeker.state.status}")
    taken = await uow.session.scalar(
        select(EnrolmentRow.id).where(
            EnrolmentRow.course_id == course_id,
            EnrolmentRow.seeker_id == seeker_id,
            EnrolmentRow.status == "enrolled",
        )
    )
    if taken is not None:
        raise Conflict(f"seeker {seeker_id} is already enrolled in course {course_id}")
    enrolment = training.Enrolment.enrol(
        enrolment_id=str(uuid.uuid4()),
        course=course,
        seeker_id=seeker_id,
        seeker_path=seeker.state.path,
        required=required,
        today=today or current_date(),
    )
    uow.track(enrolment, seeker)
    seeker.set_status("in_training")
    await store.save_course(uow.session, enrolment.state.course)
    await store.save_enrolment(uow.session, enrolment)
    await store.save_seeker(uow.session, seeker)
    _audit(uow, principal, "create", enrolment)
    return enrolment.state


def _audit(
    uow: UnitOfWork, principal: Principal, action: str, enrolment: training.Enrolment
) -> None:
    """The audit row of a change to a seeker's enrolment (:mod:`shared.audit`)."""
    state = enrolment.state
    audit.record_change(uow, principal, action, "enrolment", state.id, state.seeker_path)


async def _enrolment(
    session: AsyncSession, principal: Principal, enrolment_id: str, *, for_update: bool = False
) -> training.Enrolment:
    enrolment = await store.get_enrolment(session, enrolment_id, for_update=for_update)
    if enrolment is None:
        raise NotFound(f"no enrolment {enrolment_id}")
    confine(principal, enrolment.state.seeker_path)
    return enrolment


async def attend(
    uow: UnitOfWork, *, principal: Principal, enrolment_id: str, day: date
) -> training.EnrolmentSnapshot:
    """Record that the seeker attended the session of ``day`` (409 when already recorded)."""
    enrolment = await _enrolment(uow.session, principal, enrolment_id, for_update=True)
    if await uow.session.get(AttendanceRow, (enrolment_id, day)) is not None:
        raise Conflict(f"attendance on {day} is already recorded")
    enrolment.attend(day)
    uow.session.add(AttendanceRow(enrolment_id=enrolment_id, day=day))
    await store.save_enrolment(uow.session, enrolment)
    _audit(uow, principal, "attend", enrolment)
    return enrolment.state


async def _back_to_seeking(uow: UnitOfWork, seeker_id: str) -> None:
    """A seeker whose last open enrolment ended seeks again."""
    still = await uow.session.scalar(
        select(EnrolmentRow.id).where(
            EnrolmentRow.seeker_id == seeker_id, EnrolmentRow.status == "enrolled"
        )
    )
    seeker = await store.get_seeker(uow.session, seeker_id, for_update=True)
    assert seeker is not None
    uow.track(seeker)
    if still is None and seeker.state.status == "in_training":
        seeker.set_status("seeking")
        await store.save_seeker(uow.session, seeker)


async def complete(
    uow: UnitOfWork,
    *,
    principal: Principal,
    enrolment_id: str,
    completed_on: date,
) -> training.EnrolmentSnapshot:
    """Complete a course with enough sessions attended (``enrolment.completed``); the course's
    skills become the seeker's (``seeker.updated``)."""
    enrolment = await _enrolment(uow.session, principal, enrolment_id, for_update=True)
    uow.track(enrolment)
    enrolment.complete(on=completed_on)
    await store.save_enrolment(uow.session, enrolment)
    await uow.session.flush()
    seeker = await store.get_seeker(uow.session, enrolment.state.seeker_id, for_update=True)
    assert seeker is not None
    uow.track(seeker)
    if seeker.state.status != "withdrawn" and seeker.learn(enrolment.state.course.skills):
        await store.save_seeker(uow.session, seeker)
    await _back_to_seeking(uow, enrolment.state.seeker_id)
    _audit(uow, principal, "complete", enrolment)
    return enrolment.state


async def leave(
    uow: UnitOfWork,
    *,
    principal: Principal,
    enrolment_id: str,
    left_on: date,
) -> training.EnrolmentSnapshot:
    """Refuse (before it starts) or abandon (once started) a course (``enrolment.abandoned``).
    For required reemployment training a held concession card is revoked with the reason
    (``seeker.card_revoked``)."""
    enrolment = await _enrolment(uow.session, principal, enrolment_id, for_update=True)
    uow.track(enrolment)
    how = enrolment.leave(on=left_on)
    await store.save_enrolment(uow.session, enrolment)
    await uow.session.flush()
    seeker = await store.get_seeker(uow.session, enrolment.state.seeker_id, for_update=True)
    assert seeker is not None
    uow.track(seeker)
    reason = revocation_reason(required=enrolment.state.required, how=how, card=seeker.state.card)
    if reason is not None:
        seeker.revoke_card(reason=reason, on=left_on, enrolment_id=enrolment_id)
        await store.save_seeker(uow.session, seeker)
    await _back_to_seeking(uow, enrolment.state.seeker_id)
    _audit(uow, principal, "leave", enrolment)
    return enrolment.state


# -- queries -------------------------------------------------------------------------------


async def get_course(session: AsyncSession, *, course_id: str) -> training.CourseSnapshot:
    """One course (every token reads courses)."""
    course = await store.get_course(session, course_id)
    if course is None:
        raise NotFound(f"no course {course_id}")
    return course


async def list_courses(
    session: AsyncSession,
    *,
    skill: str | None = None,
    open_on: date | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[training.CourseSnapshot]:
    """Courses by id; teaching ``skill`` (or a narrower one); not ended on ``open_on``."""
    query = select(CourseRow)
    if open_on is not None:
        query = query.where(CourseRow.ends_on >= open_on)
    if after is not None:
        query = query.where(CourseRow.id > after)
    rows = (await session.scalars(query.order_by(CourseRow.id))).all()
    found = [store.course_snapshot(row) for row in rows]
    if skill is not None:
        found = [c for c in found if skill in taxonomy().covered(c.skills)]
    return found[:limit]


async def get_enrolment(
    session: AsyncSession, *, principal: Principal, enrolment_id: str
) -> training.EnrolmentSnapshot:
    """One enrolment (404 outside the token's area)."""
    return (await _enrolment(session, principal, enrolment_id)).state
