"""No existence oracle across areas: a look-up answers the same for a number registered in
another area as for one never registered."""

from __future__ import annotations

import httpx
import pytest

from registry.domain.national_id import check_character
from registry.settings import Settings
from shared.testing.service import bearer

pytestmark = [pytest.mark.integration]


def number(sequence: int) -> str:
    first_17 = f"11010519491231{sequence:03d}"
    return first_17 + check_character(first_17)


async def test_lookup_answers_alike_for_missing_and_elsewhere(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    body = {"community_id": "m3", "address": "3 Nanjie", "registered_on": "2020-05-01"}
    household_id = (await client.post("/households", json=body, headers=writer)).json()["id"]
    resident = {
        "national_id": number(2),
        "name": "Sun Mei",
        "sex": "female",
        "birth_date": "1949-12-31",
        "household_id": household_id,
        "employment_status": "retired",
    }
    assert (await client.post("/residents", json=resident, headers=writer)).status_code == 201
    confined = bearer(settings, "registry:read", "pii:read", area="s1")
    answers = []
    for probe in (number(2), number(4)):
        for response in (
            await client.get("/residents/lookup", params={"national_id": probe}, headers=confined),
            await client.post("/residents/lookup", json={"national_id": probe}, headers=confined),
        ):
            assert response.status_code == 404
            problem = response.json()
            problem.pop("instance", None)
            problem.pop("request_id", None)
            answers.append((problem, sorted(response.headers.keys())))
    assert all(answer == answers[0] for answer in answers)
