"""End to end: `shequ dev up --detach` brings the platform up and loads the small synthetic city
through the services' APIs, so the metrics dashboard shows targets in every status; a
confluent-kafka subscriber reads the registry's events as CloudEvents 1.0; `shequ dev stop` takes
it all down.

The platform runs beside any developer's `make dev`: its var/ directory, broker port and service
ports come from SHEQU_DEV_VAR_DIR, SHEQU_DEV_BROKER_PORT and SHEQU_DEV_PORT_OFFSET.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from confluent_kafka import Consumer, KafkaError

from shared.city.plan import CITY_ID, SIZES, draw_city
from shared.cli.city import development_token
from shared.cli.dev import (
    CITY_SEED,
    SERVICE_NAMES,
    TARGET_STATUSES,
    find_repo_root,
    port_in_use,
    service_ports,
)
from shared.testing.broker import free_port

pytestmark = pytest.mark.e2e

ROOT = find_repo_root(Path(__file__).parent)
AREA_TOPIC = "registry.area.events"
UP_TIMEOUT_S = 420  # readiness (up to 90 s), then the small city (~1.5 min) and its statuses


@dataclass(frozen=True)
class DevPlatform:
    env: dict[str, str]
    var_dir: Path
    broker_port: int
    ports: dict[str, int]

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.broker_port}"


def shequ(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the `shequ` CLI of this environment in the repository root."""
    script = Path(sys.executable).with_name("shequ")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from shared.cli import app; app()"]
    )
    return subprocess.run(
        [*command, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port_offset() -> int:
    """An offset that puts all five service ports on free ports."""
    for _ in range(100):
        first = free_port()
        offset = first - 8001
        ports = service_ports(offset).values()
        if max(ports) <= 65535 and not any(port_in_use(port) for port in ports):
            return offset
    raise RuntimeError("no five consecutive free ports found")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevPlatform]:
    var_dir = tmp_path_factory.mktemp("dev-platform") / "var"
    broker_port = free_port()
    offset = free_port_offset()
    env = {
        **os.environ,
        "SHEQU_DEV_VAR_DIR": str(var_dir),
        "SHEQU_DEV_BROKER_PORT": str(broker_port),
        "SHEQU_DEV_PORT_OFFSET": str(offset),
    }
    result = shequ("dev", "up", "--detach", env=env, timeout=UP_TIMEOUT_S)
    dev = DevPlatform(env, var_dir, broker_port, service_ports(offset))
    try:
        assert result.returncode == 0, (
            f"`shequ dev up --detach` failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
        assert "starts empty" in result.stdout
        assert "Loading the small synthetic city" in result.stdout
        yield dev
    finally:
        shequ("dev", "stop", env=env)  # idempotent; the last test already stopped everything


def test_every_service_answers_ready(platform: DevPlatform) -> None:
    with httpx.Client(timeout=5.0) as client:
        for name in SERVICE_NAMES:
            base = f"http://127.0.0.1:{platform.ports[name]}"
            assert client.get(f"{base}/healthz").status_code == 200, name
            ready = client.get(f"{base}/readyz")
            assert ready.status_code == 200, f"{name}: {ready.text}"
    status = shequ("dev", "status", env=platform.env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count(" ready ") == len(SERVICE_NAMES)


def get_ok(client: httpx.Client, url: str, **params: object) -> Any:
    """The JSON of a GET answered 200; a 503 (SQLite busy while the services digest the
    city's events: "retry the request") is retried for up to a minute."""
    deadline = time.monotonic() + 60
    while True:
        response = client.get(url, params=params)
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert response.status_code == 200, f"{url}: {response.text}"
    return response.json()


def test_the_small_city_is_loaded_and_the_dashboard_shows_every_status(
    platform: DevPlatform,
) -> None:
    headers = {"Authorization": f"Bearer {development_token()}"}
    base = {name: f"http://127.0.0.1:{port}" for name, port in platform.ports.items()}
    # generous: the services are still digesting the city's events on a shared two-core machine
    with httpx.Client(timeout=60.0, headers=headers) as client:
        residents = get_ok(client, f"{base['registry']}/residents/count", within=CITY_ID)
        assert residents["count"] > 3000  # a few thousand residents in four communities
        cases = get_ok(client, f"{base['casework']}/cases", limit=500)
        states = {case["state"] for case in cases["items"]}
        assert {"submitted", "returned", "accepted", "delegated", "closed", "withdrawn"} <= states
        # across the catalogue: disputes mediated to an agreement and petitions about a case too
        kinds = {case["kind"] for case in cases["items"]}
        assert {"service", "mediation", "petition"} <= kinds
        outcomes = {
            (case["state"], case["mediation"]["outcome"])
            for case in cases["items"]
            if case["kind"] == "mediation"
        }
        assert {("accepted", None), ("decided", "agreement")} <= outcomes
        assert any(state == "closed" and outcome for state, outcome in outcomes)
        assert all(c["related_case_ids"] for c in cases["items"] if c["kind"] == "petition")
        assert get_ok(client, f"{base['employment']}/placements")["items"]
        targets = get_ok(client, f"{base['metrics']}/targets")
        statuses = {(t.get("evaluation") or {}).get("status") for t in targets}
    assert set(TARGET_STATUSES) <= statuses, statuses


def test_a_confluent_kafka_subscriber_reads_registry_events_as_cloudevents(
    platform: DevPlatform,
) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": platform.bootstrap_servers,
            "group.id": f"e2e-confluent-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([AREA_TOPIC])
    events: list[CloudEvent] = []
    city = draw_city(SIZES["small"], seed=CITY_SEED, today=date.today())
    demo_areas = {str(area["id"]) for area in city.area_rows}
    areas_seen: set[str] = set()
    deadline = time.monotonic() + 60  # a first group join against Tansu can take ~20 s
    try:
        while not demo_areas <= areas_seen:  # until every demo area's event has been read
            if time.monotonic() > deadline:
                pytest.fail(
                    f"after 60 s, {len(events)} event(s) on {AREA_TOPIC} and none for the demo "
                    f"areas {sorted(demo_areas - areas_seen)} (was the small city loaded?)"
                )
            message = consumer.poll(1.0)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                    continue
                pytest.fail(f"consumer error: {error}")
            key = message.key()
            assert key is not None
            areas_seen.add(key.decode())
            value = message.value()
            assert value is not None
            headers = {key: raw for key, raw in message.headers() or [] if raw is not None}
            event = from_structured(
                KafkaMessage(headers=headers, key=message.key(), value=value),
                JSONFormat(),
                CloudEvent,
            )
            assert isinstance(event, CloudEvent)
            assert event.get_specversion() == "1.0"
            assert event.get_type().startswith("org.shequ.registry."), event.get_type()
            assert headers["ce_id"].decode() == event.get_id()
            assert headers["ce_type"].decode() == event.get_type()
            events.append(event)
    finally:
        consumer.close()
    assert len({event.get_id() for event in events}) == len(events)


def test_stop_stops_everything(platform: DevPlatform) -> None:
    run_dir = platform.var_dir / "run"
    assert sorted(p.name for p in run_dir.glob("*.pid")) == sorted(
        f"{name}.pid" for name in ("broker", *SERVICE_NAMES)
    )
    result = shequ("dev", "stop", env=platform.env)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("broker", *SERVICE_NAMES):
        assert f"stopped {name}" in result.stdout or f"killed {name}" in result.stdout, name
    assert list(run_dir.glob("*.pid")) == []
    for port in (platform.broker_port, *platform.ports.values()):
        assert not port_in_use(port), f"port {port} still in use"
    again = shequ("dev", "stop", env=platform.env)
    assert again.returncode == 0
    assert "nothing to stop" in again.stdout
