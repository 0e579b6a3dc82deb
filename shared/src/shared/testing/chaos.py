"""The five services as separate processes, one per role, to kill at will (fault injection).

Each service runs as up to three uvicorn processes on one PostgreSQL database, forked from a
parent that imported the service once (:mod:`shared.testing.zygote`): ``api`` (HTTP
only: ``RELAY_ENABLED=false``, ``CONSUMER_ENABLED=false``), ``relay`` (the outbox relay) and
``consumer`` (its consumer group), so each can be killed with ``SIGKILL`` on its own, or all of
a service's at once. Periodic jobs are off (``JOBS_ENABLED=false``) so that every event comes
from a write the test made. The databases live in a :class:`~shared.testing.pgserver.
PrivatePostgres` of the test's own and the broker is a private Tansu, so a trial may also
restart PostgreSQL without disturbing other tests.

:class:`TopicLog` reads the topics with a raw consumer (no group, from the beginning) and keeps
every record's key, type and event id, to check that each acknowledged write's event arrived
and how often.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.settings import DEVELOPMENT_ENVIRONMENT
from shared.testing.broker import TansuBroker, free_port
from shared.testing.pgserver import PrivatePostgres

API = "api"
RELAY = "relay"
CONSUMER = "consumer"
WHOLE_SERVICE = "service"
"""A kill target meaning every role of one service at once."""
POSTGRES_CRASH = ("postgres", "crash")
"""A kill target meaning the database server of every service, crashed and restarted."""

SERVICE_ROLES: dict[str, tuple[str, ...]] = {
    "registry": (API, RELAY),
    "casework": (API, RELAY, CONSUMER),
    "employment": (API, RELAY, CONSUMER),
    "eldercare": (API, RELAY, CONSUMER),
    "metrics": (API, RELAY, CONSUMER),
}
"""The roles each service runs as (the registry consumes nothing)."""

READY_TIMEOUT_S = 120.0

CHAOS_SETTINGS: dict[str, str] = {
    "ENVIRONMENT": DEVELOPMENT_ENVIRONMENT,
    "LOG_JSON": "true",
    "LOG_LEVEL": "WARNING",
    "PYTHONUNBUFFERED": "1",
    "JOBS_ENABLED": "false",
    "RELAY_LEASE_TTL_S": "2",
    "RELAY_POLL_INTERVAL_S": "0.1",
    "RELAY_MAX_BACKOFF_S": "1",
    "CONSUMER_BACKOFF_S": "0.05",
    "CONSUMER_MAX_BACKOFF_S": "1",
    "RATE_LIMIT_WRITES": "",
    "RATE_LIMIT_NOT_FOUND": "",
}
"""Settings of every role process: short relay lease and back-offs, so a killed role's
successor takes over within seconds; no rate limits (the generator is one busy client)."""


class Zygote:
    """A process that imported one service and forks its role processes
    (:mod:`shared.testing.zygote`), so a restart costs a fork, not seconds of imports."""

    def __init__(self, service: str, log_path: Path) -> None:
        self.service = service
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.testing.zygote", service],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                text=True,
            )

    def wait_ready(self) -> None:
        """Block until the service is imported."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the {self.service} zygote did not start (said {line!r})")

    def fork(self, env: dict[str, str], port: int, log_path: Path) -> int:
        """A new process serving the service with ``env`` on ``port``; its pid."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        request = {"env": env, "port": port, "log": str(log_path)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def stop(self) -> None:
        """Close its input (it exits) and wait for it."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (its zygote reaps it once it exits)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@dataclass
class RoleProcess:
    """One role of one service: a uvicorn process in a session (process group) of its own."""

    service: str
    role: str
    env: dict[str, str]
    log_path: Path
    zygote: Zygote
    port: int = field(default_factory=free_port)
    pid: int | None = None
    starts: int = 0

    @property
    def name(self) -> str:
        """``service/role``."""
        return f"{self.service}/{self.role}"

    @property
    def url(self) -> str:
        """Base URL of its HTTP server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (its output appended to :attr:`log_path`)."""
        env = {
            **self.env,
            "HTTP_PORT": str(self.port),
            "HTTP_HOST": "127.0.0.1",
            "METRICS_PORT": "0",  # any free port: HTTP_PORT + 1000 may be another's
        }
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1} of {self.name}\n".encode())
        self.pid = self.zygote.fork(env, self.port, self.log_path)
        self.starts += 1

    def kill(self) -> None:
        """``SIGKILL`` the process group and wait until it is gone."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        _wait_gone(self.pid, 10.0)
        self.pid = None

    def stop(self) -> None:
        """``SIGTERM``, then ``SIGKILL`` after 10 s."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        if not _wait_gone(self.pid, 10.0):
            self.kill()
        self.pid = None

    async def wait_ready(
        self, client: httpx.AsyncClient, timeout_s: float = READY_TIMEOUT_S
    ) -> None:
        """Wait until ``/readyz`` answers 200; raise with the log's tail if it exits or stays
        unready."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            if self.pid is None or not _running(self.pid):
                raise RuntimeError(f"{self.name} exited while starting:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{self.url}/readyz", timeout=2.0)).status_code == 200:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{self.name} not ready after {timeout_s} s:\n{self.log_tail()}")
            await asyncio.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of its log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class ChaosPlatform:
    """The running platform: a private PostgreSQL, a private broker and every role process."""

    postgres: PrivatePostgres
    broker: TansuBroker
    roles: dict[tuple[str, str], RoleProcess]
    client: httpx.AsyncClient

    def api(self, service: str) -> str:
        """Base URL of ``service``'s API process."""
        return self.roles[(service, API)].url

    def database_dsn(self, service: str) -> str:
        """libpq URL of ``service``'s database."""
        return self.postgres.dsn(service)

    def targets(self) -> list[tuple[str, str]]:
        """Every kill target: each role of each service, each whole service, and the
        database server (:data:`POSTGRES_CRASH`)."""
        found = list(self.roles)
        found += [(service, WHOLE_SERVICE) for service in SERVICE_ROLES]
        found.append(POSTGRES_CRASH)
        return found

    def processes_of(self, service: str, role: str) -> list[RoleProcess]:
        """The processes a kill target names."""
        if role == WHOLE_SERVICE:
            return [process for (name, _), process in self.roles.items() if name == service]
        return [self.roles[(service, role)]]

    def kill(self, service: str, role: str) -> list[RoleProcess]:
        """``SIGKILL`` the target's processes; the processes killed (none for the database
        server, which :meth:`crash_postgres` restarts itself)."""
        if (service, role) == POSTGRES_CRASH:
            return []
        victims = self.processes_of(service, role)
        for process in victims:
            process.kill()
        return victims

    async def crash_postgres(self) -> None:
        """Crash the database server (``pg_ctl stop -m immediate``: every backend killed, no
        checkpoint) and start it again; the services must reconnect by themselves."""
        await asyncio.to_thread(self.postgres.restart, "immediate")

    async def restart(self, processes: Iterable[RoleProcess]) -> None:
        """Start ``processes`` again (the API first, it migrates) and wait until ready."""
        ordered = sorted(processes, key=lambda process: process.role != API)
        for process in ordered:
            process.start()
            if process.role == API:
                await process.wait_ready(self.client)
        await asyncio.gather(*(process.wait_ready(self.client) for process in ordered))


@asynccontextmanager
async def chaos_platform(
    directory: Path,
    *,
    services: Iterable[str] = tuple(SERVICE_ROLES),
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[ChaosPlatform]:
    """Start PostgreSQL, the broker and every role of ``services``; stop them all on exit."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    postgres = PrivatePostgres()
    broker = TansuBroker(log_path=directory / "broker.log")
    roles: dict[tuple[str, str], RoleProcess] = {}
    zygotes: dict[str, Zygote] = {}
    client = httpx.AsyncClient(timeout=30.0)
    try:
        await asyncio.to_thread(postgres.start)
        broker.start()
        for service in services:
            zygotes[service] = Zygote(service, directory / f"{service}-zygote.log")
        await asyncio.gather(*(asyncio.to_thread(z.wait_ready) for z in zygotes.values()))
        for service in services:
            database = postgres.create_database(service)
            env = {
                **os.environ,
                **CHAOS_SETTINGS,
                **(extra_env or {}),
                "DATABASE_URL": database,
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            }
            for role in SERVICE_ROLES[service]:
                role_env = {
                    **env,
                    "RELAY_ENABLED": str(role == RELAY).lower(),
                    "CONSUMER_ENABLED": str(role == CONSUMER).lower(),
                    "MIGRATE_ON_START": str(role == API).lower(),
                }
                roles[(service, role)] = RoleProcess(
                    service, role, role_env, directory / f"{service}-{role}.log", zygotes[service]
                )
        platform = ChaosPlatform(postgres, broker, roles, client)
        # APIs first (each migrates its database), then relays and consumers
        apis = [process for process in roles.values() if process.role == API]
        for process in apis:
            process.start()
        await asyncio.gather(*(process.wait_ready(client) for process in apis))
        others = [process for process in roles.values() if process.role != API]
        for process in others:
            process.start()
        await asyncio.gather(*(process.wait_ready(client) for process in others))
        yield platform
    finally:
        for process in roles.values():  # nothing to keep: no need for a clean stop
            process.kill()
        for zygote in zygotes.values():
            zygote.stop()
        await client.aclose()
        broker.stop()
        await asyncio.to_thread(postgres.destroy)


@dataclass(frozen=True)
class TopicRecord:
    """What :class:`TopicLog` keeps of one record."""

    topic: str
    partition: int
    offset: int
    key: str
    event_type: str
    event_id: str


class TopicLog:
    """Every record of some topics, read from the beginning by a raw consumer (no group)."""

    def __init__(self, bootstrap_servers: str, topics: Iterable[str]) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = sorted(set(topics))
        self.records: list[TopicRecord] = []
        self._by_key: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def __aenter__(self) -> TopicLog:
        from shared.kafka import ensure_topics
        from shared.settings import ServiceSettings

        # created up front, so the consumer's first metadata already lists their partitions
        settings = ServiceSettings(
            service_name="topic-log", kafka_bootstrap_servers=self.bootstrap_servers
        )
        await ensure_topics(settings, self.topics)
        self._task = asyncio.create_task(self._run(), name="topic-log")
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=2_000,
        )
        await consumer.start()
        try:
            assigned: set[TopicPartition] = set()
            while not self._stop.is_set():
                wanted = {
                    TopicPartition(topic, partition)
                    for topic in self.topics
                    for partition in consumer.partitions_for_topic(topic) or ()
                }
                if wanted - assigned:
                    positions = {tp: await consumer.position(tp) for tp in assigned}
                    consumer.assign(sorted(wanted, key=lambda tp: (tp.topic, tp.partition)))
                    for tp in wanted - assigned:
                        consumer.seek(tp, 0)
                    for tp, position in positions.items():
                        consumer.seek(tp, position)
                    assigned = wanted
                for topic in set(self.topics) - {tp.topic for tp in assigned}:
                    # assign() narrows the metadata to the assigned topics: ask for this one
                    await consumer._client.add_topic(topic)
                if not assigned:
                    await asyncio.sleep(0.5)
                    continue
                batches = await consumer.getmany(timeout_ms=300)
                for tp, batch in batches.items():
                    for record in batch:
                        headers = {name: value.decode() for name, value in record.headers or ()}
                        kept = TopicRecord(
                            topic=tp.topic,
                            partition=tp.partition,
                            offset=record.offset,
                            key=(record.key or b"").decode(),
                            event_type=headers.get("ce_type", ""),
                            event_id=headers.get("ce_id", ""),
                        )
                        self.records.append(kept)
                        self._by_key[(kept.topic, kept.event_type, kept.key)].append(kept.event_id)
        finally:
            await consumer.stop()

    def event_ids(self, topic: str, event_type: str, key: str) -> list[str]:
        """The event id of every record of ``event_type`` keyed ``key`` on ``topic``, in
        offset order (an id twice: the relay sent it again)."""
        return list(self._by_key.get((topic, event_type, key), ()))


async def community_with_household(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    prefix: str,
    *,
    address: str,
    registered_on: str,
) -> str:
    """Through the registry's API: a city, district, street and community named after
    ``prefix`` (the community is ``<prefix>m``) and one household in it; the household's id."""
    for area_id, level, parent in [
        (prefix, "city", None),
        (f"{prefix}d", "district", prefix),
        (f"{prefix}s", "street", f"{prefix}d"),
        (f"{prefix}m", "community", f"{prefix}s"),
    ]:
        body = {
            "id": area_id,
            "level": level,
            "name": area_id,
            "parent_id": parent,
            "valid_from": "2005-01-01",
        }
        answer = await client.post("/areas", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
    household = await client.post(
        "/households",
        json={"community_id": f"{prefix}m", "address": address, "registered_on": registered_on},
        headers=headers,
    )
    assert household.status_code == 201, household.text
    household_id: str = household.json()["id"]
    return household_id
