"""Composition root of the registry service: settings, runtime (database, relay, event
translator, start-up steps, periodic jobs), HTTP app."""

from __future__ import annotations

from fastapi import FastAPI

from registry.adapters.events import translate
from registry.api import areas, community, facilities, imports, people, worklists
from registry.api.allow import EveryMethodAllowed
from registry.api.bodies import declare_bad_request
from registry.demo import load_demo_data
from registry.domain.hierarchy import load_hierarchy
from registry.import_jobs import mark_interrupted
from registry.jobs import schedule_age_milestones, schedule_permit_scans
from registry.pii import install_pii
from registry.reencryption import schedule_reencryption
from registry.settings import Settings
from shared.audit import audit_router
from shared.auth import install_auth
from shared.fast_reads import serve_fast
from shared.http import create_app as create_http_app
from shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the registry's ASGI app (``uvicorn --factory registry.app:create_app``)."""
    settings = settings or Settings()
    runtime = ServiceRuntime.build(settings, translate=translate)
    runtime.on_start(_mark_interrupted_imports)
    if settings.demo_data:
        runtime.on_start(_load_demo_data)
    schedule_permit_scans(runtime, settings)
    schedule_age_milestones(runtime, settings)
    app = create_http_app(
        settings,
        title="Shequ registry",
        description="Areas, households, residents, facilities, workers, organisations.",
        routers=[
            areas.router,
            *people.routers,
            facilities.router,
            community.router,
            imports.router,
            worklists.router,
            audit_router(),
        ],
        lifespan=runtime.lifespan,
        allowed_methods=EveryMethodAllowed(),
    )
    install_auth(app, settings)
    declare_bad_request(app)
    pii = install_pii(app, settings)  # refuses the development PII keys outside development
    app.state.hierarchy = load_hierarchy(settings.area_hierarchy_file)
    schedule_reencryption(runtime, pii)
    serve_fast(app, *FAST_READS)
    return app


FAST_READS = ("/areas", "/residents", "/residents/{resident_id}")
"""The hottest read routes, served by :mod:`shared.fast_reads` (the same route, without
FastAPI's routing and dependency solving): DR-8 in docs/architecture.md."""


async def _load_demo_data(runtime: ServiceRuntime) -> None:
    await load_demo_data(runtime.sessions, translate=runtime.translate)


async def _mark_interrupted_imports(runtime: ServiceRuntime) -> None:
    await mark_interrupted(runtime.sessions)
