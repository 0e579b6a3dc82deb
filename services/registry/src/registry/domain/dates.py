"""Rules about dates that every part of the register shares.

A register records what has happened: a date it is told about (an opening, an appointment, a
move, a change to the hierarchy) may not lie in the future, and a date that ends something
may not lie before the date that began it. Each rule lives here once; errors name the field
as the rule knows it (``opened_on``), the HTTP layer adds where the request carried it.
"""

from __future__ import annotations

from datetime import date

from shared.errors import FieldError, InvalidInput

EARLIEST = date(1900, 1, 1)
"""No date of the register lies before this: a year 900 is a typo, not a record."""


def not_in_future(day: date, *, today: date, field: str, detail: str | None = None) -> date:
    """``day``, unless it lies after ``today`` (something that has happened cannot be dated
    in the future) or before :data:`EARLIEST`. ``detail`` explains a refusal of the future
    (default: "``field`` ``day`` is in the future")."""
    if day < EARLIEST:
        raise InvalidInput(
            f"{_name(field)} {day} is before {EARLIEST}",
            errors=[FieldError(field, f"must not be before {EARLIEST}", "too_early")],
        )
    if day > today:
        raise InvalidInput(
            detail or f"{_name(field)} {day} is in the future",
            errors=[FieldError(field, "must not be in the future", "future")],
        )
    return day


def not_before(day: date, start: date, *, field: str, what: str) -> date:
    """``day``, unless it lies before ``start``: an end (a closing, a departure) cannot come
    before the ``what`` it ends (e.g. "the opening")."""
    if day < start:
        raise InvalidInput(
            f"{_name(field)} {day} is before {what} ({start})",
            errors=[FieldError(field, f"must not be before {what} ({start})", "order")],
        )
    return day


def _name(field: str) -> str:
    return field.rsplit(".", 1)[-1]
