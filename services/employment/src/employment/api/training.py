"""Routes for training courses and enrolments (attendance, completion, refusal or abandonment,
which revokes the concession card for required training)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from employment import training_service as service
from employment.api.deps import Reader, WriteCommand, after_id
from employment.domain import training
from shared.audit import AuditTrail
from shared.inputs import Day, Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, page_of
from shared.runtime import SessionDep

router = APIRouter(tags=["training"])


class CourseIn(BaseModel):
    """A course to schedule."""

    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=200)
    place_id: Text = Field(max_length=32, description="Community or street holding it.")
    skills: list[Text] = Field(min_length=1, max_length=20, description="Skill codes taught.")
    starts_on: Day
    ends_on: Day
    sessions: StrictInt = Field(description="Sessions, 1 to 365 (80 % needed to complete).")
    capacity: StrictInt = Field(description="Places, 1 to 1000.")


class CourseOut(BaseModel):
    """A course."""

    id: str
    title: str
    place_id: str
    path: list[str]
    skills: list[str]
    starts_on: date
    ends_on: date
    sessions: int
    capacity: int
    enrolled: int

    @classmethod
    def of(cls, state: training.CourseSnapshot) -> CourseOut:
        """The API view of a course."""
        return cls(
            id=state.id,
            title=state.title,
            place_id=state.community_id,
            path=list(state.path),
            skills=list(state.skills),
            starts_on=state.starts_on,
            ends_on=state.ends_on,
            sessions=state.sessions,
            capacity=state.capacity,
            enrolled=state.enrolled,
        )


class CoursePage(Page[CourseOut]):
    """One page of courses."""


class EnrolmentIn(BaseModel):
    """A seeker to enrol."""

    model_config = ConfigDict(extra="forbid")

    course_id: Text = Field(max_length=36)
    seeker_id: Text = Field(max_length=36)
    required: StrictBool = Field(
        default=False,
        description="Required reemployment training: refusing or abandoning it revokes the "
        "concession card.",
    )


class AttendanceIn(BaseModel):
    """A session attended."""

    model_config = ConfigDict(extra="forbid")

    day: Day


class CompletionIn(BaseModel):
    """Completion of a course."""

    model_config = ConfigDict(extra="forbid")

    completed_on: Day


class LeavingIn(BaseModel):
    """Refusal (before the start) or abandonment (after) of a course."""

    model_config = ConfigDict(extra="forbid")

    left_on: Day


class EnrolmentOut(BaseModel):
    """An enrolment."""

    id: str
    course_id: str
    seeker_id: str
    required: bool
    status: Literal["enrolled", "completed", "refused", "abandoned"]
    sessions_attended: int
    sessions_needed: int = Field(description="Sessions to attend to complete the course.")
    ended_on: date | None

    @classmethod
    def of(cls, state: training.EnrolmentSnapshot) -> EnrolmentOut:
        """The API view of an enrolment."""
        return cls(
            id=state.id,
            course_id=state.course.id,
            seeker_id=state.seeker_id,
            required=state.required,
            status=state.status,
            sessions_attended=state.sessions_attended,
            sessions_needed=training.sessions_needed(state.course.sessions),
            ended_on=state.ended_on,
        )


@router.post("/courses", status_code=status.HTTP_201_CREATED, response_model=CourseOut)
async def schedule_course(body: CourseIn, command: WriteCommand) -> JSONResponse:
    """Schedule a training course (``course.scheduled``)."""
    return await command.run(
        service.schedule_course,
        CourseOut.of,
        status=status.HTTP_201_CREATED,
        title=body.title,
        place_id=body.place_id,
        skills=body.skills,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        sessions=body.sessions,
        capacity=body.capacity,
    )


@router.get("/courses", response_model=CoursePage)
async def list_courses(
    session: SessionDep,
    principal: Reader,
    skill: Annotated[Text | None, Query(max_length=64, description="Teaching this skill.")] = None,
    open_on: Annotated[Day | None, Query(description="Not ended on this day.")] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> CoursePage:
    """Courses by id."""
    rows = await service.list_courses(
        session, skill=skill, open_on=open_on, after=after_id(cursor), limit=limit + 1
    )
    page, next_cursor = page_of(rows, limit, lambda state: [state.id])
    return CoursePage(items=[CourseOut.of(s) for s in page], next_cursor=next_cursor)


@router.get("/courses/{course_id}", response_model=CourseOut)
async def get_course(course_id: str, session: SessionDep, principal: Reader) -> CourseOut:
    """One course."""
    return CourseOut.of(await service.get_course(session, course_id=course_id))


@router.post("/enrolments", status_code=status.HTTP_201_CREATED, response_model=EnrolmentOut)
async def enrol(body: EnrolmentIn, command: WriteCommand) -> JSONResponse:
    """Enrol a seeker of the token's area in a course (``enrolment.enrolled``)."""
    return await command.run(
        service.enrol,
        EnrolmentOut.of,
        status=status.HTTP_201_CREATED,
        course_id=body.course_id,
        seeker_id=body.seeker_id,
        required=body.required,
    )


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentOut)
async def get_enrolment(
    enrolment_id: str, session: SessionDep, principal: Reader, trail: AuditTrail
) -> EnrolmentOut:
    """One enrolment (the read is audited)."""
    enrolment = await service.get_enrolment(session, principal=principal, enrolment_id=enrolment_id)
    await trail.read(
        principal, "enrolment", [(enrolment.id, enrolment.seeker_path)], session=session
    )
    return EnrolmentOut.of(enrolment)


@router.post("/enrolments/{enrolment_id}/attendance", response_model=EnrolmentOut)
async def attend(enrolment_id: str, body: AttendanceIn, command: WriteCommand) -> JSONResponse:
    """Record a session attended on ``day``."""
    return await command.run(
        service.attend, EnrolmentOut.of, enrolment_id=enrolment_id, day=body.day
    )


@router.post("/enrolments/{enrolment_id}/complete", response_model=EnrolmentOut)
async def complete(enrolment_id: str, body: CompletionIn, command: WriteCommand) -> JSONResponse:
    """Complete the course (80 % of sessions attended; ``enrolment.completed``)."""
    return await command.run(
        service.complete, EnrolmentOut.of, enrolment_id=enrolment_id, completed_on=body.completed_on
    )


@router.post("/enrolments/{enrolment_id}/leave", response_model=EnrolmentOut)
async def leave(enrolment_id: str, body: LeavingIn, command: WriteCommand) -> JSONResponse:
    """Refuse or abandon the course (``enrolment.abandoned``); for required training the
    concession card is revoked (``seeker.card_revoked``)."""
    return await command.run(
        service.leave, EnrolmentOut.of, enrolment_id=enrolment_id, left_on=body.left_on
    )
