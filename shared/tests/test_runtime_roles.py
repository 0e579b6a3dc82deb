"""The role switches of a service process: RELAY_ENABLED, CONSUMER_ENABLED and JOBS_ENABLED.

deploy/k8s runs the API, the outbox relay (with the periodic jobs) and the consumer of a service
as separate Deployments of one image; these settings decide which background tasks a process
starts. Unit tests: a SQLite file, no broker (the relay and consumer are never started here).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings


def settings(tmp_path: Path, **roles: bool) -> ServiceSettings:
    return ServiceSettings(
        service_name="tally",
        environment="development",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'tally.db'}",
        migrate_on_start=False,
        relay_enabled=False,
        consumer_enabled=False,
        _env_file=None,  # type: ignore[call-arg]
        **roles,
    )


async def started_tasks(runtime: ServiceRuntime) -> set[str]:
    """The names of the background tasks ``start`` created (then stops them)."""
    await runtime.start()
    try:
        return {task.get_name() for task in runtime._tasks}
    finally:
        await asyncio.wait_for(runtime.stop(), timeout=15)


async def nothing() -> None:
    return None


async def wait_for_stop(stop: asyncio.Event) -> None:
    await stop.wait()


@pytest.mark.parametrize(
    ("jobs_enabled", "expected"),
    [
        (True, {"sweep", "idempotency-purge", "gauges", "audit-reads"}),
        (False, {"gauges", "audit-reads"}),
    ],
)
async def test_jobs_enabled_switches_the_periodic_jobs_only(
    tmp_path: Path, jobs_enabled: bool, expected: set[str]
) -> None:
    runtime = ServiceRuntime.build(settings(tmp_path, jobs_enabled=jobs_enabled))
    runtime.every("sweep", 3600, nothing)
    # a long-running task of the process (e.g. metrics' in-process gauges, the writer of
    # the audit rows of reads) is not a job
    runtime.add_task("gauges", wait_for_stop)
    assert await started_tasks(runtime) == expected


def test_jobs_are_enabled_by_default(tmp_path: Path) -> None:
    assert settings(tmp_path).jobs_enabled is True
