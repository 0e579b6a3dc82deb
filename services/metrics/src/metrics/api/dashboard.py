"""The dashboard page and its assets (shipped in the package: no CDN, no build step; the
page is Chinese first with English switchable, its strings in ``static/i18n.js``), and the
projection state it polls to refresh when events arrive."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from metrics import service
from metrics.api.deps import Reader, TrackerDep
from metrics.api.schemas import StateOut
from shared.db import as_utc
from shared.errors import NotFound
from shared.runtime import SessionDep

router = APIRouter(tags=["dashboard"])
pages = APIRouter(include_in_schema=False)

ASSETS: dict[str, str] = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "chart.js": "text/javascript; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
"""Static files the page loads, with their media types."""

_NO_STORE = {"Cache-Control": "no-cache"}
_SECURITY = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _asset(name: str) -> bytes:
    return (resources.files("metrics") / "static" / name).read_bytes()


@pages.get("/dashboard")
async def dashboard() -> HTMLResponse:
    """The dashboard page; it asks for a token (URL fragment ``#token=…`` or a login field)."""
    return HTMLResponse(_asset("dashboard.html"), headers={**_NO_STORE, **_SECURITY})


@pages.get("/dashboard/assets/{name}")
async def dashboard_asset(name: Annotated[str, Path(max_length=40)]) -> Response:
    """One of the dashboard's static files."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no asset {name}")
    return Response(_asset(name), media_type=media_type, headers={**_NO_STORE, **_SECURITY})


@router.get("/state", response_model=StateOut)
async def state(session: SessionDep, tracker: TrackerDep, _principal: Reader) -> StateOut:
    """How many events the projections have applied; poll it and refresh on a new revision."""
    current = await service.projection_state(session)
    return StateOut(
        revision=current.revision,
        events_applied=current.events_applied,
        last_event_time=as_utc(current.last_event_time) if current.last_event_time else None,
        today=tracker.today(),
        timezone=tracker.zone.key,
    )
