"""Unit tests of GB 11643-1999 national id numbers (no I/O), with property tests."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.domain.national_id import (
    InvalidNationalId,
    check_character,
    has_valid_check_character,
    mask,
    parse_national_id,
)

TODAY = date(2026, 11, 22)
# The standard's own example: Beijing Chaoyang, born 1949-12-31, sequence 002 (female).
EXAMPLE = "11010519491231002X"


def with_check(first_17: str) -> str:
    return first_17 + check_character(first_17)


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, date, str]:
    """A valid number with the birth date and sex it encodes."""
    area = draw(st.integers(min_value=110000, max_value=829999))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(min_value=0, max_value=999))
    number = with_check(f"{area:06d}{born:%Y%m%d}{sequence:03d}")
    return number, born, "male" if sequence % 2 else "female"


def test_the_standard_example_is_valid() -> None:
    facts = parse_national_id(EXAMPLE, today=TODAY)
    assert facts.birth_date == date(1949, 12, 31)
    assert facts.sex == "female"
    assert facts.area_code == "110105"
    assert check_character(EXAMPLE[:17]) == "X"


def test_a_lowercase_x_is_accepted_and_normalised() -> None:
    assert parse_national_id(EXAMPLE.lower(), today=TODAY).normalised == EXAMPLE


@given(valid_numbers())
def test_valid_numbers_parse_to_their_birth_date_and_sex(case: tuple[str, date, str]) -> None:
    number, born, sex = case
    facts = parse_national_id(number, today=TODAY)
    assert (facts.birth_date, facts.sex, facts.normalised) == (born, sex, number)


@given(valid_numbers(), st.integers(min_value=0, max_value=17), st.integers(1, 10))
def test_any_single_character_change_breaks_the_check(
    case: tuple[str, date, str], position: int, shift: int
) -> None:
    number = case[0]
    alphabet = "0123456789X" if position == 17 else "0123456789"
    current = alphabet.index(number[position])
    replacement = alphabet[(current + shift) % len(alphabet)]
    if replacement == number[position]:
        return
    changed = number[:position] + replacement + number[position + 1 :]
    assert not has_valid_check_character(changed)
    with pytest.raises(InvalidNationalId):
        parse_national_id(changed, today=TODAY)


@given(valid_numbers())
def test_errors_never_repeat_the_number(case: tuple[str, date, str]) -> None:
    broken = case[0][:17] + ("0" if case[0][17] != "0" else "1")
    with pytest.raises(InvalidNationalId) as raised:
        parse_national_id(broken, today=TODAY)
    text = str(raised.value) + repr(raised.value.errors)
    assert broken not in text
    assert broken[:6] not in text
    assert broken[6:14] not in text


@pytest.mark.parametrize(
    ("number", "code", "message"),
    [
        ("1101051949123100", "length", "must be 18 characters"),
        ("11010519491231002XX", "length", "must be 18 characters"),
        ("1101051949123100A2", "characters", "must be 17 digits followed by a digit or X"),
        ("11010519491231002Y", "characters", "must be 17 digits followed by a digit or X"),
        ("110105194912310021", "check_digit", "check character does not match (ISO 7064 MOD 11-2)"),
        (with_check("11010519990230001"), "birth_date", "birth date is not a real date"),
        (with_check("11010519991301001"), "birth_date", "birth date is not a real date"),
        (with_check("11010518991231001"), "birth_date", "birth date is before 1900"),
        (with_check("11010520261123001"), "birth_date", "birth date is in the future"),
    ],
)
def test_invalid_numbers_say_what_is_wrong(number: str, code: str, message: str) -> None:
    with pytest.raises(InvalidNationalId) as raised:
        parse_national_id(number, today=TODAY)
    [error] = raised.value.errors
    assert (error.field, error.code, error.message) == ("national_id", code, message)
    assert raised.value.status == 422


def test_the_field_can_be_named() -> None:
    with pytest.raises(InvalidNationalId) as raised:
        parse_national_id("123", today=TODAY, field="holder.national_id")
    assert raised.value.errors[0].field == "holder.national_id"


def test_born_today_is_valid() -> None:
    assert parse_national_id(with_check("11010520261122001"), today=TODAY).sex == "male"


def test_mask_keeps_the_address_code_only() -> None:
    assert mask(EXAMPLE) == "110105************"
    assert mask(EXAMPLE.lower()) == "110105************"
    assert mask("short") == "*****"
