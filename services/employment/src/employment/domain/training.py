"""Training courses and enrolments.

A course teaches skills (taxonomy codes) between two dates in a number of sessions, for a
number of places. A seeker is enrolled (by choice, or assigned as *required* reemployment
training); attendance is recorded per session day; a course is completed with at least 80 % of
its sessions attended, and its skills then become the seeker's. An enrolment is refused before
the course starts or abandoned during it: for required training that revokes the concession
card (:func:`employment.domain.seekers.revocation_reason`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from shared.errors import Conflict, FieldError, InvalidInput

EnrolmentStatus = Literal["enrolled", "completed", "refused", "abandoned"]
COMPLETION_ATTENDANCE = 0.8
"""Share of a course's sessions a seeker must attend to complete it."""


@dataclass(frozen=True)
class CourseSnapshot:
    """A training course."""

    id: str
    title: str
    community_id: str
    path: tuple[str, ...]
    skills: tuple[str, ...]
    starts_on: date
    ends_on: date
    sessions: int
    capacity: int
    enrolled: int


@dataclass(frozen=True)
class CourseScheduled:
    """Domain event: a course was scheduled."""

    course: CourseSnapshot


def schedule_course(course: CourseSnapshot) -> tuple[CourseSnapshot, CourseScheduled]:
    """Check a new course; the course and its event."""
    errors: list[FieldError] = []
    if not course.skills:
        errors.append(FieldError("skills", "a course teaches at least one skill"))
    if course.ends_on < course.starts_on:
        errors.append(FieldError("ends_on", "not before starts_on"))
    if not 1 <= course.sessions <= 365:
        errors.append(FieldError("sessions", "between 1 and 365"))
    if not 1 <= course.capacity <= 1000:
        errors.append(FieldError("capacity", "between 1 and 1000"))
    if errors:
        raise InvalidInput("invalid course", errors=errors)
    return course, CourseScheduled(course)


def sessions_needed(sessions: int) -> int:
    """Sessions to attend to complete a course of ``sessions``."""
    return math.ceil(COMPLETION_ATTENDANCE * sessions)


@dataclass(frozen=True)
class EnrolmentSnapshot:
    """A seeker's enrolment in a course."""

    id: str
    course: CourseSnapshot
    seeker_id: str
    seeker_path: tuple[str, ...]
    required: bool
    status: EnrolmentStatus
    sessions_attended: int
    ended_on: date | None


@dataclass(frozen=True)
class TrainingEnrolled:
    """Domain event: a seeker was enrolled."""

    enrolment: EnrolmentSnapshot


@dataclass(frozen=True)
class TrainingCompleted:
    """Domain event: a seeker completed a course."""

    enrolment: EnrolmentSnapshot


@dataclass(frozen=True)
class TrainingAbandoned:
    """Domain event: a seeker refused or abandoned a course."""

    enrolment: EnrolmentSnapshot


EnrolmentEvent = TrainingEnrolled | TrainingCompleted | TrainingAbandoned


@dataclass
class Enrolment:
    """An enrolment; commands check their rules and record events in ``events``."""

    state: EnrolmentSnapshot
    events: list[EnrolmentEvent] = field(default_factory=list)

    @classmethod
    def enrol(
        cls,
        *,
        enrolment_id: str,
        course: CourseSnapshot,
        seeker_id: str,
        seeker_path: tuple[str, ...],
        required: bool,
        today: date,
    ) -> Enrolment:
        """Enrol a seeker in a course that has not ended and has a place left."""
        if course.ends_on < today:
            raise Conflict(f"course {course.id} ended on {course.ends_on}")
        if course.enrolled >= course.capacity:
            raise Conflict(f"course {course.id} is full ({course.capacity} places)")
        state = EnrolmentSnapshot(
            id=enrolment_id,
            course=replace(course, enrolled=course.enrolled + 1),
            seeker_id=seeker_id,
            seeker_path=seeker_path,
            required=required,
            status="enrolled",
            sessions_attended=0,
            ended_on=None,
        )
        enrolment = cls(state)
        enrolment.events.append(TrainingEnrolled(state))
        return enrolment

    def _ensure_enrolled(self) -> None:
        if self.state.status != "enrolled":
            raise Conflict(f"enrolment {self.state.id} is {self.state.status}")

    def attend(self, day: date) -> None:
        """Count one session attended on ``day`` (within the course's dates)."""
        self._ensure_enrolled()
        course = self.state.course
        if not course.starts_on <= day <= course.ends_on:
            raise InvalidInput(
                "not a course day",
                errors=[FieldError("day", f"between {course.starts_on} and {course.ends_on}")],
            )
        if self.state.sessions_attended >= course.sessions:
            raise Conflict(f"all {course.sessions} sessions are already attended")
        self.state = replace(self.state, sessions_attended=self.state.sessions_attended + 1)

    def complete(self, *, on: date) -> None:
        """Complete the course: enough sessions attended, on or after its first day."""
        self._ensure_enrolled()
        needed = sessions_needed(self.state.course.sessions)
        if self.state.sessions_attended < needed:
            raise Conflict(
                f"{self.state.sessions_attended} sessions attended, {needed} needed to complete"
            )
        self.state = replace(self.state, status="completed", ended_on=on)
        self.events.append(TrainingCompleted(self.state))

    def leave(self, *, on: date) -> Literal["refused", "abandoned"]:
        """Refuse (before the course starts) or abandon (once it started) the enrolment."""
        self._ensure_enrolled()
        how: Literal["refused", "abandoned"] = (
            "refused" if on < self.state.course.starts_on else "abandoned"
        )
        self.state = replace(self.state, status=how, ended_on=on)
        self.events.append(TrainingAbandoned(self.state))
        return how
