"""Composition root of the metrics service: settings, runtime (db, relay, consumer), app."""

from __future__ import annotations

from fastapi import FastAPI
from shared.auth import install_auth
from shared.http import create_app as create_http_app
from shared.runtime import ServiceRuntime

from metrics.api import areas
from metrics.consumers import SUBSCRIPTION
from metrics.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the metrics service's ASGI app (``uvicorn --factory metrics.app:create_app``)."""
    settings = settings or Settings()
    runtime = ServiceRuntime.build(settings, subscription=SUBSCRIPTION)
    app = create_http_app(
        settings,
        title="Shequ metrics",
        description="Live statistics and plan targets computed from every service's events.",
        routers=[areas.router],
        lifespan=runtime.lifespan,
    )
    install_auth(app, settings)
    return app
