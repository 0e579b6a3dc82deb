"""The dashboard in real headless Chromium (Debian's ``chromium``, driven by Playwright): it
loads with a token from the URL fragment, shows the targets, drills into a district, and
reflects a new event without a reload. A screenshot is saved under ``test-artifacts/``."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from metrics.app import create_app
from metrics.settings import Settings
from metrics.testing import City, envelope, eventually, facility, office_rooms, publish
from shared.auth import mint_token
from shared.testing.broker import free_port

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """The metrics app behind uvicorn on a free local port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (make browser)")
async def test_dashboard_shows_targets_drills_down_and_updates_live(
    sqlite_url: str, kafka_bootstrap: str
) -> None:
    from playwright.async_api import async_playwright, expect

    tag = uuid.uuid4().hex[:5]
    district, other = f"b{tag}1", f"b{tag}2"
    city = City(
        f"b{tag}",
        {district: [f"b{tag}1{n}" for n in range(5)], other: [f"b{tag}2{n}" for n in range(2)]},
    )
    settings = Settings(
        environment="development",
        database_url=sqlite_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        log_json=False,
    )
    token = mint_token(settings, subject="browser", scopes=["metrics:read", "metrics:write"])
    headers = {"Authorization": f"Bearer {token}"}
    communities = city.districts[district]
    opened = date.today() - timedelta(days=20)
    async with serving(settings) as base, httpx.AsyncClient(base_url=base) as api:
        await publish(kafka_bootstrap, *(envelope(a) for a in city.area_events()))
        await publish(
            kafka_bootstrap,
            *(
                envelope(facility(city, f"g{tag}{n}", c, rooms=office_rooms(330), opened_on=opened))
                for n, c in enumerate(communities[:3])
            ),
        )

        async def district_at_60() -> bool:
            response = await api.get(
                "/indicators/office_service_rooms_300/values",
                params={"area": district},
                headers=headers,
            )
            return response.status_code == 200 and response.json()[0]["value"] == 60.0

        await eventually(district_at_60)
        target_id = f"rooms-{tag}"
        today = date.fromisoformat((await api.get("/state", headers=headers)).json()["today"])
        created = await api.post(
            "/targets",
            headers=headers,
            json={
                "id": target_id,
                "name": "80 % of communities with 300 m² office and service rooms",
                "indicator_id": "office_service_rooms_300",
                "scope_area_id": city.city,
                "target_value": 80,
                "baseline_date": str(today - timedelta(days=60)),
                "deadline": str(today + timedelta(days=300)),
                "source_plan": "Browser test plan",
            },
        )
        assert created.status_code == 201, created.text

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 1000})
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on(
                    "console",
                    lambda msg: errors.append(msg.text) if msg.type == "error" else None,
                )
                await page.goto(f"{base}/dashboard?area={city.city}#token={token}")

                card = page.locator(f'[data-testid=target][data-target-id="{target_id}"]')
                await expect(card).to_be_visible(timeout=15_000)
                assert "#token" not in page.url  # the token left the address bar
                await expect(page.get_by_test_id("area-name")).to_have_text(f"City {city.city}")
                targets = page.get_by_test_id("target")
                assert await targets.count() >= 1
                await expect(page.get_by_test_id("trend").first).to_be_visible()
                indicators = (await api.get("/indicators", headers=headers)).json()
                await expect(page.get_by_test_id("trend")).to_have_count(len(indicators))

                # drill down: city → district (its row shows the district's share)
                row = page.locator(f'[data-testid=drill-row][data-area-id="{district}"]')
                await expect(row.locator(f'td[data-target-id="{target_id}"]')).to_contain_text(
                    "60.0 %"
                )
                await row.get_by_test_id("drill-link").click()
                await expect(page.locator("body")).to_have_attribute("data-area", district)
                await expect(page.get_by_test_id("area-name")).to_have_text(f"District {district}")
                await expect(card.get_by_test_id("value")).to_have_text("60.0 %")
                await expect(card.get_by_test_id("status")).to_have_text("on track")  # trend: up
                assert f"?area={district}" in page.url

                # a new event lifts the district to 80 %: the page follows without a reload
                marker = await page.evaluate("window.__loaded = true")
                assert marker is True
                await publish(
                    kafka_bootstrap,
                    envelope(
                        facility(
                            city,
                            f"g{tag}x",
                            communities[3],
                            rooms=office_rooms(300),
                            opened_on=opened,
                        )
                    ),
                )
                await expect(card.get_by_test_id("value")).to_have_text("80.0 %", timeout=20_000)
                await expect(card.get_by_test_id("status")).to_have_text("achieved")
                trend = page.locator(
                    '[data-testid=trend][data-indicator-id="office_service_rooms_300"]'
                )
                await expect(trend.locator(".latest")).to_have_text("80.0 %")
                revision = await page.get_by_test_id("freshness").get_attribute("data-revision")
                await expect(page.locator("body")).to_have_attribute(
                    "data-rendered", revision or ""
                )
                assert await page.evaluate("window.__loaded") is True  # same document
                await expect(page.get_by_test_id("breadcrumb")).to_contain_text(f"City {city.city}")

                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                shot = ARTIFACTS / "metrics-dashboard.png"
                await page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
                assert errors == []
            finally:
                await browser.close()
