"""Citizen identity numbers (GB 11643-1999): validation and the facts they encode.

An 18-character number is a 6-digit address code, an 8-digit birth date (``YYYYMMDD``), a
3-digit sequence (odd for men, even for women) and a check character computed with ISO 7064
MOD 11-2 (``X`` stands for 10; a lowercase ``x`` is accepted).

The number is personal data: no error raised here repeats it, or any part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Literal

from shared.errors import FieldError, InvalidInput

Sex = Literal["male", "female"]

LENGTH = 18
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
"""The check character for each remainder of the weighted sum modulo 11."""
_ZEROS_SUM = ord("0") * sum(WEIGHTS)
"""The weighted sum of the digits' character codes exceeds the digits' by this much."""
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
DEFAULT_FIELD = "national_id"


class InvalidNationalId(InvalidInput):
    """A national id number that breaks GB 11643-1999 (422 naming the field; no digits)."""

    def __init__(self, reason: str, *, code: str, field: str = DEFAULT_FIELD) -> None:
        super().__init__(
            f"invalid national id number: {reason}", errors=[FieldError(field, reason, code)]
        )
        self.reason = reason


@dataclass(frozen=True)
class NationalIdFacts:
    """What a valid national id number says about its holder."""

    normalised: str
    area_code: str
    birth_date: date
    sex: Sex


def check_character(first_17_digits: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(first_17_digits) != LENGTH - 1 or not _is_digits(first_17_digits):
        raise ValueError("expected 17 digits")
    return _check_character_of_digits(first_17_digits)


def _check_character_of_digits(digits: str) -> str:
    """:func:`check_character` of 17 ASCII digits (checked by the caller): the weighted sum
    of their character codes, less that of 17 zeros (a call per number, not per digit)."""
    total = sum(map(mul, digits.encode("ascii"), WEIGHTS)) - _ZEROS_SUM
    return CHECK_CHARACTERS[total % 11]


def has_valid_check_character(number: str) -> bool:
    """Whether an 18-character number's last character matches its first 17 digits."""
    normalised = number.upper()
    if len(normalised) != LENGTH or not _is_digits(normalised[:-1]):
        return False
    return check_character(normalised[:-1]) == normalised[-1]


def parse_national_id(number: str, *, today: date, field: str = DEFAULT_FIELD) -> NationalIdFacts:
    """Validate ``number`` and return the birth date and sex it encodes.

    Raises :class:`InvalidNationalId` (naming ``field``) saying what is wrong: length,
    characters, check character, birth date (a real date, from 1900 and not after ``today``).
    """
    normalised = number.strip().upper()
    if len(normalised) != LENGTH:
        raise InvalidNationalId("must be 18 characters", code="length", field=field)
    if not _is_digits(normalised[:-1]) or not (_is_digits(normalised[-1]) or normalised[-1] == "X"):
        raise InvalidNationalId(
            "must be 17 digits followed by a digit or X", code="characters", field=field
        )
    if _check_character_of_digits(normalised[:-1]) != normalised[-1]:
        raise InvalidNationalId(
            "check character does not match (ISO 7064 MOD 11-2)", code="check_digit", field=field
        )
    birth_date = _birth_date(normalised[6:14], today=today, field=field)
    sequence = int(normalised[14:17])
    return NationalIdFacts(
        normalised=normalised,
        area_code=normalised[:6],
        birth_date=birth_date,
        sex="male" if sequence % 2 == 1 else "female",
    )


MASKED_TAIL = LENGTH - 6
"""Characters a mask hides: all but the 6-digit address (region) code."""
_HIDDEN = "*" * MASKED_TAIL


def mask(number: str) -> str:
    """The number with all but its address code hidden (``110105************``): the birth
    date, the sequence and the check character. The birth date alone can be learnt elsewhere
    (the day of an age-milestone event); with it, the region and the sex, about 500 numbers
    remain (every sequence of that parity; the check character follows), never one."""
    normalised = number.upper()
    if len(normalised) != LENGTH:
        return "*" * len(normalised)
    return mask_of_area_code(normalised[:6])


def mask_of_area_code(area_code: str) -> str:
    """The mask of any number with this 6-digit address code (what :func:`mask` shows)."""
    return area_code + _HIDDEN


def area_code_of(number: str) -> str | None:
    """The address code a mask of ``number`` shows, or None when its mask shows nothing."""
    normalised = number.upper()
    return normalised[:6] if len(normalised) == LENGTH else None


def _birth_date(digits: str, *, today: date, field: str) -> date:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidNationalId(
            "birth date is not a real date", code="birth_date", field=field
        ) from None
    if born < EARLIEST_BIRTH_DATE:
        raise InvalidNationalId("birth date is before 1900", code="birth_date", field=field)
    if born > today:
        raise InvalidNationalId("birth date is in the future", code="birth_date", field=field)
    return born


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
