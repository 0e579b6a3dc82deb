"""Composition root of the eldercare service: settings, policy (entitlement rules), runtime
(db, relay, consumer of registry events), periodic jobs, demo data and the HTTP app."""

from __future__ import annotations

from fastapi import FastAPI

from eldercare import clock, jobs
from eldercare.adapters.events import translate
from eldercare.api import elders, entitlements, orders, placements
from eldercare.api.deps import Policy
from eldercare.consumers import subscription
from eldercare.demo import load_demo_data
from eldercare.rules import load_rules
from eldercare.settings import Settings
from shared.audit import audit_router
from shared.auth import install_auth
from shared.http import create_app as create_http_app
from shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the eldercare service's ASGI app (`uvicorn --factory eldercare.app:create_app`)."""
    settings = settings or Settings()
    policy = Policy(
        rules=load_rules(settings.entitlement_rules_file),
        monthly_amount_fen=settings.longevity_subsidy_monthly_fen,
        threshold=settings.elder_age_threshold,
    )
    runtime = ServiceRuntime.build(
        settings,
        subscription=subscription(translate=translate, threshold=policy.threshold),
        translate=translate,
    )

    async def daily() -> None:
        await jobs.daily_round(
            runtime.sessions,
            translate=runtime.translate,
            rules=policy.rules,
            threshold=policy.threshold,
            today=clock.today(),
        )

    async def missed() -> None:
        await jobs.missed_visits(runtime.sessions, translate=runtime.translate, now=clock.now())

    async def demo(started: ServiceRuntime) -> None:
        await load_demo_data(started.sessions, translate=started.translate, policy=policy)

    if settings.demo_data:
        runtime.on_start(demo)
    runtime.every("daily-round", settings.daily_jobs_interval_s, daily)
    runtime.every("missed-visits", settings.missed_visit_interval_s, missed)
    app = create_http_app(
        settings,
        title="Shequ eldercare",
        description="Elder roster kept from registry events, age entitlements and the subsidy "
        "ledger, assessments and care levels, placements and waiting lists, service orders "
        "and visits.",
        routers=[
            elders.router,
            entitlements.router,
            placements.router,
            orders.router,
            audit_router(),
        ],
        lifespan=runtime.lifespan,
    )
    app.state.policy = policy
    install_auth(app, settings)
    return app
