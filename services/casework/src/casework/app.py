"""Composition root of the casework service: settings, the shipped catalogue (validated before
anything starts), runtime (database, relay, consumer of the registry's resident events, event
translator, start-up steps, the deadline sweep, the purge of the tracking limit's old
windows), HTTP app."""

from __future__ import annotations

from fastapi import FastAPI

from casework import case_service, catalogue_service
from casework.adapters.events import translate
from casework.api import cases, reference, tracking
from casework.consumers import subscription
from casework.demo import load_demo_data
from casework.domain.catalogue import Catalogue
from casework.settings import Settings
from casework.tracking import AttemptLimiter
from casework.views import china_now
from shared.audit import audit_router
from shared.auth import install_auth
from shared.http import create_app as create_http_app
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the casework service's ASGI app (``uvicorn --factory casework.app:create_app``)."""
    settings = settings or Settings()
    catalogue = catalogue_service.shipped_catalogue()
    runtime = ServiceRuntime.build(settings, subscription=subscription(), translate=translate)

    async def seed_catalogue(started: ServiceRuntime) -> None:
        await _seed_catalogue(started, catalogue)

    async def sweep() -> None:
        async with unit_of_work(runtime.sessions, translate=runtime.translate) as uow:
            await case_service.sweep_deadlines(
                uow, today=china_now().date(), due_soon_days=settings.due_soon_days
            )

    runtime.on_start(seed_catalogue)
    if settings.demo_data:
        runtime.on_start(_load_demo_data)
    runtime.every("deadline-sweep", settings.deadline_sweep_interval_s, sweep)
    limiter = AttemptLimiter(
        runtime.sessions, settings.tracking_max_failures, settings.tracking_window_s
    )
    runtime.every("tracking-attempts-purge", settings.tracking_window_s, limiter.purge)
    app = create_http_app(
        settings,
        title="Shequ casework",
        description="The community affairs acceptance centre: matter catalogue, working-day "
        "calendar, visits and cases with their life cycle, agency hops, time limits, "
        "satisfaction, mediation, petitions, and tracking by case number and code.",
        routers=[cases.router, reference.router, tracking.router, audit_router()],
        lifespan=runtime.lifespan,
    )
    app.state.tracking_limiter = limiter
    install_auth(app, settings)
    return app


async def _seed_catalogue(runtime: ServiceRuntime, catalogue: Catalogue) -> None:
    async with unit_of_work(runtime.sessions, translate=runtime.translate) as uow:
        await catalogue_service.seed_catalogue(uow, catalogue=catalogue)


async def _load_demo_data(runtime: ServiceRuntime) -> None:
    await load_demo_data(runtime.sessions, translate=runtime.translate)
