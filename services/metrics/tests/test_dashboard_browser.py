"""The dashboard in real headless Chromium (Debian's ``chromium``, driven by Playwright).

One test drives a demo-like city with Chinese names through the Chinese page: the card, the
chart's last point and the values API read the same figure; the status tiles show which
communities are behind; hover, keyboard, period picker, CSV and PNG downloads work; nothing is
fetched from another origin; the language switches to English and stays switched. Another
follows a district live as events arrive, without a reload. Screenshots are saved under
``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from metrics.app import create_app
from metrics.settings import Settings
from metrics.testing import City, envelope, eventually, facility, office_rooms, publish, worker
from shared.auth import mint_token
from shared.contracts.registry import AreaCreated
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
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (make browser)"
)
ZH_STATUSES = {"已完成", "进展正常", "有风险", "未完成"}


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


@asynccontextmanager
async def chromium_page(
    base: str, *, locale: str = "en-US", language: str | None = None
) -> AsyncIterator[Any]:
    """A page in headless Chromium with the browser's ``locale`` (and the dashboard's
    ``language`` preset when given); on leaving, asserts no script error was logged and that
    nothing was requested from another origin (the page works offline)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 1000}, locale=locale, accept_downloads=True
            )
            if language:
                await context.add_init_script(
                    f"localStorage.setItem('shequ.metrics.language', '{language}')"
                )
            page = await context.new_page()
            errors: list[str] = []
            foreign: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith((base, "blob:", "data:")) else foreign.append(r.url)
                ),
            )
            yield page
            assert errors == []
            assert foreign == []
        finally:
            await browser.close()


async def settled(page: Any) -> None:
    """Wait until the page has drawn the projections' latest revision."""
    from playwright.async_api import expect

    revision = await page.get_by_test_id("freshness").get_attribute("data-revision")
    await expect(page.locator("body")).to_have_attribute("data-rendered", revision or "")


def read_bytes(path: Path) -> bytes:
    return Path(path).read_bytes()


def save_artifact(name: str, content: bytes) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(content)


def settings_for(sqlite_url: str, kafka_bootstrap: str) -> Settings:
    return Settings(
        environment="development",
        database_url=sqlite_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        log_json=False,
    )


# ------------------------------------------------------------------------------------------
# a demo-like city: two districts, four streets, seven communities, Chinese names
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedCity(City):
    """A city whose areas carry names, with streets of their own (``areas``: id, level, name,
    parent id, in order, parents first)."""

    areas: tuple[tuple[str, str, str, str | None], ...] = field(default=())

    def _parents(self) -> dict[str, str | None]:
        return {area_id: parent for area_id, _, _, parent in self.areas}

    def path(self, community: str) -> list[str]:
        parents = self._parents()
        path = [community]
        while (parent := parents[path[0]]) is not None:
            path.insert(0, parent)
        return path

    def area_events(self) -> list[AreaCreated]:
        return [
            AreaCreated(
                area_id=area_id,
                level=level,  # type: ignore[arg-type]
                name=name,
                parent_id=parent,
                path=self.path(area_id),
                valid_from=self.valid_from,
                kind="residential" if level == "community" else None,
                household_count=1800 if level == "community" else None,
            )
            for area_id, level, name, parent in self.areas
        ]

    def communities(self) -> list[str]:
        return [area_id for area_id, level, _, _ in self.areas if level == "community"]


def demo_city(tag: str) -> NamedCity:
    """Jincheng's shape (as ``make dev`` loads it) under fresh ids, with Chinese names."""
    city = f"z{tag}"
    plan = {
        "城区": {
            "东街街道": ["东街第一社区", "矿区社区"],
            "西街街道": ["西街第一社区", "钟家庄社区"],
        },
        "泽州县": {"南村镇": ["南村中心社区", "南村车站社区"], "金庙铺镇": ["金庙铺社区"]},
    }
    areas: list[tuple[str, str, str, str | None]] = [(city, "city", "晋城市（演示）", None)]
    for d, (district_name, streets) in enumerate(plan.items(), start=1):
        district = f"{city}{d}"
        areas.append((district, "district", district_name, city))
        for s, (street_name, communities) in enumerate(streets.items(), start=1):
            street = f"{district}{s}"
            areas.append((street, "street", street_name, district))
            for c, community_name in enumerate(communities, start=1):
                areas.append((f"{street}{c}", "community", community_name, street))
    return NamedCity(city, {}, areas=tuple(areas))


async def load_demo(
    api: httpx.AsyncClient, headers: dict[str, str], bootstrap: str, tag: str
) -> NamedCity:
    """Publish the demo city's areas, rooms, libraries and workers and wait for metrics."""
    city = demo_city(tag)
    communities = city.communities()
    today = date.today()
    # m² of office and service rooms and the day they opened: four of seven reach 300 m².
    rooms = [(330, 300), (320, 200), (190, 300), (130, 300), (310, 100), (160, 300), (310, 10)]
    # Workers' birth years: younger teams in the first four communities.
    young, old = [1992, 1995, 1998], [1975, 1980, 1990]
    events = [envelope(a) for a in city.area_events()]
    for n, (community, (area, days)) in enumerate(zip(communities, rooms, strict=True)):
        opened = today - timedelta(days=days)
        events.append(
            envelope(
                facility(city, f"f{tag}{n}", community, rooms=office_rooms(area), opened_on=opened)
            )
        )
        for k, born in enumerate(young if n < 4 else old):
            events.append(envelope(worker(city, f"w{tag}{n}{k}", community, birth_year=born)))
    for n, community in enumerate(communities[:2]):
        library = facility(
            city,
            f"l{tag}{n}",
            community,
            kind="library",
            rooms={"library": 80},
            opened_on=today - timedelta(days=50),
        )
        events.append(envelope(library))
    await publish(bootstrap, *events)

    async def loaded() -> bool:
        ages = await api.get(
            "/indicators/worker_average_age/values", params={"area": city.city}, headers=headers
        )
        rooms_share = await api.get(
            "/indicators/office_service_rooms_300/values",
            params={"area": city.city},
            headers=headers,
        )
        libraries = await api.get(
            "/indicators/libraries_opened/values", params={"area": city.city}, headers=headers
        )
        return (
            ages.status_code == 200
            and ages.json()[0]["denominator"] == 21
            and round(rooms_share.json()[0]["value"] or 0, 1) == 57.1
            and libraries.json()[0]["value"] == 2
        )

    await eventually(loaded)
    return city


async def set_target(api: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> None:
    response = await api.post("/targets", headers=headers, json=fields)
    assert response.status_code == 201, response.text


# ------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------


@needs_chromium
async def test_dashboard_in_chinese_on_a_demo_city_agrees_with_the_api(
    sqlite_url: str, kafka_bootstrap: str
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:5]
    settings = settings_for(sqlite_url, kafka_bootstrap)
    token = mint_token(settings, subject="browser", scopes=["metrics:read", "metrics:write"])
    headers = {"Authorization": f"Bearer {token}"}
    async with serving(settings) as base, httpx.AsyncClient(base_url=base) as api:
        city = await load_demo(api, headers, kafka_bootstrap, tag)
        today = date.fromisoformat((await api.get("/state", headers=headers)).json()["today"])
        period = {
            "baseline_date": str(today - timedelta(days=365)),
            "deadline": str(today + timedelta(days=365)),
            "scope_area_id": city.city,
            "source_plan": "社区建设规划（演示）",
        }
        rooms, libraries, ages = f"rooms-{tag}", f"libraries-{tag}", f"age-{tag}"
        await set_target(
            api, headers, id=rooms, name="80 % of communities with 300 m² rooms",
            indicator_id="office_service_rooms_300", target_value=80, **period,
        )  # fmt: skip
        await set_target(
            api, headers, id=libraries, name="5 community libraries",
            indicator_id="libraries_opened", target_value=5, baseline_value=0, **period,
        )  # fmt: skip
        await set_target(
            api, headers, id=ages, name="Community workers' average age at most 40",
            indicator_id="worker_average_age", comparison="<=", target_value=40, **period,
        )  # fmt: skip

        async with chromium_page(base, locale="zh-CN") as page:
            await page.goto(f"{base}/dashboard?area={city.city}#token={token}")
            card = page.locator(f'[data-testid=target][data-target-id="{rooms}"]')
            await expect(card).to_be_visible(timeout=20_000)
            await settled(page)
            assert await page.evaluate("document.documentElement.lang") == "zh-CN"
            await expect(page.get_by_test_id("area-name")).to_have_text("晋城市（演示）")
            await expect(card.locator("h3")).to_have_text(
                "办公和公共服务用房达 300 平方米的社区占比"
            )
            await expect(card.get_by_test_id("value")).to_have_text("57.1%")
            for wrong in ("null", "undefined", "NaN"):
                await expect(page.locator("main")).not_to_contain_text(wrong)
            assert await card.get_by_test_id("status").inner_text() in ZH_STATUSES

            # One figure, three readings: the card, the chart's last point, the values API.
            for target_id, indicator in (
                (rooms, "office_service_rooms_300"),
                (libraries, "libraries_opened"),
                (ages, "worker_average_age"),
            ):
                values = await api.get(
                    f"/indicators/{indicator}/values", params={"area": city.city}, headers=headers
                )
                expected = values.json()[0]["value"]
                card_value = page.locator(f'[data-testid=target][data-target-id="{target_id}"]')
                card_value = card_value.get_by_test_id("value")
                chart = page.locator(f'[data-testid=trend][data-indicator-id="{indicator}"]')
                latest = chart.get_by_test_id("latest")
                last_point = chart.locator("circle.point.last")
                figures = [
                    float(await card_value.get_attribute("data-value") or "nan"),
                    float(await latest.get_attribute("data-value") or "nan"),
                    float(await last_point.get_attribute("data-value") or "nan"),
                ]
                assert figures == pytest.approx([expected] * 3), (indicator, figures, expected)
                assert (await latest.text_content() or "").startswith(await card_value.inner_text())
                assert await last_point.get_attribute("data-day") == str(today)
                # ... and the evaluation and the history of the API say the same.
                listed = await api.get("/targets", params={"area": city.city}, headers=headers)
                (target,) = [t for t in listed.json() if t["id"] == target_id]
                assert target["evaluation"]["value"] == pytest.approx(expected), indicator
                history = await api.get(
                    f"/indicators/{indicator}/history",
                    params={"area": city.city, "from": str(today - timedelta(days=30))},
                    headers=headers,
                )
                assert history.json()["points"][-1]["value"] == pytest.approx(expected), indicator

            # Hover the chart's last point: its date and the card's figure.
            chart = page.locator(
                '[data-testid=trend][data-indicator-id="office_service_rooms_300"]'
            )
            await chart.scroll_into_view_if_needed()
            box = await chart.locator("circle.point.last").bounding_box()
            assert box is not None
            await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            tooltip = page.get_by_test_id("tooltip")
            await expect(tooltip).to_be_visible()
            await expect(tooltip).to_contain_text("57.1%")
            await expect(tooltip).to_contain_text(f"{today.year}年{today.month}月{today.day}日")
            # ... and the forecast, with the figures it used.
            forecast_point = await chart.locator("circle.point.forecast").bounding_box()
            assert forecast_point is not None
            await page.mouse.move(
                forecast_point["x"] + forecast_point["width"] / 2 - 1,
                forecast_point["y"] + forecast_point["height"] / 2,
            )
            await expect(tooltip).to_contain_text("预测")
            await expect(tooltip).to_contain_text("基线")
            await page.mouse.move(5, 5)
            await expect(tooltip).to_be_hidden()

            # The keyboard reaches the same values: a chart, a card's forecast, a tile.
            svg = chart.get_by_test_id("chart")
            await svg.focus()
            await expect(tooltip).to_contain_text("57.1%")
            await page.keyboard.press("Home")
            await expect(tooltip).not_to_contain_text(f"{today.year}年{today.month}月{today.day}日")
            await page.keyboard.press("Escape")
            await expect(tooltip).to_be_hidden()
            await card.get_by_test_id("forecast").focus()
            await expect(tooltip).to_contain_text("预测依据")
            await expect(card.get_by_test_id("forecast")).to_have_attribute(
                "aria-describedby", "tooltip"
            )
            await expect(tooltip).to_contain_text("最小二乘")
            await expect(tooltip).to_contain_text("趋势：每 30 天 +")

            # Status overview: every community, grouped by district, coloured by status.
            tiles = page.get_by_test_id("tile")
            await expect(tiles).to_have_count(7)
            await expect(page.locator(".tile-group h4")).to_have_text(["城区", "泽州县"])
            await page.get_by_test_id("overview-colour").select_option(rooms)
            statuses = {await tile.get_attribute("data-status") for tile in await tiles.all()}
            assert "achieved" in statuses, statuses
            assert statuses & {"at_risk", "on_track"}, statuses
            behind = city.communities()[2]  # 190 m²
            tile = page.locator(f'[data-testid=tile][data-area-id="{behind}"]')
            await expect(tile).to_have_attribute("data-status", "at_risk")
            assert "西街第一社区" in (await tile.get_attribute("aria-label") or "")
            for level, count in (("district", 2), ("street", 4), ("community", 7)):
                await page.get_by_test_id("overview-level").select_option(level)
                await expect(tiles).to_have_count(count)

            # Downloads: a chart as PNG (drawn in the page), the targets as CSV.
            async with page.expect_download() as png_download:
                await chart.get_by_test_id("chart-png").click()
            png = await asyncio.to_thread(read_bytes, await (await png_download.value).path())
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            assert len(png) > 10_000
            await asyncio.to_thread(save_artifact, "metrics-chart-zh-CN.png", png)
            async with page.expect_download() as csv_download:
                await page.get_by_test_id("download-downloadTargets").click()
            csv_bytes = await asyncio.to_thread(read_bytes, await (await csv_download.value).path())
            assert rooms.encode() in csv_bytes
            assert ages.encode() in csv_bytes

            # The period picker changes the charts' range.
            await page.get_by_test_id("period").select_option("1y")
            one_year_ago = (
                today.replace(year=today.year - 1)
                if (today.month, today.day) != (2, 29)
                else today - timedelta(days=365)
            )
            await expect(page.locator("#period-from")).to_have_value(str(one_year_ago))
            await expect(chart.locator("circle.point.forecast")).to_have_count(0)
            await page.get_by_test_id("period").select_option("plan")
            await expect(chart.locator("circle.point.forecast")).to_have_count(1)
            await page.get_by_test_id("overview-level").select_option("community")
            await settled(page)

            await page.evaluate("window.scrollTo(0, 0)")
            await page.screenshot(path=str(ARTIFACTS / "metrics-dashboard-zh-CN-top.png"))
            await page.screenshot(
                path=str(ARTIFACTS / "metrics-dashboard-zh-CN.png"), full_page=True
            )
            assert (ARTIFACTS / "metrics-dashboard-zh-CN.png").stat().st_size > 50_000

            # English, remembered across a reload.
            await page.get_by_test_id("lang").click()
            assert await page.evaluate("document.documentElement.lang") == "en"
            await expect(card.locator("h3")).to_have_text("80 % of communities with 300 m² rooms")
            await page.reload()
            await expect(card).to_be_visible(timeout=20_000)
            await settled(page)
            assert await page.evaluate("document.documentElement.lang") == "en"
            await expect(page.get_by_test_id("overview")).to_contain_text(
                "Status of the areas below"
            )
            assert await card.get_by_test_id("status").inner_text() in {
                "achieved", "on track", "at risk", "missed",
            }  # fmt: skip
            await page.screenshot(path=str(ARTIFACTS / "metrics-dashboard-en.png"), full_page=True)

            # Enter on a focused tile opens that community.
            await page.locator(f'[data-testid=tile][data-area-id="{behind}"]').focus()
            await page.keyboard.press("Enter")
            await expect(page.locator("body")).to_have_attribute("data-area", behind)
            await expect(page.get_by_test_id("breadcrumb")).to_contain_text("晋城市（演示）")

            # Every control has an accessible name.
            unnamed = await page.evaluate(
                """() => [...document.querySelectorAll('button, select, input, [tabindex="0"]')]
                    .filter((n) => !n.closest('[hidden]'))
                    .filter((n) => !(n.getAttribute('aria-label') || n.textContent.trim()
                        || (n.id && document.querySelector(`label[for="${n.id}"]`))))
                    .map((n) => n.outerHTML.slice(0, 80))"""
            )
            assert unnamed == []


@needs_chromium
async def test_dashboard_shows_targets_drills_down_and_updates_live(
    sqlite_url: str, kafka_bootstrap: str
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:5]
    district, other = f"b{tag}1", f"b{tag}2"
    city = City(
        f"b{tag}",
        {district: [f"b{tag}1{n}" for n in range(5)], other: [f"b{tag}2{n}" for n in range(2)]},
    )
    settings = settings_for(sqlite_url, kafka_bootstrap)
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
        await set_target(
            api,
            headers,
            id=target_id,
            name="80 % of communities with 300 m² office and service rooms",
            indicator_id="office_service_rooms_300",
            scope_area_id=city.city,
            target_value=80,
            baseline_date=str(today - timedelta(days=60)),
            deadline=str(today + timedelta(days=300)),
            source_plan="Browser test plan",
        )

        async with chromium_page(base, language="en") as page:
            await page.goto(f"{base}/dashboard?area={city.city}#token={token}")
            card = page.locator(f'[data-testid=target][data-target-id="{target_id}"]')
            await expect(card).to_be_visible(timeout=15_000)
            assert "#token" not in page.url  # the token left the address bar
            await expect(page.get_by_test_id("area-name")).to_have_text(f"City {city.city}")
            indicators = (await api.get("/indicators", headers=headers)).json()
            await expect(page.get_by_test_id("trend")).to_have_count(len(indicators))

            # drill down: city → district (its row shows the district's share)
            row = page.locator(f'[data-testid=drill-row][data-area-id="{district}"]')
            await expect(row.locator(f'td[data-target-id="{target_id}"]')).to_contain_text("60.0%")
            await row.get_by_test_id("drill-link").click()
            await expect(page.locator("body")).to_have_attribute("data-area", district)
            await expect(page.get_by_test_id("area-name")).to_have_text(f"District {district}")
            await expect(card.get_by_test_id("value")).to_have_text("60.0%")
            await expect(card.get_by_test_id("status")).to_have_text("on track")  # trend: up
            for wrong in ("null", "undefined", "NaN"):
                await expect(page.locator("main")).not_to_contain_text(wrong)
            assert f"?area={district}" in page.url

            # a new event lifts the district to 80 %: the page follows without a reload
            assert await page.evaluate("window.__loaded = true") is True
            await publish(
                kafka_bootstrap,
                envelope(
                    facility(
                        city, f"g{tag}x", communities[3], rooms=office_rooms(300), opened_on=opened
                    )
                ),
            )
            await expect(card.get_by_test_id("value")).to_have_text("80.0%", timeout=20_000)
            await expect(card.get_by_test_id("status")).to_have_text("achieved")
            trend = page.locator(
                '[data-testid=trend][data-indicator-id="office_service_rooms_300"]'
            )
            await expect(trend.get_by_test_id("latest")).to_have_text("80.0%")
            await settled(page)
            assert await page.evaluate("window.__loaded") is True  # same document
            await expect(page.get_by_test_id("breadcrumb")).to_contain_text(f"City {city.city}")

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "metrics-dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
