"""The hottest resident reads answer with plain values drawn straight from rows
(:func:`registry.api.people.resident_views`): they must serialise to exactly the JSON
:meth:`ResidentOut.of` gives for the same resident, masked or in clear, with or without a
stored address code (no I/O)."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from pydantic_core import to_json

from registry.adapters.people import resident_columns, resident_of
from registry.api.people import ResidentOut, resident_views
from registry.domain.national_id import check_character
from registry.domain.people import Resident, SealedNationalId
from registry.people_queries import SHOWN_COLUMNS
from registry.pii import PiiProtector

TODAY = date.today()
PII = PiiProtector(encryption_keys=[os.urandom(32)], hash_key=b"h" * 32)


def resident(number: str, **changes: Any) -> Resident:
    resident_id = f"r-{len(number) * int(number[6:14]) % 9973}"
    sealed = SealedNationalId(PII.encrypt(number, owner=resident_id), "hash", number[:6])
    base = Resident(
        id=resident_id,
        national_id=sealed,
        name="Wang Fang 王芳",
        sex="female",
        birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        household_id="h1",
        community_id="140502001001",
        path=("140500", "140502", "140502001", "140502001001"),
        registration="registered",
        permit_expires_on=None,
        employment_status="retired",
        disabled=False,
        flags=(),
        registered_on=date(2010, 1, 1),
    )
    return replace(base, **changes)


def number_born(born: str) -> str:
    first_17 = f"110105{born}002"
    return first_17 + check_character(first_17)


RESIDENTS = [
    resident(number_born("19491231")),
    resident(number_born("20000229"), flags=("empty_nest", "subsistence_allowance")),
    resident(
        number_born("19300101"),
        status="dead",
        ended_on=date(2020, 2, 28),
        disabled=True,
        flags=("living_alone", "community_correction", "entitled_group"),
    ),
    resident(
        number_born("19800615"),
        registration="floating",
        permit_expires_on=date(2030, 1, 31),
        employment_status="laid_off",
        status="left",
        ended_on=date(2025, 6, 14),
        version=4,
    ),
    resident(number_born(f"{TODAY.year - 60}{TODAY:%m%d}")),  # 60 today
]


class Row(dict[str, Any]):
    """A row of a read through SQLAlchemy: values by name, as items and attributes."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


def row_of(entity: Resident) -> Row:
    columns = resident_columns(entity)
    return Row({name: columns[name] for name in SHOWN_COLUMNS})


@pytest.mark.parametrize("reveal", [False, True])
@pytest.mark.parametrize("stored_area_code", [True, False])
def test_resident_views_are_resident_out(reveal: bool, stored_area_code: bool) -> None:
    entities = [
        entity
        if stored_area_code
        else replace(entity, national_id=replace(entity.national_id, area_code=None))
        for entity in RESIDENTS
    ]
    views = resident_views(
        [row_of(entity) for entity in entities], pii=PII, reveal=reveal, today=TODAY
    )
    assert len(views) == len(entities)
    for view, entity in zip(views, entities, strict=True):
        stored = resident_of(Row(resident_columns(entity)))  # as a read loads it
        expected = ResidentOut.of(stored, pii=PII, reveal=reveal).model_dump_json()
        assert to_json(view).decode() == expected
        if not reveal:
            assert view["national_id"] == "110105************"


def test_a_view_in_clear_shows_the_number_and_a_masked_one_only_its_address_code() -> None:
    number = number_born("19491231")
    row = row_of(resident(number))
    [clear] = resident_views([row], pii=PII, reveal=True, today=TODAY)
    [masked] = resident_views([row], pii=PII, reveal=False, today=TODAY)
    assert clear["national_id"] == number
    assert clear["birth_date"] == date(1949, 12, 31)
    assert masked["national_id"] == "110105************"
    assert masked["birth_date"] is None
    assert number[6:] not in str(masked)
