"""Checking a matter's conditions against what casework knows of a resident.

Casework keeps a resident's community, birth year, known age, registration, employment status,
disability and special-group flags from the registry's events (``registry.resident.*``); it
never calls the registry. The registry publishes no birth date: its events carry the age on
their date, and an age milestone on the birthdays the catalogue's conditions use (16, 60, 61,
65, 70, 90), so the age a condition checks is exact on those days (:mod:`shared.ages`, DR-6).
A resident known only from events older than the ``age`` field is checked with the age they
reach this calendar year. A refusal names the matter, the condition and the resident's fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from casework.domain.catalogue import Matter
from shared.ages import KnownAge, age_on_day
from shared.errors import FieldError, InvalidInput


@dataclass(frozen=True)
class ResidentFacts:
    """What casework knows of a registered resident."""

    resident_id: str
    community_id: str
    path: tuple[str, ...]
    birth_year: int
    registration: str
    employment_status: str
    disabled: bool
    flags: tuple[str, ...]
    status: str = "active"
    known_age: KnownAge | None = None

    def age_on(self, day: date) -> int:
        """The resident's age on ``day`` (exact after an age milestone)."""
        return age_on_day(self.known_age, self.birth_year, day)

    def described_age(self, day: date) -> str:
        """The age on ``day`` as a refusal states it."""
        age = self.age_on(day)
        return str(age) if self.known_age is not None else f"{age} (born {self.birth_year})"


def unmet_conditions(matter: Matter, resident: ResidentFacts, today: date) -> list[str]:
    """Why ``resident`` cannot apply for ``matter`` today (empty: every condition holds)."""
    reasons: list[str] = []
    if resident.status != "active":
        reasons.append(f"the resident is no longer on the register ({resident.status})")
    rules = matter.conditions
    age = resident.age_on(today)
    if rules.min_age is not None and age < rules.min_age:
        reasons.append(
            f"{matter.code} needs age {rules.min_age} or more; "
            f"the resident is {resident.described_age(today)}"
        )
    if rules.max_age is not None and age > rules.max_age:
        reasons.append(
            f"{matter.code} needs age {rules.max_age} or less; "
            f"the resident is {resident.described_age(today)}"
        )
    if rules.registration is not None and resident.registration not in rules.registration:
        reasons.append(
            f"{matter.code} needs registration {' or '.join(rules.registration)}; "
            f"the resident is {resident.registration}"
        )
    if rules.employment is not None and resident.employment_status not in rules.employment:
        reasons.append(
            f"{matter.code} needs employment status {' or '.join(rules.employment)}; "
            f"the resident is {resident.employment_status}"
        )
    if rules.disabled is not None and resident.disabled != rules.disabled:
        reasons.append(
            f"{matter.code} needs a resident "
            + ("with" if rules.disabled else "without")
            + " a disability certificate"
        )
    if rules.flags_any is not None and not set(rules.flags_any) & set(resident.flags):
        reasons.append(f"{matter.code} needs one of the groups {', '.join(rules.flags_any)}")
    return reasons


def check_conditions(
    matter: Matter, resident: ResidentFacts, today: date, *, field: str = "matter_code"
) -> None:
    """Refuse (422, naming ``field``) when ``resident`` does not meet ``matter``'s conditions."""
    reasons = unmet_conditions(matter, resident, today)
    if reasons:
        raise InvalidInput(
            "; ".join(reasons),
            errors=[FieldError(field, reason, code="condition-not-met") for reason in reasons],
        )


__all__ = ["ResidentFacts", "check_conditions", "unmet_conditions"]
