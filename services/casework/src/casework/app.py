"""Composition root of the casework service: settings, runtime (db, relay), HTTP app."""

from __future__ import annotations

from fastapi import FastAPI

from casework.settings import Settings
from shared.auth import install_auth
from shared.http import create_app as create_http_app
from shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the casework service's ASGI app (`uvicorn --factory casework.app:create_app`)."""
    settings = settings or Settings()
    runtime = ServiceRuntime.build(settings)
    app = create_http_app(settings, title="Shequ casework", lifespan=runtime.lifespan)
    install_auth(app, settings)
    return app
