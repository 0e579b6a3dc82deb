"""Feed a drawn city to running services, only through their public HTTP APIs.

The registry gets the city by bulk import (``POST /imports``, NDJSON): the areas in one
request, then each community's households, residents, facilities, workers, organisations and
volunteers in one request of its own. Its events reach metrics and the other services like any
clerk's. What the other services record about residents (cases, job seekers, elders' care) needs
the registry's ids, so it follows once those services have heard of the residents: see
:mod:`shared.city.services`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import httpx

from shared.city.plan import CityPlan, Row, iter_city

IMPORT_TIMEOUT_S = 600.0
ROWS_PER_CHUNK = 2000
"""NDJSON rows joined into one chunk of the streamed request body."""


class FeedError(Exception):
    """A service refused what the generator sent, or did not answer."""


@dataclass
class ImportTally:
    """What the registry made of the rows sent so far."""

    rows: int = 0
    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    first_rejections: list[dict[str, object]] = field(default_factory=list)
    households: int = 0
    residents: int = 0
    seconds: float = 0.0

    def add(self, report: dict[str, object]) -> None:
        for name in ("rows", "accepted", "updated", "unchanged", "rejected"):
            value = report.get(name, 0)
            setattr(self, name, getattr(self, name) + (value if isinstance(value, int) else 0))
        rejected_rows = report.get("rejected_rows")
        if isinstance(rejected_rows, list) and len(self.first_rejections) < 10:
            self.first_rejections += rejected_rows[: 10 - len(self.first_rejections)]


def ndjson_chunks(rows: Iterable[Row], per_chunk: int = ROWS_PER_CHUNK) -> Iterator[bytes]:
    """``rows`` as NDJSON, a few thousand lines per chunk."""
    lines: list[str] = []
    for row in rows:
        lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        if len(lines) >= per_chunk:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def import_rows(client: httpx.Client, registry_url: str, rows: Sequence[Row]) -> dict[str, object]:
    """Stream ``rows`` to the registry's bulk import; its report. A 429 (the token's write
    limit) is waited out and the file sent again, which is safe: a re-run changes nothing."""
    while True:
        response = client.post(
            f"{registry_url}/imports",
            params={"format": "ndjson"},
            content=ndjson_chunks(rows),
            headers={"Content-Type": "application/x-ndjson"},
            timeout=IMPORT_TIMEOUT_S,
        )
        if response.status_code != 429:
            break
        time.sleep(float(response.headers.get("Retry-After") or 1))
    if response.status_code != 200:
        raise FeedError(f"POST /imports answered {response.status_code}: {response.text[:500]}")
    report = response.json()
    if not isinstance(report, dict):
        raise FeedError("POST /imports answered something other than a report")
    return report


def import_city(
    client: httpx.Client,
    registry_url: str,
    plan: CityPlan,
    *,
    on_community: Callable[[ImportTally], None] | None = None,
) -> ImportTally:
    """Import ``plan``'s areas, then each community; the registry's tally. ``on_community``
    hears the tally after each community (a progress bar)."""
    tally = ImportTally()
    started = time.perf_counter()
    tally.add(import_rows(client, registry_url, plan.area_rows))
    for _community, drawn in iter_city(plan):
        tally.add(import_rows(client, registry_url, drawn.rows))
        tally.households += drawn.households
        tally.residents += drawn.residents
        tally.seconds = time.perf_counter() - started
        if on_community is not None:
            on_community(tally)
    tally.seconds = time.perf_counter() - started
    return tally
