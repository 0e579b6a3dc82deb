"""Composition root of the eldercare service: settings, runtime (db, relay), HTTP app."""

from __future__ import annotations

from fastapi import FastAPI

from eldercare.settings import Settings
from shared.auth import install_auth
from shared.http import create_app as create_http_app
from shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the eldercare service's ASGI app (`uvicorn --factory eldercare.app:create_app`)."""
    settings = settings or Settings()
    runtime = ServiceRuntime.build(settings)
    app = create_http_app(settings, title="Shequ eldercare", lifespan=runtime.lifespan)
    install_auth(app, settings)
    return app
