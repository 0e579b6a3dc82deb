"""The elder roster, kept from the registry's resident events alone.

Every resident the registry announces is remembered (a few ids and facts, no personal data),
so that one who is younger than the threshold (60 by default, a setting) joins the roster on
the day they reach it, without the registry saying anything. The registry publishes the year
of birth only (never the day or month, by design), so the day a resident reaches an age is
taken as 1 January of the year they reach it (:func:`reaches_age_on`): nobody reaches an age
later than that day's year says, and every age-based rule of this service uses the same day.

A resident's registry ``version`` orders their states: an older state arriving late is
ignored. Death or leaving the register ends the roster entry for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from shared.contracts.registry import ResidentFlag, Sex

RosterStatus = Literal["younger", "enrolled", "deceased", "left"]
DEFAULT_THRESHOLD = 60


def reaches_age_on(birth_year: int, age: int) -> date:
    """The day a resident born in ``birth_year`` is taken to reach ``age``."""
    return date(birth_year + age, 1, 1)


def age_on(birth_year: int, day: date) -> int:
    """Age reached in the year of ``day`` by a resident born in ``birth_year``."""
    return day.year - birth_year


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

    def age(self, day: date) -> int:
        """Age reached in the year of ``day``."""
        return age_on(self.birth_year, day)


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
            )
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
        joined = max(reaches_age_on(state.birth_year, threshold), state.first_seen_on)
        self.state = replace(state, status="enrolled", enrolled_on=joined)
        self.events.append(ElderEnrolled(self.state, self.state.age(today)))
        return True

    def apply(self, facts: ResidentFacts, *, today: date, threshold: int) -> bool:
        """Take a newer registry state (False for a stale or ended one); an enrolled elder
        records what changed."""
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
