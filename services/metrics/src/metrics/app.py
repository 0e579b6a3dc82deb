"""Composition root of the metrics service: settings, catalogue, projections, runtime (db,
relay, consumer), background refreshes, gauges and the HTTP app."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from metrics.adapters import events
from metrics.api import areas, dashboard, exports, indicators, targets
from metrics.bootstrap import load_catalogue, prepare
from metrics.consumers import subscription
from metrics.gauges import TargetGauges
from metrics.projection import Projector
from metrics.settings import Settings
from metrics.tracking import Tracker
from shared.audit import audit_router
from shared.auth import install_auth
from shared.http import create_app as create_http_app
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work


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

    async def prepare_catalogue(started: ServiceRuntime) -> None:
        """Record the catalogue's measures and targets before events flow."""
        async with unit_of_work(started.sessions, translate=started.translate) as uow:
            await prepare(uow, catalogue=catalogue, tracker=tracker)

    async def refresh_targets() -> None:
        """Re-evaluate every target (deadlines pass, forecasts move, years turn without any
        event)."""
        async with unit_of_work(runtime.sessions, translate=runtime.translate) as uow:
            await tracker.evaluate_all(uow)

    async def reload_gauges(stop: asyncio.Event) -> None:
        await gauges.run(runtime.sessions, stop, settings.gauge_refresh_interval_s)

    runtime.on_start(prepare_catalogue)
    runtime.every("targets", settings.target_refresh_interval_s, refresh_targets)
    runtime.add_task("gauges", reload_gauges)

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
            audit_router(),
        ],
        lifespan=runtime.lifespan,
    )
    app.state.catalogue = catalogue
    app.state.tracker = tracker
    app.state.gauges = gauges
    install_auth(app, settings)
    return app
