"""Generate a synthetic city into running services: ``shequ city generate``.

The city (:mod:`shared.city.plan`) is deterministic for a seed and a day; it goes in through
the services' public APIs only (the registry's bulk import, then casework, employment and
eldercare routes: :mod:`shared.city.feed`, :mod:`shared.city.services`), so every record
reaches metrics as events. Sizes: ``small`` (one district, four communities registering a fifth
of their households: a few thousand residents; what ``shequ dev up`` loads), ``medium`` (three
districts, 36 communities) and ``city`` (1,043 communities, ~2 M households, ~6 M residents).
The services are found at ``--url`` with the ports of ``shequ dev up`` (8001..8005 plus
``SHEQU_DEV_PORT_OFFSET``); the token is a development one with every scope.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import httpx
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from shared.city.feed import FeedError, ImportTally, import_city
from shared.city.plan import SIZES, CityPlan, draw_city
from shared.city.services import Api, ServiceTally, ServiceUrls, feed_services

app = typer.Typer(help="A synthetic city for development and benchmarks.", no_args_is_help=True)

DEFAULT_URL = "http://127.0.0.1"
SERVICE_PORTS = {"registry": 8001, "casework": 8002, "employment": 8003, "eldercare": 8004}
METRICS_PORT = 8005
TOKEN_TTL_S = 6 * 3600
REQUEST_TIMEOUT_S = 120.0
STATUS_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class CityReport:
    """What a generation did and how long each part took."""

    plan: CityPlan
    imported: ImportTally
    services: ServiceTally | None
    seconds: float


def service_urls(base_url: str, port_offset: int) -> ServiceUrls:
    """The services' base URLs at ``base_url`` on the dev ports shifted by ``port_offset``."""
    base = base_url.rstrip("/")
    ports = {**SERVICE_PORTS, "metrics": METRICS_PORT}
    return ServiceUrls(**{name: f"{base}:{port + port_offset}" for name, port in ports.items()})


def development_token() -> str:
    """A development token with every scope and no area."""
    from shared.auth import ALL_SCOPES, mint_token
    from shared.settings import DEVELOPMENT_ENVIRONMENT, ServiceSettings

    settings = ServiceSettings(service_name="city", environment=DEVELOPMENT_ENVIRONMENT)
    return mint_token(settings, subject="city-generator", scopes=ALL_SCOPES, ttl_s=TOKEN_TTL_S)


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        yield progress


def load_city(
    urls: ServiceUrls,
    *,
    size: str,
    seed: int,
    today: date,
    token: str,
    with_services: bool = True,
    progress: bool = True,
) -> CityReport:
    """Draw the city and feed it to the services at ``urls``."""
    plan = draw_city(SIZES[size], seed=seed, today=today)
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(headers=headers, timeout=REQUEST_TIMEOUT_S) as client,
        _progress(progress) as bar,
    ):
        communities = len(plan.communities)
        registry_task = bar.add_task("registry import", total=communities, note="") if bar else None

        def imported(tally: ImportTally) -> None:
            if bar is not None and registry_task is not None:
                rate = tally.residents / tally.seconds if tally.seconds else 0.0
                note = f"{tally.residents:,} residents ({rate:,.0f}/s)"
                bar.update(registry_task, advance=1, note=note)

        tally = import_city(client, urls.registry, plan, on_community=imported)
        services: ServiceTally | None = None
        if with_services:
            services_task = (
                bar.add_task("cases, jobs, care", total=communities, note="") if bar else None
            )

            def fed(done: ServiceTally) -> None:
                if bar is not None and services_task is not None:
                    note = f"{done.case_count} cases, {done.seekers} seekers"
                    bar.update(services_task, advance=1, note=note)

            services = feed_services(Api(client), urls, plan, on_community=fed)
    return CityReport(plan, tally, services, time.perf_counter() - started)


def target_statuses(client: httpx.Client, metrics_url: str) -> dict[str, str]:
    """Each catalogue target's status in its scope, from ``GET /targets``."""
    response = client.get(f"{metrics_url}/targets")
    response.raise_for_status()
    statuses: dict[str, str] = {}
    for target in response.json():
        evaluation = target.get("evaluation") or {}
        if evaluation.get("status"):
            statuses[target["id"]] = evaluation["status"]
    return statuses


def wait_for_statuses(
    metrics_url: str, token: str, wanted: frozenset[str], timeout_s: float = STATUS_TIMEOUT_S
) -> dict[str, str]:
    """Poll the targets until every status in ``wanted`` shows (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    statuses: dict[str, str] = {}
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while time.monotonic() < deadline:
            statuses = target_statuses(client, metrics_url)
            if wanted <= set(statuses.values()):
                break
            time.sleep(1.0)
    return statuses


def describe(report: CityReport) -> list[str]:
    """Lines summing up a generation."""
    tally = report.imported
    lines = [
        f"City of {len(report.plan.communities)} communities (size {report.plan.size.name}, "
        f"seed {report.plan.seed}, as of {report.plan.today}): "
        f"{tally.households:,} households, {tally.residents:,} residents; "
        f"registry rows accepted {tally.accepted:,}, unchanged {tally.unchanged:,}, "
        f"rejected {tally.rejected:,} in {tally.seconds:.1f} s"
    ]
    if report.services is not None:
        s = report.services
        cases = ", ".join(f"{state} {count}" for state, count in sorted(s.cases.items()))
        lines.append(
            f"  cases: {cases} (of which {s.disputes} mediations, {s.petitions} petitions)"
        )
        lines.append(
            f"  employment: {s.vacancies} vacancies, {s.seekers} seekers, "
            f"{s.placements} placements; eldercare: {s.assessments} assessments, "
            f"{s.care_placements} day-care placements, {s.visits} visits"
        )
    for rejection in tally.first_rejections:
        lines.append(f"  rejected row: {rejection}")
    lines.append(f"  done in {report.seconds:.1f} s")
    return lines


@app.command()
def generate(
    size: str = typer.Option("small", "--size", help="small, medium or city."),
    seed: int = typer.Option(2005, "--seed", help="The same seed draws the same city."),
    url: str = typer.Option(DEFAULT_URL, "--url", help="Scheme and host of the services."),
    port_offset: int = typer.Option(
        -1,
        "--port-offset",
        help="Added to the ports 8001..8005 (default: SHEQU_DEV_PORT_OFFSET, else 0).",
    ),
    today: str | None = typer.Option(
        None, "--today", help="Draw the city as of this day (YYYY-MM-DD; default today)."
    ),
    registry_only: bool = typer.Option(
        False, "--registry-only", help="Only the registry import (no cases, jobs, care)."
    ),
) -> None:
    """Draw a synthetic city and feed it to running services through their APIs."""
    if size not in SIZES:
        raise typer.BadParameter(f"one of {', '.join(SIZES)}", param_hint="'--size'")
    try:
        day = date.fromisoformat(today) if today else date.today()
    except ValueError:
        raise typer.BadParameter("a date YYYY-MM-DD", param_hint="'--today'") from None
    offset = port_offset if port_offset >= 0 else int(os.environ.get("SHEQU_DEV_PORT_OFFSET") or 0)
    try:
        report = load_city(
            service_urls(url, offset),
            size=size,
            seed=seed,
            today=day,
            token=development_token(),
            with_services=not registry_only,
        )
    except (FeedError, httpx.HTTPError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    for line in describe(report):
        typer.echo(line)
