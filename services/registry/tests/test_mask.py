"""A mask that masks: without ``pii:read`` no combination of what a response carries (reads,
writes, idempotent replays) and the birth date an age-milestone event reveals rebuilds a
national id number (about 500 remain); stored numbers are bound to their
resident and older values are re-encrypted bound."""

from __future__ import annotations

import base64
import os
from datetime import date
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, text, update

from registry.adapters.people import ResidentRow
from registry.domain.national_id import check_character
from registry.pii import ASSOCIATED_DATA, PiiProtector, key_id
from registry.reencryption import fill_area_codes, reencrypt_national_ids
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.testing.service import bearer

pytestmark = [pytest.mark.integration]

NUMBER = "11010519491231002X"


def candidates(shown: dict[str, Any], *, born: date) -> list[str]:
    """Every valid number agreeing with every character a masked response shows, its sex and
    the birth date an age-milestone event reveals (its day, minus the age)."""
    masked = shown["national_id"]
    parity = 1 if shown["sex"] == "male" else 0
    found = []
    for sequence in range(parity, 1000, 2):
        first_17 = f"{masked[:6]}{born:%Y%m%d}{sequence:03d}"
        number = first_17 + check_character(first_17)
        if all(seen in ("*", real) for seen, real in zip(masked, number, strict=True)):
            found.append(number)
    return found


async def wang_fang(client: httpx.AsyncClient, writer: dict[str, str]) -> dict[str, object]:
    """The registration body of a resident holding :data:`NUMBER`, in a new household of m1."""
    body = {"community_id": "m1", "address": "1 Dongjie Road", "registered_on": "2020-05-01"}
    household_id = (await client.post("/households", json=body, headers=writer)).json()["id"]
    return {
        "national_id": NUMBER,
        "name": "Wang Fang",
        "sex": "female",
        "birth_date": "1949-12-31",
        "household_id": household_id,
        "employment_status": "retired",
    }


async def test_masked_answers_never_rebuild_the_number(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    resident_body = await wang_fang(client, writer)
    keyed = {**writer, "Idempotency-Key": "mask-1"}
    created = await client.post("/residents", json=resident_body, headers=keyed)
    replayed = await client.post("/residents", json=resident_body, headers=keyed)
    assert created.status_code == replayed.status_code == 201
    resident_id = created.json()["id"]
    got = (await client.get(f"/residents/{resident_id}", headers=writer)).json()
    [listed] = (await client.get("/residents", headers=writer)).json()["items"]
    died = await client.post(
        f"/residents/{resident_id}/death",
        json={"died_on": date.today().isoformat()},
        headers={**writer, "Idempotency-Key": "mask-2"},
    )
    for shown in (created.json(), replayed.json(), got, listed, died.json()):
        assert shown["national_id_masked"]
        assert shown["birth_date"] is None
        assert "1949-12-31" not in str(shown)
        assert "19491231" not in str(shown)
        assert len(candidates(shown, born=date(1949, 12, 31))) == 500

    pii_reader = bearer(settings, "registry:read", "pii:read")
    clear = (await client.get(f"/residents/{resident_id}", headers=pii_reader)).json()
    assert clear["birth_date"] == "1949-12-31"
    assert clear["national_id"] == NUMBER


async def test_numbers_swapped_between_rows_are_refused_and_old_values_are_rebound(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    body = {"community_id": "m1", "address": "1 Dongjie Road", "registered_on": "2020-05-01"}
    household_id = (await client.post("/households", json=body, headers=writer)).json()["id"]
    ids = []
    for number, sex, born in (
        (NUMBER, "female", "1949-12-31"),
        ("110105194912310011", "male", "1949-12-31"),
    ):
        first_17 = number[:17]
        number = first_17 + check_character(first_17)
        response = await client.post(
            "/residents",
            json={
                "national_id": number,
                "name": "Li",
                "sex": sex,
                "birth_date": born,
                "household_id": household_id,
                "employment_status": "retired",
            },
            headers=writer,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    pii = PiiProtector.from_settings(settings)
    pii_reader = bearer(settings, "registry:read", "pii:read")
    engine = create_engine(settings.resolved_database_url())
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        rows = await session.execute(
            select(ResidentRow.id, ResidentRow.national_id_encrypted).where(ResidentRow.id.in_(ids))
        )
        stored_values = {resident_id: value for resident_id, value in rows}
    first, second = stored_values[ids[0]], stored_values[ids[1]]
    async with sessions() as session, session.begin():
        await session.execute(
            update(ResidentRow).where(ResidentRow.id == ids[1]).values(national_id_encrypted=first)
        )
    swapped = await client.get(f"/residents/{ids[1]}", headers=pii_reader)
    assert swapped.status_code == 500  # noticed, never the other resident's number
    assert NUMBER not in swapped.text

    key = base64.b64decode(settings.pii_encryption_key.get_secret_value())
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, NUMBER.encode(), ASSOCIATED_DATA)
    legacy = f"{key_id(key)}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"
    async with sessions() as session, session.begin():
        await session.execute(
            update(ResidentRow).where(ResidentRow.id == ids[0]).values(national_id_encrypted=legacy)
        )
        await session.execute(
            update(ResidentRow).where(ResidentRow.id == ids[1]).values(national_id_encrypted=second)
        )
    assert (await client.get(f"/residents/{ids[0]}", headers=pii_reader)).json()[
        "national_id"
    ] == NUMBER
    assert await reencrypt_national_ids(sessions, pii=pii) == 1
    assert await reencrypt_national_ids(sessions, pii=pii) == 0
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT national_id_encrypted FROM resident WHERE id = :id"), {"id": ids[0]}
            )
        ).scalar_one()
    await engine.dispose()
    assert stored.startswith(f"r1:{pii.current_key_id}:")
    assert (await client.get(f"/residents/{ids[0]}", headers=pii_reader)).json()[
        "national_id"
    ] == NUMBER


async def test_numbers_stored_without_their_address_code_are_masked_alike_and_filled(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    resident_body = await wang_fang(client, writer)
    created = await client.post("/residents", json=resident_body, headers=writer)
    resident_id = created.json()["id"]
    engine = create_engine(settings.resolved_database_url())
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            stored = await session.scalar(
                select(ResidentRow.national_id_area_code).where(ResidentRow.id == resident_id)
            )
            assert stored == NUMBER[:6]  # kept at registration
            await session.execute(  # as a row stored before the column was
                update(ResidentRow)
                .where(ResidentRow.id == resident_id)
                .values(national_id_area_code=None)
            )
        got = (await client.get(f"/residents/{resident_id}", headers=writer)).json()
        [listed] = (await client.get("/residents", headers=writer)).json()["items"]
        assert got["national_id"] == listed["national_id"] == "110105************"
        pii = PiiProtector.from_settings(settings)
        assert await fill_area_codes(sessions, pii=pii) == 1
        assert await fill_area_codes(sessions, pii=pii) == 0
        async with sessions() as session:
            stored = await session.scalar(
                select(ResidentRow.national_id_area_code).where(ResidentRow.id == resident_id)
            )
        assert stored == NUMBER[:6]
        got = (await client.get(f"/residents/{resident_id}", headers=writer)).json()
        assert got["national_id"] == "110105************"
    finally:
        await engine.dispose()
