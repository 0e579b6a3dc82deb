"""Assessment: a versioned instrument (Barthel ADL index plus a Lawton IADL list) scored to a
care level, the service package of each level, and when to assess again.

The Barthel index (Mahoney & Barthel, 1965) scores ten activities of daily living in steps of
five, 0 to 100; each item allows only its own scores (:data:`BARTHEL_ITEMS`). The IADL list
(Lawton & Brody, 1969) names eight instrumental activities; the assessor lists those the elder
needs help with. The care level follows the bands the Chinese elderly-capability standard uses
for the Barthel index (100 intact, 61–99 mild, 41–60 moderate, 0–40 severe), with an elder who
scores 100 but needs help with two or more instrumental activities counted as mild. An
instrument is never changed in place: a new one gets a new version and old assessments keep
theirs.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from shared.contracts.eldercare import ServiceKind
from shared.errors import FieldError, InvalidInput

BARTHEL_ITEMS: Mapping[str, tuple[int, ...]] = {
    "feeding": (0, 5, 10),
    "bathing": (0, 5),
    "grooming": (0, 5),
    "dressing": (0, 5, 10),
    "bowels": (0, 5, 10),
    "bladder": (0, 5, 10),
    "toilet_use": (0, 5, 10),
    "transfers": (0, 5, 10, 15),
    "mobility": (0, 5, 10, 15),
    "stairs": (0, 5, 10),
}
"""The ten Barthel items and the scores each allows (their maxima add up to 100)."""

IADL_ACTIVITIES: tuple[str, ...] = (
    "telephone",
    "shopping",
    "food_preparation",
    "housekeeping",
    "laundry",
    "transportation",
    "medications",
    "finances",
)
"""The eight Lawton instrumental activities."""

CARE_LEVEL_NAMES: Mapping[int, str] = {0: "capable", 1: "mild", 2: "moderate", 3: "severe"}


@dataclass(frozen=True)
class Instrument:
    """One version of the assessment instrument."""

    version: str
    barthel_items: Mapping[str, tuple[int, ...]]
    iadl_activities: tuple[str, ...]
    reassess_months: Mapping[int, int]
    """Care level → months until the next assessment."""

    def barthel_score(self, items: Mapping[str, int]) -> int:
        """The Barthel index of a complete set of item scores (422 naming a wrong item)."""
        errors = [
            FieldError(f"barthel.{name}", "missing")
            for name in self.barthel_items
            if name not in items
        ]
        for name, score in items.items():
            allowed = self.barthel_items.get(name)
            if allowed is None:
                errors.append(FieldError(f"barthel.{name}", "not an item of this instrument"))
            elif score not in allowed:
                errors.append(
                    FieldError(f"barthel.{name}", "must be one of " + ", ".join(map(str, allowed)))
                )
        if errors:
            raise InvalidInput("invalid Barthel items", errors=errors)
        return sum(items.values())

    def iadl_dependent(self, activities: Sequence[str]) -> int:
        """How many instrumental activities the elder needs help with (422 on an unknown
        or repeated one)."""
        errors = [
            FieldError("iadl_dependent", f"{name!r} is not an activity of this instrument")
            for name in activities
            if name not in self.iadl_activities
        ]
        if len(set(activities)) != len(activities):
            errors.append(FieldError("iadl_dependent", "an activity is listed twice"))
        if errors:
            raise InvalidInput("invalid IADL list", errors=errors)
        return len(activities)

    def reassess_on(self, level: int, assessed_on: date) -> date:
        """When an elder of ``level`` assessed on ``assessed_on`` is due again."""
        return add_months(assessed_on, self.reassess_months[level])


def care_level(barthel_score: int, iadl_dependent_count: int) -> int:
    """Care level 0 (capable) to 3 (severe) of a Barthel index and IADL count."""
    if barthel_score <= 40:
        return 3
    if barthel_score <= 60:
        return 2
    if barthel_score < 100 or iadl_dependent_count >= 2:
        return 1
    return 0


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months``, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


BARTHEL_IADL_1 = Instrument(
    version="barthel-iadl-1",
    barthel_items=BARTHEL_ITEMS,
    iadl_activities=IADL_ACTIVITIES,
    reassess_months={0: 12, 1: 12, 2: 6, 3: 6},
)
INSTRUMENTS: Mapping[str, Instrument] = {BARTHEL_IADL_1.version: BARTHEL_IADL_1}
CURRENT_INSTRUMENT = BARTHEL_IADL_1.version


def instrument(version: str | None) -> Instrument:
    """An instrument by version (the current one for None; 422 for an unknown one)."""
    found = INSTRUMENTS.get(version or CURRENT_INSTRUMENT)
    if found is None:
        raise InvalidInput(
            "unknown instrument",
            errors=[FieldError("instrument", "one of " + ", ".join(sorted(INSTRUMENTS)))],
        )
    return found


@dataclass(frozen=True)
class PackageItem:
    """One service of a care package and how often it is offered."""

    service: ServiceKind
    visits_per_week: int


CARE_PACKAGES: Mapping[int, tuple[PackageItem, ...]] = {
    0: (PackageItem("companionship", 1), PackageItem("health_check", 0)),
    1: (
        PackageItem("companionship", 1),
        PackageItem("health_check", 1),
        PackageItem("cleaning", 1),
    ),
    2: (
        PackageItem("meal_delivery", 5),
        PackageItem("cleaning", 2),
        PackageItem("bathing", 1),
        PackageItem("health_check", 1),
        PackageItem("day_care", 3),
    ),
    3: (
        PackageItem("meal_delivery", 7),
        PackageItem("cleaning", 3),
        PackageItem("bathing", 2),
        PackageItem("health_check", 2),
        PackageItem("companionship", 3),
    ),
}
"""Care level → the service package its care plan offers (0 visits: on request)."""


@dataclass(frozen=True)
class AssessmentSnapshot:
    """A recorded, scored assessment."""

    id: str
    resident_id: str
    community_id: str
    path: tuple[str, ...]
    instrument: str
    barthel: Mapping[str, int]
    iadl_dependent: tuple[str, ...]
    barthel_score: int
    iadl_dependent_count: int
    care_level: int
    assessed_on: date
    reassess_on: date
    assessor: str


@dataclass(frozen=True)
class AssessmentCompleted:
    """An assessment was recorded."""

    assessment: AssessmentSnapshot


def assess(
    *,
    resident_id: str,
    community_id: str,
    path: tuple[str, ...],
    version: str | None,
    barthel: Mapping[str, int],
    iadl_dependent: Sequence[str],
    assessed_on: date,
    today: date,
    assessor: str,
) -> tuple[AssessmentSnapshot, AssessmentCompleted]:
    """Score an assessment with its instrument; the assessment and its event."""
    if assessed_on > today:
        raise InvalidInput(
            "assessment in the future", errors=[FieldError("assessed_on", "after today")]
        )
    used = instrument(version)
    score = used.barthel_score(barthel)
    dependent = used.iadl_dependent(iadl_dependent)
    level = care_level(score, dependent)
    snapshot = AssessmentSnapshot(
        id=str(uuid.uuid4()),
        resident_id=resident_id,
        community_id=community_id,
        path=path,
        instrument=used.version,
        barthel=dict(barthel),
        iadl_dependent=tuple(iadl_dependent),
        barthel_score=score,
        iadl_dependent_count=dependent,
        care_level=level,
        assessed_on=assessed_on,
        reassess_on=used.reassess_on(level, assessed_on),
        assessor=assessor,
    )
    return snapshot, AssessmentCompleted(snapshot)
