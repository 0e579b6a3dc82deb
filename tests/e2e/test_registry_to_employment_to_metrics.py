"""Registry, employment and metrics as separate services on their own databases, joined only by
Kafka: a laid-off resident aged 52 registered in the registry becomes a job seeker in the
"4050" and laid-off groups, is matched to a vacancy with the score explained term by term,
placed, passes the 3-month retention check, and the ``placement.reemployed`` event on the topic
moves the metrics service's re-employment indicators."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from employment.app import create_app as create_employment
from employment.domain.dates import add_months
from employment.settings import Settings as EmploymentSettings
from metrics.app import create_app as create_metrics
from metrics.settings import Settings as MetricsSettings
from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.settings import Settings as RegistrySettings
from shared.testing.service import bearer, running_service
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]


def born_52_years_ago() -> date:
    today = date.today()
    return date(today.year - 52, 1, 15)


def national_id(born: date) -> str:
    first_17 = f"110105{born:%Y%m%d}003"  # odd sequence: male
    return first_17 + check_character(first_17)


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: Any) -> Any:
    response = await client.post(
        path, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code in (200, 201), f"{path}: {response.text}"
    return response.json()


async def indicator(
    metrics: httpx.AsyncClient, headers: dict[str, str], indicator_id: str, area: str
) -> float | None:
    response = await metrics.get(
        f"/indicators/{indicator_id}/values", params={"area": area}, headers=headers
    )
    if response.status_code != 200:
        return None
    values = {item["area_id"]: item["value"] for item in response.json()}
    found: float | None = values.get(area)
    return found


async def test_a_laid_off_resident_of_52_is_re_employed_and_counted(
    fresh_postgres_url: str, sqlite_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry_settings = RegistrySettings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    employment_settings = EmploymentSettings(
        environment="development",
        database_url=sqlite_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    metrics_settings = MetricsSettings(
        environment="development",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}",
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    prefix = f"em{uuid.uuid4().hex[:6]}"
    community = f"{prefix}m"
    async with (
        running_service(create_registry, registry_settings) as registry,
        running_service(create_employment, employment_settings) as employment,
        running_service(create_metrics, metrics_settings) as metrics,
    ):
        clerk = bearer(registry_settings, "registry:read", "registry:write")
        for area_id, level, parent in [
            (prefix, "city", None),
            (f"{prefix}d", "district", prefix),
            (f"{prefix}s", "street", f"{prefix}d"),
            (community, "community", f"{prefix}s"),
        ]:
            body = {
                "id": area_id,
                "level": level,
                "name": area_id,
                "parent_id": parent,
                "valid_from": "2005-01-01",
            }
            await post(registry, "/areas", body, clerk)
        household = await post(
            registry,
            "/households",
            {"community_id": community, "address": "1 Xinkai Road", "registered_on": "2010-05-01"},
            clerk,
        )
        born = born_52_years_ago()
        resident = await post(
            registry,
            "/residents",
            {
                "national_id": national_id(born),
                "name": "Wang Gang",
                "sex": "male",
                "birth_date": born.isoformat(),
                "household_id": household["id"],
                "employment_status": "laid_off",
            },
            clerk,
        )

        # employment knows the resident from the registry's events alone
        staff = bearer(employment_settings, "employment:read", "employment:write")
        seeker_body = {
            "resident_id": resident["id"],
            "skills": ["repair.electrical", "repair.plumbing"],
            "education": "senior_middle",
            "hours": ["full_time"],
            "max_hours_per_week": 44,
            "wage_expectation_fen": 250_000,
        }
        seeker: dict[str, Any] = {}
        for _ in range(300):  # the first consumer-group join takes a few seconds
            response = await employment.post("/seekers", json=seeker_body, headers=staff)
            if response.status_code == 201:
                seeker = response.json()
                break
            assert response.status_code == 422, response.text
            await asyncio.sleep(0.2)
        assert seeker["derived_groups"] == ["age_4050", "laid_off"]
        assert seeker["path"] == [prefix, f"{prefix}d", f"{prefix}s", community]

        employer = await post(
            employment,
            "/employers",
            {"name": "Xinkai Property", "kind": "enterprise", "community_id": community},
            staff,
        )
        vacancy = await post(
            employment,
            "/vacancies",
            {
                "employer_id": employer["id"],
                "kind": "enterprise",
                "place_id": community,
                "title": "Estate electrician",
                "required_skills": ["repair.electrical"],
                "nice_skills": ["repair.plumbing"],
                "hours": "full_time",
                "hours_per_week": 40,
                "wage_fen": 260_000,
            },
            staff,
        )
        ranked = await employment.get(f"/vacancies/{vacancy['id']}/candidates", headers=staff)
        best = ranked.json()["items"][0]
        assert best["seeker_id"] == seeker["id"]
        assert {t["term"]: t["points"] for t in best["terms"]} == {
            "skill_coverage": 40.0,
            "missing_required": 0.0,
            "distance": 15.0,
            "hours": 10.0,
            "wage": 10.0,
            "priority": 12.5,
        }
        assert best["score"] == 87.5

        reader = bearer(metrics_settings, "metrics:read")
        assert await indicator(metrics, reader, "reemployed_this_year", prefix) in (None, 0.0)

        match = await post(
            employment, "/matches", {"vacancy_id": vacancy["id"], "seeker_id": seeker["id"]}, staff
        )
        assert match["score"] == 87.5
        today = date.today()
        placement = await post(
            employment,
            f"/matches/{match['id']}/accept",
            {"started_on": add_months(today, -3).isoformat()},
            staff,
        )
        assert placement["reemployed_on"] is None
        checked = await post(
            employment,
            f"/placements/{placement['id']}/retention-checks",
            {"months": 3, "passed": True, "checked_on": today.isoformat()},
            staff,
        )
        assert checked["reemployed_on"] == today.isoformat()

        records = await wait_for_records(
            employment_settings,
            "employment.placement.events",
            3,
            where=lambda r: r.key.decode() == placement["id"],
        )
        types = [json.loads(r.value)["type"] for r in records]
        assert types == [
            "org.shequ.employment.placement.made.v1",
            "org.shequ.employment.placement.retention_checked.v1",
            "org.shequ.employment.placement.reemployed.v1",
        ]
        reemployed = json.loads(records[-1].value)["data"]
        assert reemployed["priority_groups"] == ["age_4050", "laid_off"]
        assert "Wang" not in records[-1].value.decode()

        values: dict[str, float | None] = {}
        for _ in range(300):
            values = {
                name: await indicator(metrics, reader, name, prefix)
                for name in (
                    "reemployed_this_year",
                    "laid_off_reemployment_rate",
                    "priority_group_placements",
                )
            }
            if values["reemployed_this_year"] == 1.0:
                break
            await asyncio.sleep(0.2)
        assert values == {
            "reemployed_this_year": 1.0,
            "laid_off_reemployment_rate": 100.0,
            "priority_group_placements": 1.0,
        }
