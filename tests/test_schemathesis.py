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

Each run is bounded (``--max-examples``, ``--generation-deterministic``-free seed, one
worker) so the five together take about two minutes.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.auth import ALL_SCOPES
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


@pytest.fixture(params=SERVICES)
def service(
    request: pytest.FixtureRequest, fresh_postgres_url: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """(name, base URL) of one running service."""
    name: str = request.param
    for url in serve(name, fresh_postgres_url, tmp_path / f"{name}.log"):
        yield name, url


def test_the_api_conforms_to_its_openapi_document(service: tuple[str, str], tmp_path: Path) -> None:
    name, url = service
    settings = importlib.import_module(f"{name}.settings").Settings(
        environment="development", _env_file=None
    )
    token = bearer(settings, *ALL_SCOPES)
    run = subprocess.run(
        [
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
        ],
        capture_output=True,
        text=True,
        timeout=540,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
    )
    ARTIFACTS.mkdir(exist_ok=True)
    report = ARTIFACTS / f"schemathesis-{name}.txt"
    report.write_text(run.stdout + run.stderr)
    log = (tmp_path / f"{name}.log").read_text()
    assert run.returncode == 0, f"whole report: {report}\n" + run.stdout[-8000:] + log[-2000:]
