"""Registry and eldercare as separate services on their own databases, joined only by Kafka:
a resident registered in the registry with a birth date 65 years ago appears in the elder
roster and gets a preferential service card proposed, without any call to eldercare but
reads."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest

from eldercare.app import create_app as create_eldercare
from eldercare.settings import Settings as EldercareSettings
from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.settings import Settings as RegistrySettings
from shared.testing.service import bearer, running_service

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]


def years_ago(years: int) -> date:
    today = date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def national_id(born: date) -> str:
    first_17 = f"110105{born:%Y%m%d}003"  # odd sequence: male
    return first_17 + check_character(first_17)


async def test_a_resident_of_65_is_enrolled_and_proposed_a_card_from_events_alone(
    fresh_postgres_url: str, sqlite_url: str, kafka_bootstrap: str
) -> None:
    registry_settings = RegistrySettings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    eldercare_settings = EldercareSettings(
        environment="development",
        database_url=sqlite_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        daily_jobs_interval_s=0.5,
    )
    prefix = f"ec{id(registry_settings) % 100000}"
    born = years_ago(65)
    async with (
        running_service(create_registry, registry_settings) as registry,
        running_service(create_eldercare, eldercare_settings) as eldercare,
    ):
        writer = bearer(registry_settings, "registry:read", "registry:write")
        for area_id, level, parent in [
            (prefix, "city", None),
            (f"{prefix}d", "district", prefix),
            (f"{prefix}s", "street", f"{prefix}d"),
            (f"{prefix}m", "community", f"{prefix}s"),
        ]:
            body: dict[str, Any] = {
                "id": area_id,
                "level": level,
                "name": area_id,
                "parent_id": parent,
                "valid_from": "2005-01-01",
            }
            response = await registry.post("/areas", json=body, headers=writer)
            assert response.status_code == 201, response.text
        household = await registry.post(
            "/households",
            json={
                "community_id": f"{prefix}m",
                "address": "1 Dongjie",
                "registered_on": "2020-05-01",
            },
            headers=writer,
        )
        assert household.status_code == 201, household.text
        resident = await registry.post(
            "/residents",
            json={
                "national_id": national_id(born),
                "name": "Li Hua",
                "sex": "male",
                "birth_date": born.isoformat(),
                "household_id": household.json()["id"],
                "employment_status": "retired",
                "flags": ["living_alone"],
            },
            headers=writer,
        )
        assert resident.status_code == 201, resident.text
        resident_id = resident.json()["id"]

        reader = bearer(eldercare_settings, "eldercare:read")
        elder: dict[str, Any] = {}
        proposals: list[dict[str, Any]] = []
        for _ in range(300):  # the first consumer-group join takes a few seconds
            found = await eldercare.get(f"/elders/{resident_id}", headers=reader)
            if found.status_code == 200:
                elder = found.json()
                listed = await eldercare.get(
                    "/entitlements", params={"resident_id": resident_id}, headers=reader
                )
                proposals = listed.json()["items"]
                if proposals:
                    break
            await asyncio.sleep(0.2)
        assert elder["status"] == "enrolled"
        assert elder["age"] == 65
        assert elder["path"] == [prefix, f"{prefix}d", f"{prefix}s", f"{prefix}m"]
        assert elder["living_alone"] is True
        assert [(p["kind"], p["status"], p["age"]) for p in proposals] == [
            ("preferential_card", "proposed", 65)
        ]
        assert proposals[0]["due_on"] == date(born.year + 65, 1, 1).isoformat()
        await asyncio.sleep(1.2)  # two more daily rounds: still one proposal
        again = await eldercare.get(
            "/entitlements", params={"resident_id": resident_id}, headers=reader
        )
        assert len(again.json()["items"]) == 1

        confined = bearer(eldercare_settings, "eldercare:read", area="elsewhere")
        hidden = await eldercare.get(f"/elders/{resident_id}", headers=confined)
        assert hidden.status_code == 404
        assert born < date.today() - timedelta(days=365 * 64)
