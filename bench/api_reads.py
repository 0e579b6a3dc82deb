"""Benchmark: the registry's read API against a bare FastAPI app serving the same bodies.

Run with ``make bench`` (or ``uv run python bench/api_reads.py [--seconds 10]``). It creates
a fresh PostgreSQL database (127.0.0.1:5432, trust auth), loads the demo areas and a few
thousand households and residents through the registry's own demo loader and bulk import,
and starts two uvicorn processes on loopback, one worker each: the registry service, and a
bare FastAPI app whose routes return, pre-built, the exact bodies the registry answered.
``wrk`` (Debian's package; ``make bench`` installs it) loads each read route of both in
turn. Requests/s of the registry divided by those of the bare app is the figure to compare
between machines and commits. Beside it, the CPU time each server process spent per request
(from ``/proc``), which a neighbour's load on a shared machine moves much less than
throughput. Results go to ``bench/results/api_reads.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import figures
import httpx
from fastapi import FastAPI, Response

from registry import importer
from registry.adapters.events import translate
from registry.demo import load_demo_data
from registry.domain.national_id import check_character
from registry.pii import PiiProtector
from registry.settings import Settings
from shared.auth import mint_token
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.testing.postgres import create_database, drop_database

RESULTS = Path(__file__).parent / "results" / "api_reads.json"
BODIES_ENV = "BENCH_BARE_BODIES"
"""Environment variable naming the JSON file of ``{route path: body}`` the bare app serves."""
COMMUNITIES = [
    "140502001001",
    "140502001002",
    "140502002001",
    "140502002002",
    "140525001001",
    "140525001002",
    "140525002001",
]
EMPLOYMENT = ["employed", "laid_off", "unemployed", "retired", "student", "not_in_labour_force"]
WRK_CONNECTIONS = 16


def bare_app() -> FastAPI:
    """A FastAPI app answering each benchmarked path with its pre-built body, nothing else
    (``uvicorn --factory``; the bodies come from the file named by ``BENCH_BARE_BODIES``)."""
    bodies: dict[str, str] = json.loads(Path(os.environ[BODIES_ENV]).read_text())
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def serve(body: bytes) -> object:
        async def endpoint() -> Response:
            return Response(content=body, media_type="application/json")

        return endpoint

    for path, body in bodies.items():
        app.add_api_route(path, serve(body.encode()), methods=["GET"])  # type: ignore[arg-type]
    return app


def register_lines(households: int, residents: int) -> tuple[list[str], list[str]]:
    """NDJSON lines of households in the demo communities and residents in them (valid,
    unique national id numbers)."""
    household_lines = [
        json.dumps(
            {
                "type": "household",
                "ref": f"H{number}",
                "community_id": COMMUNITIES[number % len(COMMUNITIES)],
                "address": f"{number} Bench Road",
                "registered_on": "2010-01-01",
            }
        )
        for number in range(households)
    ]
    resident_lines = []
    start = date(1930, 1, 1)
    for number in range(residents):
        born = start + timedelta(days=number % 27_000)
        sequence = number // 27_000 * 2 + number % 2
        first17 = f"140502{born:%Y%m%d}{sequence:03d}"
        resident_lines.append(
            json.dumps(
                {
                    "type": "resident",
                    "national_id": first17 + check_character(first17),
                    "name": f"Resident {number}",
                    "sex": "male" if sequence % 2 else "female",
                    "birth_date": born.isoformat(),
                    "household_ref": f"H{number % households}",
                    "employment_status": EMPLOYMENT[number % len(EMPLOYMENT)],
                    "flags": ["empty_nest"] if number % 17 == 0 else [],
                }
            )
        )
    return household_lines, resident_lines


async def _stream(lines: list[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def load(url: str, households: int, residents: int) -> None:
    """Migrate the database and fill it through the registry's own loader and import."""
    await asyncio.to_thread(upgrade, "registry", url)
    settings = Settings(database_url=url, environment="development")
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        await load_demo_data(sessions, translate=translate)
        pii = PiiProtector.from_settings(settings)
        for lines in register_lines(households, residents):
            report = await importer.import_rows(
                sessions, translate=translate, pii=pii, lines=_stream(lines), fmt="ndjson"
            )
            if report.rejected:
                raise SystemExit(f"{report.rejected} rows rejected: {report.rejected_rows[:3]}")
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def uvicorn(app: str, env: dict[str, str], log: Path) -> Iterator[Server]:
    """Run ``uvicorn --factory app`` (one worker, loopback) until the block ends; yields it
    once ``/healthz`` answers (a bare app answers it with 404, which is enough)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"]
    command += ["--app-dir", str(Path(__file__).parent)]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"{app} exited; see {log}:\n{log.read_text()[-2000:]}")
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{app} did not start; see {log}") from None
                    time.sleep(0.2)
            yield Server(base, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class Server:
    """A server process under test."""

    url: str
    pid: int

    def cpu_s(self) -> float:
        """CPU seconds (user and system) the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Load:
    """What one wrk run measured: throughput, and the server's CPU time per request (which a
    neighbour's load on the machine barely moves)."""

    requests_per_s: float
    cpu_us_per_request: float


def load_test(server: Server, path: str, *, seconds: float, token: str | None) -> Load:
    """Load ``path`` on ``server`` with wrk for ``seconds``."""
    cpu_before = server.cpu_s()
    requests, per_s = wrk(server.url + path, seconds=seconds, token=token)
    cpu = server.cpu_s() - cpu_before
    return Load(per_s, cpu / max(requests, 1) * 1e6)


def wrk(url: str, *, seconds: float, token: str | None) -> tuple[int, float]:
    """Requests completed and requests/s ``wrk`` measured on ``url``; fails on any non-2xx
    answer or socket error."""
    command = ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{seconds:g}s"]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"wrk saw errors on {url}:\n{output}")
    per_s = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    requests = re.search(r"([0-9]+) requests in", output)
    if per_s is None or requests is None:
        raise SystemExit(f"no request count in wrk's output:\n{output}")
    return int(requests.group(1)), float(per_s.group(1))


def run(*, seconds: float, rounds: int, households: int, residents: int) -> dict[str, object]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: `make bench` installs it (apt-get install wrk)")
    url = create_database("shequ_bench_reads")
    try:
        asyncio.run(load(url, households, residents))
        settings = Settings(database_url=url, environment="development")
        token = mint_token(settings, subject="bench", scopes=["registry:read"], ttl_s=86_400)
        env = {
            "DATABASE_URL": url,
            "ENVIRONMENT": "development",
            "MIGRATE_ON_START": "false",
            "RELAY_ENABLED": "false",
            "CONSUMER_ENABLED": "false",
            "DEMO_DATA": "false",
        }
        with tempfile.TemporaryDirectory() as folder:
            logs = Path(folder)
            with uvicorn("registry.app:create_app", env, logs / "registry.log") as registry:
                headers = {"Authorization": f"Bearer {token}"}
                first = httpx.get(registry.url + "/residents?limit=50", headers=headers).json()
                paths = {
                    "GET /residents?limit=50": "/residents?limit=50",
                    "GET /areas": "/areas",
                    "GET /residents/{id}": f"/residents/{first['items'][0]['id']}",
                }
                bodies: dict[str, str] = {}
                for path in paths.values():
                    answer = httpx.get(registry.url + path, headers=headers)
                    answer.raise_for_status()
                    bodies[path.split("?")[0]] = answer.text
                sizes = {name: len(bodies[path.split("?")[0]]) for name, path in paths.items()}
                bodies_file = logs / "bodies.json"
                bodies_file.write_text(json.dumps(bodies))
                bare_env = {BODIES_ENV: str(bodies_file)}
                with uvicorn("api_reads:bare_app", bare_env, logs / "bare.log") as bare:
                    figures = measure(registry, bare, paths, token, seconds, rounds)
    finally:
        drop_database(url)
    return {
        "benchmark": "registry read API vs a bare FastAPI app returning the same bodies",
        "load": f"wrk -t1 -c{WRK_CONNECTIONS} -d{seconds:g}s on 127.0.0.1, best of {rounds}",
        "server": "uvicorn, one worker each, PostgreSQL on 127.0.0.1",
        "data": {
            "areas": "demo (Jincheng slice)",
            "households": households,
            "residents": residents,
        },
        "routes": {
            name: {**figures[name], "body_bytes": sizes[name], "target_ratio": 0.3}
            for name in paths
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_1_5_15_min_at_end": [round(load, 2) for load in os.getloadavg()],
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def measure(
    registry: Server,
    bare: Server,
    paths: dict[str, str],
    token: str,
    seconds: float,
    rounds: int,
) -> dict[str, dict[str, float]]:
    """Best requests/s of each route on the registry and on the bare app, and each one's
    CPU time per request; the two run in alternation so a neighbour's load on the machine
    hits both alike."""
    figures: dict[str, dict[str, float]] = {}
    for name, path in paths.items():
        load_test(registry, path, seconds=2, token=token)  # warm the pool and the caches
        load_test(bare, path, seconds=2, token=None)
        real: list[Load] = []
        baseline: list[Load] = []
        for _ in range(rounds):
            real.append(load_test(registry, path, seconds=seconds, token=token))
            baseline.append(load_test(bare, path, seconds=seconds, token=None))
        best = max(real, key=lambda load: load.requests_per_s)
        best_baseline = max(baseline, key=lambda load: load.requests_per_s)
        ratio = best.requests_per_s / best_baseline.requests_per_s
        cpu_ratio = best_baseline.cpu_us_per_request / best.cpu_us_per_request
        figures[name] = {
            "requests_per_s": round(best.requests_per_s, 1),
            "baseline_requests_per_s": round(best_baseline.requests_per_s, 1),
            "ratio_to_baseline": round(ratio, 3),
            "server_cpu_us_per_request": round(best.cpu_us_per_request, 1),
            "baseline_server_cpu_us_per_request": round(best_baseline.cpu_us_per_request, 1),
            "cpu_ratio_baseline_to_real": round(cpu_ratio, 3),
        }
        print(
            f"{name:<24} {best.requests_per_s:8.1f} req/s  bare {best_baseline.requests_per_s:8.1f}"
            f" req/s  ratio {ratio:.3f}   server CPU/request {best.cpu_us_per_request:6.0f} µs"
            f"  bare {best_baseline.cpu_us_per_request:4.0f} µs  ratio {cpu_ratio:.3f}",
            flush=True,
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=1, help="runs per route; the best counts")
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--residents", type=int, default=4000)
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    result = run(
        seconds=args.seconds,
        rounds=args.rounds,
        households=args.households,
        residents=args.residents,
    )
    print(json.dumps(result, indent=2))
    if not args.no_save:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        figures.record("api_reads", figures_of(result))


def figures_of(result: dict[str, Any]) -> list[figures.Figure]:
    """The run's figures for the benchmark table (bench/run.py): requests/s of each route
    beside the bare FastAPI endpoint."""
    return [
        figures.Figure(
            f"API reads {route}",
            "requests/s",
            measured["requests_per_s"],
            measured["baseline_requests_per_s"],
            "bare FastAPI, same server",
            aim=f"ratio >= {measured['target_ratio']}",
        )
        for route, measured in result["routes"].items()
    ]


if __name__ == "__main__":
    main()
