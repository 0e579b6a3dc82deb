"""The metrics service on PostgreSQL and the broker: registry events published to Kafka
(duplicates and an out-of-order version included) become projections, values, history and a
target status event on ``metrics.target.events``; the API, CSV exports, Prometheus gauges and
area confinement agree."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from aiokafka import ConsumerRecord

from metrics.app import create_app
from metrics.settings import Settings
from metrics.testing import City, envelope, eventually, facility, office_rooms, publish
from shared.contracts.metrics import TargetCreated, TargetStatusChanged
from shared.testing.service import bearer, running_service, scrape_metrics
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.integration, pytest.mark.publishes]


def gauge(exposition: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in exposition.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    assert wanted  # nothing matched
    return None


async def test_events_to_api_status_event_gauges_and_exports(
    fresh_postgres_url: str, kafka_bootstrap: str
) -> None:
    tag = uuid.uuid4().hex[:6]
    city = City(f"c{tag}", {f"d{tag}": [f"m{tag}{n}" for n in range(5)], f"e{tag}": [f"n{tag}0"]})
    district = f"d{tag}"
    communities = city.districts[district]
    settings = Settings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        log_json=False,
        gauge_refresh_interval_s=0.5,
    )
    reader = bearer(settings, "metrics:read")
    writer = bearer(settings, "metrics:write", "metrics:read")
    async with running_service(create_app, settings) as client:
        await publish(kafka_bootstrap, *(envelope(a) for a in city.area_events()))

        async def district_known() -> bool:
            response = await client.get(f"/areas/{district}/children", headers=reader)
            return response.status_code == 200 and len(response.json()["children"]) == 1

        await eventually(district_known)

        today = (await client.get("/state", headers=reader)).json()["today"]
        body = {
            "id": f"rooms-{tag}",
            "name": "80 % of communities with 300 m² of office and service rooms",
            "indicator_id": "office_service_rooms_300",
            "scope_area_id": city.city,
            "comparison": ">=",
            "target_value": 80,
            "baseline_date": "2026-01-01",
            "deadline": str(date.fromisoformat(today) + timedelta(days=400)),
            "source_plan": "Integration test plan",
        }
        headers = {**writer, "Idempotency-Key": f"create-{tag}"}
        created = await client.post("/targets", json=body, headers=headers)
        assert created.status_code == 201, created.text
        again = await client.post("/targets", json=body, headers=headers)
        assert again.status_code == 201
        assert again.headers.get("Idempotency-Replayed") == "true"
        assert (await client.post("/targets", json=body, headers=writer)).status_code == 409
        assert (await client.post("/targets", json=body, headers=reader)).status_code == 403
        for change, field in [
            ({"scope_area_id": "nowhere"}, "body.scope_area_id"),
            ({"indicator_id": "nope"}, "body.indicator_id"),
            ({"deadline": "2000-01-01"}, "body.deadline"),
            ({"target_value": 120}, "body.target_value"),
            ({"target_value": -1}, "body.target_value"),
            ({"baseline_value": 100.5}, "body.baseline_value"),
            ({"indicator_id": "libraries_opened", "target_value": -3}, "body.target_value"),
        ]:
            refused = await client.post("/targets", json={**body, **change}, headers=writer)
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["field"] == field
        detail = created.json()
        assert {a["area_id"]: a["status"] for a in detail["areas"]}[district] == "at_risk"

        # three of five communities reach 300 m²; one event twice; a late older version
        opened = date.fromisoformat(today) - timedelta(days=30)
        events = [
            envelope(facility(city, f"f{tag}{n}", c, rooms=office_rooms(310), opened_on=opened))
            for n, c in enumerate(communities[:3])
        ]
        v2 = envelope(
            facility(
                city,
                f"f{tag}x",
                communities[3],
                rooms=office_rooms(150),
                version=2,
                opened_on=opened,
            )
        )
        v1 = envelope(
            facility(city, f"f{tag}x", communities[3], rooms=office_rooms(500), opened_on=opened)
        )
        await publish(kafka_bootstrap, *events, events[0], v2, v1)

        async def share_is(expected: float) -> bool:
            response = await client.get(
                "/indicators/office_service_rooms_300/values",
                params={"area": district},
                headers=reader,
            )
            assert response.status_code == 200, response.text
            return bool(response.json()[0]["value"] == expected)

        await eventually(lambda: share_is(60.0))

        # the fourth community reaches the bar: 80 % meets the target
        v3 = envelope(
            facility(
                city,
                f"f{tag}x",
                communities[3],
                rooms=office_rooms(300),
                version=3,
                opened_on=opened,
            )
        )
        await publish(kafka_bootstrap, v3)
        await eventually(lambda: share_is(80.0))

        target = (await client.get(f"/targets/{body['id']}", headers=reader)).json()
        rows = {a["area_id"]: a for a in target["areas"]}
        assert rows[district]["status"] == "achieved"
        assert rows[district]["value"] == 80.0
        assert rows[district]["progress"] == 1.0
        assert rows[city.city]["value"] == pytest.approx(66.666667)
        assert target["evaluation"]["area_id"] == city.city

        # the status change is published on the metrics topic, keyed by the target
        def of_target(kind: str) -> Callable[[ConsumerRecord[bytes, bytes]], bool]:
            def matches(record: ConsumerRecord[bytes, bytes]) -> bool:
                event = json.loads(record.value)
                return bool(
                    event["type"].endswith(f".{kind}.v1")
                    and event["data"]["target_id"] == body["id"]
                    and event["data"].get("area_id", district) == district
                )

            return matches

        status_records = await wait_for_records(
            settings, "metrics.target.events", 1, where=of_target("status_changed")
        )
        assert {record.key for record in status_records} == {body["id"].encode()}
        changes = [
            TargetStatusChanged.model_validate(json.loads(record.value)["data"])
            for record in status_records
        ]
        assert [(c.previous_status, c.status) for c in changes] == [("at_risk", "achieved")]
        assert changes[0].value == 80.0
        assert changes[0].path == [city.city, district]
        (created_record,) = await wait_for_records(
            settings, "metrics.target.events", 1, where=of_target("created")
        )
        assert created_record.key == body["id"].encode()
        created_event = TargetCreated.model_validate(json.loads(created_record.value)["data"])
        assert created_event.target_value == 80

        # the gauge per target and district agrees with the API
        async def gauge_agrees() -> bool:
            exposition = await scrape_metrics(client)
            value = gauge(exposition, "shequ_target_value", target=body["id"], district=district)
            achieved = gauge(
                exposition,
                "shequ_target_status",
                target=body["id"],
                district=district,
                status="achieved",
            )
            return value == rows[district]["value"] and achieved == 1.0

        await eventually(gauge_agrees)
        exposition = await scrape_metrics(client)
        assert 'community="' not in exposition
        assert communities[0] not in exposition  # no community ever becomes a label

        # history: 60 % from the opening day (the late version 1 ignored), 80 % from today,
        # when version 3 enlarged the fourth community's rooms
        history = await client.get(
            "/indicators/office_service_rooms_300/history",
            params={"area": district, "from": str(opened - timedelta(days=1)), "to": today},
            headers=reader,
        )
        assert history.status_code == 200
        points = [(p["day"], p["value"]) for p in history.json()["points"]]
        assert points[-2:] == [(str(opened), 60.0), (today, 80.0)]
        backwards = await client.get(
            "/indicators/office_service_rooms_300/history",
            params={"area": district, "from": today, "to": str(opened)},
            headers=reader,
        )
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["field"] == "query.from"

        # drill-down and CSV exports
        drill = (await client.get(f"/areas/{district}/children", headers=reader)).json()
        assert drill["area"]["name"] == f"District {district}"
        street = drill["children"][0]
        assert street["area"]["level"] == "street"
        assert {t["target_id"]: t["status"] for t in street["targets"]}[body["id"]] == "achieved"
        exported = await client.get("/export/target_status.csv", headers=reader)
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(exported.text)))
        assert any(r["target_id"] == body["id"] and r["area_id"] == district for r in table)
        listed = await client.get("/targets", params={"format": "csv"}, headers=reader)
        assert listed.status_code == 200
        assert body["id"] in listed.text
        assert (await client.get("/export/nothing.csv", headers=reader)).status_code == 404
        indicators = (await client.get("/indicators", headers=reader)).json()
        assert {i["kind"] for i in indicators} == {
            "count",
            "sum",
            "ratio",
            "rate",
            "share",
            "average",
        }
        assert next(i for i in indicators if i["id"] == "office_service_rooms_300")[
            "target_ids"
        ] == ["jincheng-office-rooms-300", "jincheng-office-rooms-300-by-2028", body["id"]]

        # confinement: a token for another district sees neither the district nor its rows
        other = bearer(settings, "metrics:read", area=f"e{tag}")
        assert (await client.get(f"/areas/{district}", headers=other)).status_code == 404
        confined = (await client.get(f"/targets/{body['id']}", headers=other)).json()
        assert {a["area_id"] for a in confined["areas"]} == {f"e{tag}", f"e{tag}s", f"n{tag}0"}
        assert (await client.get("/targets", headers={})).status_code == 401

        # the targets export honours the token's area; no cell reaches a spreadsheet as a formula
        local = {
            **body,
            "id": f"local-{tag}",
            "name": '=HYPERLINK("http://x","a")',
            "scope_area_id": district,
            "indicator_id": "libraries_opened",
            "target_value": 1,
            "source_plan": "@SUM(A1)",
        }
        made = await client.post(
            "/targets", json=local, headers={**writer, "Idempotency-Key": f"local-{tag}"}
        )
        assert made.status_code == 201, made.text
        everything = await client.get("/export/targets.csv", headers=reader)
        rows = {r["id"]: r for r in csv.DictReader(io.StringIO(everything.text))}
        assert rows[local["id"]]["name"] == "'" + local["name"]
        assert rows[local["id"]]["source_plan"] == "'@SUM(A1)"
        mine = await client.get("/export/targets.csv", headers=other)
        ids = {r["id"] for r in csv.DictReader(io.StringIO(mine.text))}
        assert ids == {body["id"]}  # the city's target covers its area; not the other district's

        page = await client.get("/dashboard")
        assert page.status_code == 200
        assert "dashboard.js" in page.text
        script = await client.get("/dashboard/assets/dashboard.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
