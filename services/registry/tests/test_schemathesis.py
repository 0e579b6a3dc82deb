"""Schemathesis against the running registry (demo data, PostgreSQL): requests generated from
its OpenAPI document (examples, coverage, fuzzing, stateful sequences), every answer checked
against the document: no server error, every status declared, content types, response
schemas and headers, invalid input refused, `Allow` on 405, authentication honoured.

One check is left out, ``positive_data_acceptance``: it expects every schema-valid request to
succeed, while the registry answers 422 naming the field to schema-valid requests that break
a rule of the register (a date in the future or before the community began, a retired
community, a malformed cursor) — as documented for each operation."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from registry.settings import Settings
from shared.testing.service import bearer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def registry_url(fresh_postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """The registry served by uvicorn on a free port, with the demo data, no broker."""
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": fresh_postgres_url,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "DEMO_DATA": "true",
        "RELAY_ENABLED": "false",
    }
    log = (tmp_path / "registry.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "uvicorn"), "--factory", "registry.app:create_app", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise AssertionError(
                f"the registry did not start: {(tmp_path / 'registry.log').read_text()[-2000:]}"
            )
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_the_registry_api_conforms_to_its_openapi_document(
    registry_url: str, tmp_path: Path
) -> None:
    settings = Settings(environment="development", _env_file=None)  # type: ignore[call-arg]
    token = bearer(settings, "registry:read", "registry:write", "pii:read")
    run = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            f"{registry_url}/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--header",
            f"Authorization: {token['Authorization']}",
            "--max-examples",
            "10",
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
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
