"""Schemathesis against each of the five services, served by uvicorn on PostgreSQL with its
demo data (metrics: an empty city) and no broker: requests generated from the service's
OpenAPI document (examples, coverage, fuzzing, and the stateful phase where the document
declares links), every answer checked against the document with ALL checks: no server error,
every status declared, content types, response schemas and headers, invalid input refused,
valid input accepted, ``Allow`` on 405, authentication honoured.

``positive_data_acceptance`` expects a schema-valid request to be answered 2xx, 401, 403 or
404 (schemathesis's default). Where a domain rule refuses what no schema can say (a date
after today, a community retired since, a transition the object's state forbids), the
operation is listed in ``tests/schemathesis.toml`` with the extra statuses it may answer to
valid input (409 for a conflict with the state, 422 for a rule naming the field), and why.
Everything else the schemas say exactly (patterns, formats, bounds, enums), so schemathesis
generates only what the services accept.

Each run is bounded (5 examples per operation, a fixed seed, one worker) and the five run at
the same time, each service on a PostgreSQL database of its own.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.auth import ALL_SCOPES
from shared.testing.postgres import create_database, drop_database
from shared.testing.service import bearer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BIN = Path(sys.executable).parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SERVICES = ("registry", "metrics", "casework", "employment", "eldercare")
DEMO = {"registry", "casework", "employment", "eldercare"}
"""Services that load demo data, so generated requests also meet existing objects."""
MAX_EXAMPLES = "5"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(service: str, database_url: str, log_path: Path) -> Iterator[str]:
    """``service`` served by uvicorn on a free port (no broker, relay off); its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "DEMO_DATA": "true" if service in DEMO else "false",
        "RELAY_ENABLED": "false",
        # Rate limits are tested where they are built; here they would answer 429 to a run
        # that writes faster than any clerk.
        "RATE_LIMIT_WRITES": "",
        "RATE_LIMIT_NOT_FOUND": "",
        "TRACKING_MAX_FAILURES": "1000000",  # casework: wrong tracking codes per address
    }
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(BIN / "uvicorn"), "--factory", f"{service}.app:create_app", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            else:
                raise AssertionError(f"{service} did not start: {log_path.read_text()[-2000:]}")
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


@dataclass(frozen=True)
class Run:
    """The outcome of one service's schemathesis run."""

    returncode: int
    report: Path
    server_log: Path


def schemathesis_command(name: str, url: str) -> list[str]:
    settings = importlib.import_module(f"{name}.settings").Settings(
        environment="development", _env_file=None
    )
    token = bearer(settings, *ALL_SCOPES)
    return [
        str(BIN / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: {token['Authorization']}",
        "--max-examples",
        MAX_EXAMPLES,
        "--workers",
        "1",
        "--seed",
        "20261130",
        "--no-color",
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every service served at once, each on a database of its own, and schemathesis run
    against all five at the same time (a run waits on its service most of the time, so the
    five together take little longer than the longest)."""
    directory = tmp_path_factory.mktemp("schemathesis")
    ARTIFACTS.mkdir(exist_ok=True)
    with ExitStack() as stack:
        urls = {}
        for name in SERVICES:
            database = create_database()
            stack.callback(drop_database, database)
            log = directory / f"{name}.log"
            urls[name] = stack.enter_context(contextmanager(serve)(name, database, log))
        started = {}
        for name, url in urls.items():
            report = ARTIFACTS / f"schemathesis-{name}.txt"
            output = stack.enter_context(report.open("w"))
            started[name] = subprocess.Popen(
                schemathesis_command(name, url),
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=directory,
                env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
            )
        outcomes = {}
        for name, process in started.items():
            try:
                returncode = process.wait(timeout=540)
            finally:
                if process.poll() is None:
                    process.kill()
            outcomes[name] = Run(
                returncode, ARTIFACTS / f"schemathesis-{name}.txt", directory / f"{name}.log"
            )
        yield outcomes


@pytest.mark.parametrize("name", SERVICES)
def test_the_api_conforms_to_its_openapi_document(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    report = run.report.read_text()
    assert run.returncode == 0, (
        f"whole report: {run.report}\n" + report[-8000:] + run.server_log.read_text()[-2000:]
    )
