"""Run a service's ASGI app in-process, lifespan included, for integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx
from fastapi import FastAPI

from shared.auth import mint_token
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


@asynccontextmanager
async def running_service(
    create_app: Callable[[S], FastAPI], settings: S
) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app (migrations, relay, consumer) and yield an HTTP client talking to it."""
    from asgi_lifespan import LifespanManager

    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def bearer(settings: ServiceSettings, *scopes: str, area: str | None = None) -> dict[str, str]:
    """An Authorization header with a development token holding ``scopes``."""
    token = mint_token(settings, subject="test", scopes=list(scopes), area=area)
    return {"Authorization": f"Bearer {token}"}
