"""Composition root of the registry service: settings, runtime (db, relay), HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from registry.api import areas, community, facilities, imports, people
from registry.demo import load_demo_data
from registry.jobs import permit_expiry_scans
from registry.pii import install_pii
from registry.settings import Settings
from shared.auth import install_auth
from shared.http import create_app as create_http_app
from shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the registry's ASGI app (``uvicorn --factory registry.app:create_app``)."""
    settings = settings or Settings()
    runtime = ServiceRuntime.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_pii(app, settings)  # refuses the development PII keys outside development
        async with runtime.lifespan(app), permit_expiry_scans(runtime.sessions, settings):
            if settings.demo_data:
                await load_demo_data(runtime.sessions)
            yield

    app = create_http_app(
        settings,
        title="Shequ registry",
        description="Areas, households, residents, facilities, workers, organisations.",
        routers=[
            areas.router,
            people.router,
            facilities.router,
            community.router,
            imports.router,
        ],
        lifespan=lifespan,
    )
    install_auth(app, settings)
    return app
