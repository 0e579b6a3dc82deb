"""The elder roster, kept from the registry's resident events alone.

Every resident the registry announces is remembered (a few ids and facts, no personal data),
so that one who is younger than the threshold (60 by default, a setting) joins the roster on
the day they reach it. The registry never publishes a birth date: its events carry the age on
their date, and an age-milestone event on the birthdays the rules use (60, 65, 70, 90), from
which the roster knows the exact age and the day each age was reached (:mod:`shared.ages`;
docs/architecture.md DR-6). For a resident known only from events older than the ``age``
field, the age is the one reached this calendar year and the day 1 January of that year
(:func:`reaches_age_on`).

A resident's registry ``version`` orders their states: an older state arriving late is
ignored. Death or leaving the register ends the roster entry for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from shared.ages import KnownAge, age_on_day, better, stored
from shared.contracts.registry import ResidentFlag, Sex

RosterStatus = Literal["younger", "enrolled", "deceased", "left"]
DEFAULT_THRESHOLD = 60


def reaches_age_on(birth_year: int, age: int) -> date:
    """The day a resident born in ``birth_year`` is taken to reach ``age`` when no exact age
    is known."""
    return date(birth_year + age, 1, 1)


@dataclass(frozen=True)
class ResidentFacts:
    """What a registry resident event tells the roster (its ``version`` orders them)."""

    resident_id: str
    community_id: str
    path: tuple[str, ...]
    sex: Sex
    birth_year: int
    disabled: bool
    flags: frozenset[ResidentFlag]
    version: int
    known_age: KnownAge | None = None

    @property
    def living_alone(self) -> bool:
        """The registry's ``living_alone`` flag."""
        return "living_alone" in self.flags

    @property
    def empty_nest(self) -> bool:
        """The registry's ``empty_nest`` flag."""
        return "empty_nest" in self.flags


@dataclass(frozen=True)
class ElderSnapshot:
    """The roster state of one resident."""

    resident_id: str
    community_id: str
    path: tuple[str, ...]
    sex: Sex
    birth_year: int
    disabled: bool
    living_alone: bool
    empty_nest: bool
    status: RosterStatus
    first_seen_on: date
    enrolled_on: date | None
    ended_on: date | None
    care_level: int | None
    registry_version: int
    known_age: int | None = None
    known_age_on: date | None = None
    known_age_exact: bool = False

    @property
    def known(self) -> KnownAge | None:
        """The best age the registry's events told (None for events older than ``age``)."""
        return stored(self.known_age, self.known_age_on, self.known_age_exact)

    def age(self, day: date) -> int:
        """Age on ``day``: exact after an age milestone, else from the known age (or the
        birth year, for old events)."""
        return age_on_day(self.known, self.birth_year, day)

    def day_reached(self, age: int) -> date:
        """The day the elder reached (or reaches) ``age``: their birthday, once a milestone
        told it; else 1 January of the year."""
        known = self.known
        exact = known.reached_on(age) if known is not None else None
        return exact if exact is not None else reaches_age_on(self.birth_year, age)

    def knowing(self, known: KnownAge | None) -> ElderSnapshot:
        """This state with the better of its known age and ``known``."""
        best = better(self.known, known)
        if best is None or best == self.known:
            return self
        return replace(self, known_age=best.age, known_age_on=best.on, known_age_exact=best.exact)


@dataclass(frozen=True)
class ElderEnrolled:
    """The resident joined the roster."""

    elder: ElderSnapshot
    age: int


@dataclass(frozen=True)
class ElderUpdated:
    """An enrolled elder moved or their flags changed."""

    elder: ElderSnapshot
    age: int
    changed: tuple[str, ...]


@dataclass(frozen=True)
class ElderDeceased:
    """An enrolled elder died."""

    elder: ElderSnapshot
    age: int
    died_on: date


@dataclass(frozen=True)
class ElderLeft:
    """An enrolled elder left the city's register."""

    elder: ElderSnapshot
    age: int
    left_on: date


@dataclass(frozen=True)
class CareLevelChanged:
    """An assessment gave the elder another care level."""

    elder: ElderSnapshot
    previous_level: int | None
    assessment_id: str
    changed_on: date


TRACKED_FIELDS = ("community_id", "path", "disabled", "living_alone", "empty_nest")
"""Roster fields whose change an ``ElderUpdated`` reports."""


@dataclass
class Elder:
    """One resident on (or waiting for) the roster; records its domain events."""

    state: ElderSnapshot
    events: list[Any] = field(default_factory=list)

    @classmethod
    def first_seen(
        cls, facts: ResidentFacts, *, today: date, threshold: int = DEFAULT_THRESHOLD
    ) -> Elder:
        """A resident the registry announced for the first time; enrolled at once when they
        have reached the threshold."""
        elder = cls(
            ElderSnapshot(
                resident_id=facts.resident_id,
                community_id=facts.community_id,
                path=facts.path,
                sex=facts.sex,
                birth_year=facts.birth_year,
                disabled=facts.disabled,
                living_alone=facts.living_alone,
                empty_nest=facts.empty_nest,
                status="younger",
                first_seen_on=today,
                enrolled_on=None,
                ended_on=None,
                care_level=None,
                registry_version=facts.version,
            ).knowing(facts.known_age)
        )
        elder.enrol_if_due(today=today, threshold=threshold)
        return elder

    @property
    def enrolled(self) -> bool:
        """On the roster now."""
        return self.state.status == "enrolled"

    def enrol_if_due(self, *, today: date, threshold: int = DEFAULT_THRESHOLD) -> bool:
        """Enrol a younger resident who has reached ``threshold`` by ``today``; they joined
        on the day they reached it, or the day the registry first announced them if later."""
        state = self.state
        if state.status != "younger" or state.age(today) < threshold:
            return False
        joined = max(state.day_reached(threshold), state.first_seen_on)
        self.state = replace(state, status="enrolled", enrolled_on=joined)
        self.events.append(ElderEnrolled(self.state, self.state.age(today)))
        return True

    def apply(self, facts: ResidentFacts, *, today: date, threshold: int) -> bool:
        """Take a newer registry state (False for a stale or ended one); an enrolled elder
        records what changed."""
        self.learn_age(facts.known_age, today=today, threshold=threshold)
        state = self.state
        if facts.version <= state.registry_version or state.status in ("deceased", "left"):
            return False
        updated = replace(
            state,
            community_id=facts.community_id,
            path=facts.path,
            sex=facts.sex,
            birth_year=facts.birth_year,
            disabled=facts.disabled,
            living_alone=facts.living_alone,
            empty_nest=facts.empty_nest,
            registry_version=facts.version,
        )
        changed = tuple(f for f in TRACKED_FIELDS if getattr(updated, f) != getattr(state, f))
        self.state = updated
        if state.status == "enrolled" and changed:
            self.events.append(ElderUpdated(updated, updated.age(today), changed))
        self.enrol_if_due(today=today, threshold=threshold)
        return True

    def learn_age(self, known: KnownAge | None, *, today: date, threshold: int) -> bool:
        """Keep a better known age (from any event, in any order) and enrol a younger
        resident who has now reached ``threshold``; whether the known age changed."""
        knowing = self.state.knowing(known)
        if knowing is self.state:
            return False
        self.state = knowing
        self.enrol_if_due(today=today, threshold=threshold)
        return True

    def end(
        self, facts: ResidentFacts, *, status: Literal["deceased", "left"], on: date, today: date
    ) -> bool:
        """Record death or leaving (False when already ended); an enrolled elder records it
        so the caller closes their open care."""
        state = self.state
        if state.status in ("deceased", "left"):
            return False
        was_enrolled = state.status == "enrolled"
        self.state = replace(
            state,
            status=status,
            ended_on=on,
            community_id=facts.community_id,
            path=facts.path,
            registry_version=max(state.registry_version, facts.version),
        )
        if was_enrolled:
            age = self.state.age(on)
            if status == "deceased":
                self.events.append(ElderDeceased(self.state, age, on))
            else:
                self.events.append(ElderLeft(self.state, age, on))
        return was_enrolled

    def set_care_level(self, level: int, *, assessment_id: str, on: date) -> None:
        """The care level of the newest assessment (records a change)."""
        previous = self.state.care_level
        if previous == level:
            return
        self.state = replace(self.state, care_level=level)
        self.events.append(CareLevelChanged(self.state, previous, assessment_id, on))
