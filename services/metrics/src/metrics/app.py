"""Composition root of the metrics service: settings, catalogue, projections, runtime (db,
relay, consumer), background refreshes, gauges and the HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from metrics.adapters import events
from metrics.api import areas, dashboard, exports, indicators, targets
from metrics.bootstrap import load_catalogue, prepare
from metrics.consumers import subscription
from metrics.gauges import TargetGauges
from metrics.projection import Projector
from metrics.settings import Settings
from metrics.tracking import Tracker
from shared.auth import install_auth
from shared.http import create_app as create_http_app
from shared.migrations import upgrade
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


async def refresh_targets(
    runtime: ServiceRuntime, tracker: Tracker, stop: asyncio.Event, interval_s: float
) -> None:
    """Re-evaluate every target now and every ``interval_s`` (deadlines pass, forecasts move,
    years turn without any event)."""
    while not stop.is_set():
        try:
            async with unit_of_work(runtime.sessions, translate=runtime.translate) as uow:
                await tracker.evaluate_all(uow)
        except Exception as exc:  # the database may be away; the next round retries
            log.warning("re-evaluating targets failed: %r", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the metrics service's ASGI app (``uvicorn --factory metrics.app:create_app``)."""
    settings = settings or Settings()
    catalogue = load_catalogue(settings)
    projector = Projector(catalogue, settings.zone)
    tracker = Tracker(catalogue, zone=settings.zone, window_days=settings.forecast_window_days)
    gauges = TargetGauges()
    tracker.listeners.append(gauges.update)
    runtime = ServiceRuntime.build(
        settings,
        subscription=subscription(projector, tracker, translate=events.translate),
        translate=events.translate,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime
        app.state.readiness_checks = {
            "database": runtime.check_database,
            "broker": runtime.broker_probe.check,
        }
        if settings.migrate_on_start:
            await asyncio.to_thread(
                upgrade, settings.service_name, settings.resolved_database_url()
            )
        async with unit_of_work(runtime.sessions, translate=runtime.translate) as uow:
            await prepare(uow, catalogue=catalogue, tracker=tracker)
        await runtime.start()
        stop = asyncio.Event()
        background = [
            asyncio.create_task(
                refresh_targets(runtime, tracker, stop, settings.target_refresh_interval_s),
                name="targets",
            ),
            asyncio.create_task(
                gauges.run(runtime.sessions, stop, settings.gauge_refresh_interval_s),
                name="gauges",
            ),
        ]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*background, return_exceptions=True)
            await runtime.stop()

    app = create_http_app(
        settings,
        title="Shequ metrics",
        description="Live statistics and plan targets computed from every service's events: "
        "indicators per area and day, targets with progress, forecast and status, a "
        "dashboard at `/dashboard`, CSV exports.",
        routers=[
            targets.router,
            indicators.router,
            areas.router,
            exports.router,
            dashboard.router,
            dashboard.pages,
        ],
        lifespan=lifespan,
    )
    app.state.catalogue = catalogue
    app.state.tracker = tracker
    app.state.gauges = gauges
    install_auth(app, settings)
    return app
