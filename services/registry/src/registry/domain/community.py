"""The people and bodies of a community: workers, social organisations, volunteers.

Rules and statistics from docs/domain.md §1 (seeds 000, 002, 004):

- **Community workers** are elected committee members, hired community officers and party
  secretaries. Shenyang reports its 9,092 workers by education (87.2 % with a college degree or
  above) and average age (38); Jincheng's plan asks for cross part-time appointments between the
  party organisation's leadership and the committee's members in at least 50 % of cases by 2007.
  A worker record is one appointment: a role held from ``appointed_on`` to ``left_on``
  (inclusive; null while serving).
- **Social organisations** (Dongcheng: 3,190 with 96,055 members) are registered with a
  community.
- **Volunteers** (Dongcheng: 119,295 registered, 22 % of residents) register with a community,
  maybe as members of a volunteer team, and log their service hours.

Everything here is pure: entities check their rules and record domain events, which the
adapters map to the integration events of ``shared.contracts.registry``. A broken rule raises
:class:`shared.errors.InvalidInput` naming the field (``appointed_on``), or :class:`Conflict`
when the aggregate's state forbids the command. The community a record is attached to is a
:class:`registry.domain.areas.CommunityRef`, checked by
:func:`registry.domain.areas.require_current_community`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from registry.domain.areas import CommunityRef
from registry.domain.dates import not_before, not_in_future
from shared.contracts.registry import Education, Sex, WorkerRole
from shared.errors import Conflict, FieldError, InvalidInput

Appointment = Literal["elected", "hired"]

COLLEGE_OR_ABOVE: frozenset[Education] = frozenset({"college", "bachelor", "postgraduate"})
"""Education levels that count as "college degree or above" (Shenyang: 87.2 % of workers)."""

CROSS_APPOINTMENT_ROLES: frozenset[WorkerRole] = frozenset(
    {"party_secretary", "committee_director", "deputy_director", "committee_member"}
)
"""Roles that are party or committee posts, the base of the cross-appointment share.

A cross appointment joins a party-organisation post and a committee post in one person, so only
holders of such posts can be cross-appointed; hired community officers (``officer``) hold
neither and would dilute the share Jincheng's target is about.
"""

CROSS_APPOINTMENT_TARGET = 0.5
"""Jincheng's plan (seed 002): cross appointments in at least 50 % of cases by 2007."""

MIN_WORKER_AGE = 18
"""Youngest age (in years reached during the year of appointment) of a community worker:
committee members are elected by and from residents of voting age (18)."""

MAX_WORKER_AGE = 100
"""Oldest plausible age at appointment; a birth year further back is a typing error."""

MAX_HOURS_PER_DAY = 24.0
"""Hours one volunteer can serve in one day: one entry, and all entries of a day together."""


# -- figures -------------------------------------------------------------------------------


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to four places, or None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


# -- community workers ---------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSnapshot:
    """The state of one appointment."""

    id: str
    community_id: str
    path: tuple[str, ...]
    role: WorkerRole
    appointment: Appointment
    education: Education
    birth_year: int
    sex: Sex
    cross_appointed: bool
    appointed_on: date
    left_on: date | None

    def serves_on(self, day: date) -> bool:
        """Whether the worker is in the role on ``day`` (``left_on`` is the last day in it)."""
        return serves_on(self.appointed_on, self.left_on, day)


@dataclass(frozen=True)
class WorkerAppointed:
    """Domain event: a worker was elected or hired into a role."""

    worker: WorkerSnapshot


@dataclass(frozen=True)
class WorkerLeft:
    """Domain event: a worker left the role (``worker.left_on`` is set)."""

    worker: WorkerSnapshot


def serves_on(appointed_on: date, left_on: date | None, day: date) -> bool:
    """Whether an appointment from ``appointed_on`` to ``left_on`` (inclusive) covers ``day``."""
    return appointed_on <= day and (left_on is None or day <= left_on)


@dataclass
class Worker:
    """A community worker's appointment; commands record events in ``events``."""

    state: WorkerSnapshot
    events: list[WorkerAppointed | WorkerLeft] = field(default_factory=list)

    @classmethod
    def appoint(
        cls,
        *,
        worker_id: str,
        community: CommunityRef,
        role: WorkerRole,
        appointment: Appointment,
        education: Education,
        birth_year: int,
        sex: Sex,
        cross_appointed: bool,
        appointed_on: date,
        today: date,
    ) -> Worker:
        """Appoint a worker: the appointment date is not in the future and the worker is of
        age (:data:`MIN_WORKER_AGE` to :data:`MAX_WORKER_AGE`) in that year."""
        not_in_future(appointed_on, today=today, field="appointed_on")
        not_before(
            appointed_on,
            community.valid_from,
            field="appointed_on",
            what="the community's creation",
        )
        age = appointed_on.year - birth_year
        if not MIN_WORKER_AGE <= age <= MAX_WORKER_AGE:
            raise InvalidInput(
                f"a worker born in {birth_year} would be {age} when appointed",
                errors=[
                    FieldError(
                        "birth_year",
                        f"the worker must be {MIN_WORKER_AGE} to {MAX_WORKER_AGE} years old "
                        "in the year of appointment",
                        "age",
                    )
                ],
            )
        state = WorkerSnapshot(
            id=worker_id,
            community_id=community.id,
            path=community.path,
            role=role,
            appointment=appointment,
            education=education,
            birth_year=birth_year,
            sex=sex,
            cross_appointed=cross_appointed,
            appointed_on=appointed_on,
            left_on=None,
        )
        worker = cls(state)
        worker.events.append(WorkerAppointed(state))
        return worker

    def leave(self, *, left_on: date, today: date) -> None:
        """End the appointment on ``left_on`` (its last day); refused twice (409)."""
        if self.state.left_on is not None:
            raise Conflict(f"worker {self.state.id} already left on {self.state.left_on}")
        not_in_future(left_on, today=today, field="left_on")
        not_before(left_on, self.state.appointed_on, field="left_on", what="the appointment")
        self.state = replace(self.state, left_on=left_on)
        self.events.append(WorkerLeft(self.state))


@dataclass(frozen=True)
class WorkerFacts:
    """What the statistics need of one serving worker."""

    role: WorkerRole
    education: Education
    birth_year: int
    cross_appointed: bool


@dataclass(frozen=True)
class WorkerStats:
    """Shenyang's and Jincheng's figures for the workers serving on one day."""

    on: date
    count: int
    college_or_above: int
    college_or_above_share: float | None
    average_age: float | None
    cross_appointment_base: int
    cross_appointed: int
    cross_appointed_share: float | None
    cross_appointment_target: float
    meets_cross_appointment_target: bool | None


def worker_stats(workers: Iterable[WorkerFacts], *, on: date) -> WorkerStats:
    """Count, education share, average age and cross-appointment share of ``workers``.

    Age is ``on.year - birth_year`` (only the birth year is registered: the age reached during
    that year), averaged to one decimal. The cross-appointed share is taken over the holders of
    party and committee posts (:data:`CROSS_APPOINTMENT_ROLES`).
    """
    facts = list(workers)
    count = len(facts)
    college = sum(1 for w in facts if w.education in COLLEGE_OR_ABOVE)
    base = [w for w in facts if w.role in CROSS_APPOINTMENT_ROLES]
    crossed = sum(1 for w in base if w.cross_appointed)
    crossed_share = share(crossed, len(base))
    average_age = (
        round(math.fsum(on.year - w.birth_year for w in facts) / count, 1) if count else None
    )
    return WorkerStats(
        on=on,
        count=count,
        college_or_above=college,
        college_or_above_share=share(college, count),
        average_age=average_age,
        cross_appointment_base=len(base),
        cross_appointed=crossed,
        cross_appointed_share=crossed_share,
        cross_appointment_target=CROSS_APPOINTMENT_TARGET,
        meets_cross_appointment_target=(
            None if crossed_share is None else crossed_share >= CROSS_APPOINTMENT_TARGET
        ),
    )


# -- social organisations ------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationSnapshot:
    """A social organisation registered with a community."""

    id: str
    community_id: str
    path: tuple[str, ...]
    name: str
    kind: str
    member_count: int
    registered_on: date


@dataclass(frozen=True)
class OrganisationRegistered:
    """Domain event: a social organisation was registered."""

    organisation: OrganisationSnapshot


def register_organisation(
    *,
    organisation_id: str,
    community: CommunityRef,
    name: str,
    kind: str,
    member_count: int,
    registered_on: date,
    today: date,
) -> OrganisationRegistered:
    """Register a social organisation with a current community; the date is not in the
    future. The kind is normalised to lower case (``volunteer_team``, ``elders_association``)."""
    not_in_future(registered_on, today=today, field="registered_on")
    not_before(
        registered_on, community.valid_from, field="registered_on", what="the community's creation"
    )
    normalised = kind.strip().lower()
    if not normalised:
        raise InvalidInput(
            "an organisation needs a kind",
            errors=[FieldError("kind", "must not be blank", "blank")],
        )
    if not name.strip():
        raise InvalidInput(
            "an organisation needs a name",
            errors=[FieldError("name", "must not be blank", "blank")],
        )
    return OrganisationRegistered(
        OrganisationSnapshot(
            id=organisation_id,
            community_id=community.id,
            path=community.path,
            name=name.strip(),
            kind=normalised,
            member_count=member_count,
            registered_on=registered_on,
        )
    )


# -- volunteers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VolunteerSnapshot:
    """A volunteer registered with a community."""

    id: str
    community_id: str
    path: tuple[str, ...]
    resident_id: str | None
    organisation_id: str | None
    registered_on: date


@dataclass(frozen=True)
class VolunteerRegistered:
    """Domain event: a volunteer registered."""

    volunteer: VolunteerSnapshot


@dataclass(frozen=True)
class HoursLogged:
    """Domain event: a volunteer's service hours were logged."""

    volunteer: VolunteerSnapshot
    entry_id: str
    hours: float
    served_on: date


def register_volunteer(
    *,
    volunteer_id: str,
    community: CommunityRef,
    resident_id: str | None,
    organisation: OrganisationSnapshot | None,
    organisation_id: str | None,
    registered_on: date,
    today: date,
) -> VolunteerRegistered:
    """Register a volunteer with a current community, maybe in a volunteer team: the team
    (``organisation``, as found for ``organisation_id``) must be registered with the same
    community."""
    not_in_future(registered_on, today=today, field="registered_on")
    not_before(
        registered_on, community.valid_from, field="registered_on", what="the community's creation"
    )
    if organisation is not None:
        not_before(
            registered_on,
            organisation.registered_on,
            field="registered_on",
            what="the team's registration",
        )
    if organisation_id is not None:
        if organisation is None:
            raise InvalidInput(
                f"organisation {organisation_id} does not exist",
                errors=[FieldError("organisation_id", "no such organisation", "not_found")],
            )
        if organisation.community_id != community.id:
            raise InvalidInput(
                f"organisation {organisation_id} is registered with community "
                f"{organisation.community_id}, not {community.id}",
                errors=[
                    FieldError("organisation_id", "not registered with this community", "community")
                ],
            )
    return VolunteerRegistered(
        VolunteerSnapshot(
            id=volunteer_id,
            community_id=community.id,
            path=community.path,
            resident_id=resident_id,
            organisation_id=organisation_id,
            registered_on=registered_on,
        )
    )


def log_hours(
    *,
    volunteer: VolunteerSnapshot,
    entry_id: str,
    hours: float,
    served_on: date,
    already_logged_that_day: Sequence[float],
    today: date,
) -> HoursLogged:
    """Log ``hours`` of service on ``served_on``: more than 0 and at most 24 per entry (to
    the hundredth of an hour), not in the future, and no more than 24 in one day with the
    entries already logged for that day."""
    rounded = round(hours, 2) if math.isfinite(hours) else hours
    if not (math.isfinite(rounded) and 0 < rounded <= MAX_HOURS_PER_DAY):
        raise InvalidInput(
            "service hours must be more than 0 and at most 24 per entry",
            errors=[FieldError("hours", "must be > 0 and ≤ 24", "range")],
        )
    not_in_future(served_on, today=today, field="served_on")
    not_before(served_on, volunteer.registered_on, field="served_on", what="the registration")
    day_total = math.fsum([*already_logged_that_day, rounded])
    if round(day_total, 2) > MAX_HOURS_PER_DAY:
        logged = round(math.fsum(already_logged_that_day), 2)
        raise InvalidInput(
            f"{logged} hours are already logged for {served_on}; a day has 24",
            errors=[FieldError("hours", f"{logged} hours already logged that day", "day_total")],
        )
    return HoursLogged(volunteer=volunteer, entry_id=entry_id, hours=rounded, served_on=served_on)
