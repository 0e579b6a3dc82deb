"""Households and residents: the rules, with no I/O.

A resident's birth date and sex must agree with their national id number; a floating resident
(migrant) holds a residence permit with an expiry date, a registered one does not; a resident
who died or left the register cannot change any more. Statistics see age bands, not ages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from registry.domain.national_id import NationalIdFacts
from shared.contracts.registry import AgeBand, RegistrationStatus, ResidentFlag, Sex
from shared.errors import Conflict, FieldError, InvalidInput

ResidentStatus = Literal["alive", "dead", "left"]
HouseholdMoveReason = Literal["area_merge", "area_split", "relocation"]

PERMIT_WARNING_DAYS = 30
"""A floating resident's permit expiring within this many days raises one warning event."""

AGE_BANDS: tuple[tuple[int, AgeBand], ...] = (
    (90, "90+"),
    (80, "80-89"),
    (70, "70-79"),
    (65, "65-69"),
    (60, "60-64"),
    (50, "50-59"),
    (40, "40-49"),
    (15, "15-39"),
    (0, "0-14"),
)
"""Lower bound (inclusive) of each age band, oldest first."""

FLAG_BITS: Mapping[ResidentFlag, int] = {
    "subsistence_allowance": 1 << 0,
    "entitled_group": 1 << 1,
    "empty_nest": 1 << 2,
    "living_alone": 1 << 3,
    "community_correction": 1 << 4,
}
"""Stored bit of each special-group flag. Bits are stored in the database: never renumber."""

FLAG_ORDER: tuple[ResidentFlag, ...] = get_args(ResidentFlag)


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on ``on`` (someone born on 29 February ages on 1 March in
    common years)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def age_band(birth_date: date, on: date) -> AgeBand:
    """The statistical age band of someone born on ``birth_date``, on the day ``on``."""
    age = age_on(birth_date, on)
    for lower, band in AGE_BANDS:
        if age >= lower:
            return band
    return "0-14"


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class BirthDateRange:
    """Birth dates of people within an age range on a day: ``born_after`` < birth date ≤
    ``born_on_or_before`` (either bound may be open)."""

    born_after: date | None
    born_on_or_before: date | None


def birth_dates_for_ages(*, min_age: int | None, max_age: int | None, on: date) -> BirthDateRange:
    """The birth dates of people aged ``min_age`` to ``max_age`` (inclusive) on ``on``."""
    if min_age is not None and max_age is not None and min_age > max_age:
        raise InvalidInput(
            "min_age is greater than max_age",
            errors=[FieldError("query.max_age", "must not be less than min_age", "range")],
        )
    return BirthDateRange(
        born_after=years_before(on, max_age + 1) if max_age is not None else None,
        born_on_or_before=years_before(on, min_age) if min_age is not None else None,
    )


def check_identity(facts: NationalIdFacts, *, birth_date: date, sex: Sex) -> None:
    """Refuse a record whose birth date or sex differs from its national id number's."""
    errors = []
    if facts.birth_date != birth_date:
        errors.append(
            FieldError("body.birth_date", "does not match the national id number", "mismatch")
        )
    if facts.sex != sex:
        errors.append(FieldError("body.sex", "does not match the national id number", "mismatch"))
    if errors:
        named = " and ".join(error.field.removeprefix("body.") for error in errors)
        raise InvalidInput(f"{named} must agree with the national id number", errors=errors)


def check_permit(registration: RegistrationStatus, permit_expires_on: date | None) -> None:
    """A floating resident needs a permit expiry date; a registered resident has none."""
    if registration == "floating" and permit_expires_on is None:
        raise InvalidInput(
            "a floating resident needs a residence permit expiry date",
            errors=[
                FieldError("body.permit_expires_on", "required for a floating resident", "missing")
            ],
        )
    if registration == "registered" and permit_expires_on is not None:
        raise InvalidInput(
            "only a floating resident has a residence permit",
            errors=[
                FieldError(
                    "body.permit_expires_on", "must be null for a registered resident", "invalid"
                )
            ],
        )


def check_life_event_date(day: date, *, birth_date: date, today: date, field: str) -> None:
    """A death, departure or move date lies between the birth date and today."""
    if day > today:
        raise InvalidInput(
            "the date is in the future", errors=[FieldError(field, "must not be in the future")]
        )
    if day < birth_date:
        raise InvalidInput(
            "the date is before the resident's birth",
            errors=[FieldError(field, "must not be before the birth date")],
        )


def ensure_changeable(status: str, resident_id: str) -> None:
    """A resident who died or left cannot be changed (409)."""
    if status != "alive":
        raise Conflict(f"resident {resident_id} has {status_verb(status)}; it cannot change")


def status_verb(status: str) -> str:
    """How a final status reads in a sentence: ``died`` or ``left``."""
    return "died" if status == "dead" else status


def flags_mask(flags: Iterable[ResidentFlag]) -> int:
    """The stored bit mask of a set of flags."""
    mask = 0
    for flag in flags:
        mask |= FLAG_BITS[flag]
    return mask


def flags_of(mask: int) -> list[ResidentFlag]:
    """The flags in a stored bit mask, in the contract's order."""
    return [flag for flag in FLAG_ORDER if mask & FLAG_BITS[flag]]


def changed_fields(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    """Names of the fields whose value differs, in the order of ``after``."""
    return [name for name, value in after.items() if before.get(name) != value]


def is_current(*, valid_from: date, valid_to: date | None, on: date) -> bool:
    """Whether an area valid from ``valid_from`` to ``valid_to`` (last day, inclusive;
    None: still valid) exists on ``on``."""
    return valid_from <= on and (valid_to is None or on <= valid_to)
