"""End to end, as an integrator: the platform of `shequ dev up` (Tansu and the five services) has
published events; the sample consumer of docs/subscribing.md reads every one of them from the
beginning, parses it with the CloudEvents SDK and validates it against the schema its
`dataschema` URL serves; the shequ-contracts wheel, installed alone in an empty virtual
environment, parses them into the typed models.

Which event types the platform produced is read from the services' outboxes (the rows their
relays marked published), so the test checks every type there is, whatever the demo data holds.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.cli.dev import SERVICE_NAMES, find_repo_root, port_in_use, service_ports
from shared.testing.broker import free_port

pytestmark = pytest.mark.e2e

ROOT = find_repo_root(Path(__file__).parent)
SAMPLE = ROOT / "examples" / "subscriber.py"
UP_TIMEOUT_S = 300  # start-up and the demo data, on two shared cores
READ_TIMEOUT_S = 180  # a first group join on Tansu takes ~25 s; then every event


@dataclass(frozen=True)
class DevPlatform:
    env: dict[str, str]
    var_dir: Path
    broker_port: int
    ports: dict[str, int]

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def published_types(self) -> dict[str, int]:
        """Event type → how many events of it the services' relays have published."""
        counts: dict[str, int] = {}
        for name in SERVICE_NAMES:
            database = self.var_dir / f"{name}.db"
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
                rows = db.execute(
                    "SELECT event_type, count(*) FROM outbox "
                    "WHERE published_at IS NOT NULL GROUP BY event_type"
                ).fetchall()
            for event_type, count in rows:
                counts[event_type] = counts.get(event_type, 0) + count
        return counts


def shequ(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run this environment's `shequ` command line in the repository root."""
    command = [sys.executable, "-c", "from shared.cli import app; app()", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def free_port_offset() -> int:
    """An offset that puts all five service ports on free ports."""
    for _ in range(100):
        offset = free_port() - 8001
        ports = service_ports(offset).values()
        if max(ports) <= 65535 and not any(port_in_use(port) for port in ports):
            return offset
    raise RuntimeError("no five free service ports found")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevPlatform]:
    var_dir = tmp_path_factory.mktemp("integrators") / "var"
    broker_port, offset = free_port(), free_port_offset()
    ports = service_ports(offset)  # `dev up` points dataschema at this copy's registry
    env = {
        **os.environ,
        "SHEQU_DEV_VAR_DIR": str(var_dir),
        "SHEQU_DEV_BROKER_PORT": str(broker_port),
        "SHEQU_DEV_PORT_OFFSET": str(offset),
    }
    result = shequ("dev", "up", "--detach", env=env, timeout=UP_TIMEOUT_S)
    try:
        assert result.returncode == 0, (
            f"`shequ dev up --detach` failed:\n{result.stdout}\n{result.stderr}"
        )
        yield DevPlatform(env, var_dir, broker_port, ports)
    finally:
        shequ("dev", "stop", env=env)


def settled_types(
    platform: DevPlatform, quiet_s: float = 5.0, timeout_s: float = 120
) -> dict[str, int]:
    """The published types once the relays have published nothing new for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last = platform.published_types()
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = platform.published_types()
        if now == last and now:
            return now
        last = now
    pytest.fail(f"the outboxes kept publishing for {timeout_s} s: {last}")


def read_lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def test_the_sample_subscriber_reads_parses_and_validates_every_event_type(
    platform: DevPlatform,
) -> None:
    expected = settled_types(platform)
    assert len(expected) >= 3, f"the demo platform published too little to test: {expected}"
    env = {
        **platform.env,
        "KAFKA_BOOTSTRAP_SERVERS": platform.bootstrap_servers,
        "GROUP_ID": f"integrator-test-{uuid.uuid4().hex[:8]}",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(SAMPLE)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stdout, lines), daemon=True).start()
    seen: dict[str, int] = {}
    ids: set[str] = set()
    handled = 0
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while any(seen.get(t, 0) < n for t, n in expected.items()):
            if process.poll() is not None:
                pytest.fail(f"the sample stopped ({process.returncode}):\n{process.stderr.read()}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                missing = {t: n - seen.get(t, 0) for t, n in expected.items() if seen.get(t, 0) < n}
                pytest.fail(f"after {READ_TIMEOUT_S} s the sample had not read: {missing}")
            try:
                line = json.loads(lines.get(timeout=1.0))
            except queue.Empty:
                continue
            assert line["id"] not in ids, f"event {line['id']} printed twice"
            ids.add(line["id"])
            seen[line["type"]] = seen.get(line["type"], 0) + 1
            handled += line["note"] != "skipped"
    finally:
        process.terminate()
        process.wait(timeout=30)
    # every published event was parsed and validated (the sample raises on an invalid one)
    assert set(seen) == set(expected)
    if "org.shequ.registry.resident.registered.v1" in expected:
        assert handled == expected["org.shequ.registry.resident.registered.v1"]


CLEAN_VENV_SCRIPT = """
import importlib.util, json, sys
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
from shared.contracts import CONTRACTS, CloudEvent

platform_modules = ["fastapi", "sqlalchemy", "aiokafka", "shared.http", "shared.db", "yaml"]
present = [m for m in platform_modules if importlib.util.find_spec(m) is not None]
topic, wanted = sys.argv[1], int(sys.argv[2])
consumer = Consumer({"bootstrap.servers": sys.argv[3], "group.id": "integrator-wheel-test",
                     "enable.auto.commit": False})
partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
parsed = {}
while sum(parsed.values()) < wanted:
    record = consumer.poll(30.0)
    if record is None:
        break
    if record.error():
        continue
    event = CloudEvent.model_validate_json(record.value())
    payload = CONTRACTS.parse_payload(event)
    assert payload.model_dump(mode="json") == event.data
    name = f"{event.type} {type(payload).__module__}.{type(payload).__name__}"
    parsed[name] = parsed.get(name, 0) + 1
consumer.close()
print(json.dumps({"present": present, "parsed": parsed, "types": len(CONTRACTS)}))
"""


def test_the_contracts_wheel_alone_parses_events_from_the_dev_broker(
    platform: DevPlatform, tmp_path: Path
) -> None:
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH (make install puts it in ~/.local/bin)"
    dist, venv = tmp_path / "dist", tmp_path / "venv"

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(uv, "build", "--wheel", "--out-dir", str(dist), "contracts")
    (wheel,) = dist.glob("shequ_contracts-*.whl")
    run(uv, "venv", "--quiet", "--python", sys.executable, str(venv))
    python = str(venv / "bin" / "python")
    run(uv, "pip", "install", "--quiet", "--python", python, str(wheel), "confluent-kafka")
    installed = run(uv, "pip", "freeze", "--python", python)
    assert {re.split(r"==| @ ", line)[0] for line in installed.splitlines()} <= {
        "annotated-types", "confluent-kafka", "pydantic", "pydantic-core", "shequ-contracts",
        "typing-extensions", "typing-inspection",
    }, installed  # fmt: skip

    expected = settled_types(platform)
    topic_events = {t: n for t, n in expected.items() if t.startswith("org.shequ.registry.area.")}
    assert topic_events, f"no area events were published: {expected}"
    wanted = sum(topic_events.values())
    script = tmp_path / "parse.py"
    script.write_text(CLEAN_VENV_SCRIPT)
    output = run(
        python, "-I", str(script), "registry.area.events", str(wanted), platform.bootstrap_servers
    )
    result = json.loads(output)
    assert result["present"] == [], (
        f"platform modules in the clean environment: {result['present']}"
    )
    from shared.contracts import CONTRACTS

    assert result["types"] == len(CONTRACTS), "the wheel lacks some contract module"
    assert {name.split()[0]: n for name, n in result["parsed"].items()} == topic_events
    assert all(" shared.contracts.registry." in name for name in result["parsed"])
