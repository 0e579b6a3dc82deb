"""Composition root of the employment service: settings, runtime (database, relay, consumer of
the registry's events, event translator, demo data, periodic follow-ups), HTTP app."""

from __future__ import annotations

from fastapi import FastAPI

from employment.adapters.events import translate
from employment.api import loans, matching, seekers, training, vacancies
from employment.consumers import subscription
from employment.demo import load_demo_data
from employment.jobs import schedule_follow_ups
from employment.settings import Settings
from shared.audit import audit_router
from shared.auth import install_auth
from shared.http import create_app as create_http_app
from shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the employment service's ASGI app (`uvicorn --factory employment.app:create_app`)."""
    settings = settings or Settings()
    runtime = ServiceRuntime.build(
        settings, subscription=subscription(translate), translate=translate
    )
    if settings.demo_data:
        runtime.on_start(_load_demo_data)
    schedule_follow_ups(runtime, settings)
    app = create_http_app(
        settings,
        title="Shequ employment",
        description="Re-employment: job seekers with priority groups, employers and vacancies, "
        "matching explained term by term, training and the concession card, placements with "
        "retention checks, micro-loans.",
        routers=[
            seekers.router,
            vacancies.router,
            matching.router,
            training.router,
            loans.router,
            audit_router(),
        ],
        lifespan=runtime.lifespan,
    )
    install_auth(app, settings)
    return app


async def _load_demo_data(runtime: ServiceRuntime) -> None:
    await load_demo_data(runtime.sessions, translate=runtime.translate)
