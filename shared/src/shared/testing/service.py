"""Run a service's ASGI app in-process, lifespan included, for integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar
from weakref import WeakKeyDictionary

import httpx
from fastapi import FastAPI

from shared.auth import mint_token
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)

_METRICS_PORTS: WeakKeyDictionary[httpx.AsyncClient, int] = WeakKeyDictionary()
"""Client of :func:`running_service` → the port its service serves metrics on."""


@asynccontextmanager
async def running_service(
    create_app: Callable[[S], FastAPI], settings: S
) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app (migrations, relay, consumer, metrics port) and yield an HTTP client
    talking to it; :func:`scrape_metrics` reads its metrics."""
    from asgi_lifespan import LifespanManager

    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            _METRICS_PORTS[client] = app.state.metrics_port
            yield client


async def scrape_metrics(client: httpx.AsyncClient) -> str:
    """The Prometheus exposition of the service behind ``client`` (from
    :func:`running_service`), fetched over HTTP from its metrics port as Prometheus would."""
    port = _METRICS_PORTS[client]
    async with httpx.AsyncClient() as scraper:
        response = await scraper.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    response.raise_for_status()
    return response.text


def bearer(settings: ServiceSettings, *scopes: str, area: str | None = None) -> dict[str, str]:
    """An Authorization header with a development token holding ``scopes``."""
    token = mint_token(settings, subject="test", scopes=list(scopes), area=area)
    return {"Authorization": f"Bearer {token}"}
