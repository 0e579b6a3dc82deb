"""pytest fixtures shared by every Shequ test suite.

- ``kafka_bootstrap``: one Tansu broker for the whole run (or ``SHEQU_TEST_KAFKA`` if set);
- ``own_broker``: a private broker a test may stop and restart (outage tests);
- ``postgres_url``: a fresh PostgreSQL database per session, dropped at the end;
- ``sqlite_url``: a fresh SQLite file per test;
- every event staged in an outbox and every log line are recorded for the end-of-run scan
  for national id numbers (``scan_last`` tests run after all others), with the number of events
  each test staged and which tests passed;
- services started in tests serve their Prometheus metrics on a free port (``METRICS_PORT=0``;
  :func:`shared.testing.service.scrape_metrics` reads them);
- every test not marked ``integration`` or ``e2e`` is marked ``unit`` (``make test-unit``
  runs ``pytest -m unit``), and fails if it requests or starts PostgreSQL or a broker
  (:mod:`shared.testing.unit_guard`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest

from shared.testing.broker import TansuBroker, free_port
from shared.testing.netfault import TcpProxy


def pytest_configure(config: pytest.Config) -> None:
    """Record every event and log line of the run (see :mod:`shared.testing.witness`); serve
    the metrics of services started in tests on free ports (``METRICS_PORT=0``), so that
    several services, runs and ``make dev`` can share the machine."""
    config.addinivalue_line("markers", "scan_last: runs after every other test of the run")
    os.environ.setdefault("METRICS_PORT", "0")
    from shared.testing import witness

    witness.install()


IO_MARKERS = ("integration", "e2e")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test without an I/O marker ``unit`` (before ``-m`` selects), and move
    ``scan_last`` tests to the end, so they see what the whole run produced."""
    for item in items:
        io_markers = [name for name in IO_MARKERS if item.get_closest_marker(name)]
        if not io_markers:
            item.add_marker(pytest.mark.unit)
        elif item.get_closest_marker("unit"):
            raise pytest.UsageError(
                f"{item.nodeid} is marked both unit and {io_markers[0]}; choose one"
            )
    items.sort(key=lambda item: item.get_closest_marker("scan_last") is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Tell the witness and the unit guard which test runs (set-up and tear-down included)."""
    from shared.testing import unit_guard
    from shared.testing.witness import WITNESS

    WITNESS.current_test = item.nodeid
    unit_guard.running_unit_test = item.nodeid if item.get_closest_marker("unit") else None
    try:
        return (yield)
    finally:
        WITNESS.current_test = None
        unit_guard.running_unit_test = None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a unit test that requests a fixture needing PostgreSQL or a broker."""
    from shared.testing import unit_guard

    if not item.get_closest_marker("unit"):
        return
    requested = getattr(item, "fixturenames", ())  # test functions have them, other items not
    fixtures = sorted(unit_guard.UNIT_TEST_FIXTURES_REFUSED.intersection(requested))
    if fixtures:
        pytest.fail(
            unit_guard.refusal(item.nodeid, "the fixture(s) " + ", ".join(fixtures)),
            pytrace=False,
        )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record the tests that passed, for the witness."""
    if report.when == "call" and report.passed:
        from shared.testing.witness import WITNESS

        WITNESS.passed_tests.add(report.nodeid)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the run's shared broker."""
    if external := os.environ.get("SHEQU_TEST_KAFKA"):
        yield external
        return
    log = tmp_path_factory.mktemp("tansu") / "broker.log"
    with TansuBroker(log_path=log) as broker:
        yield broker.bootstrap_servers


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[TansuBroker]:
    """A broker of the test's own, to stop and start at will."""
    broker = TansuBroker(log_path=tmp_path / "broker.log")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
async def broker_behind_proxy(tmp_path: Path) -> AsyncIterator[tuple[TansuBroker, TcpProxy]]:
    """A private broker reached through a proxy the test can cut (a broker outage)."""
    proxy = TcpProxy(free_port(), free_port())
    broker = TansuBroker(
        proxy.target_port, tmp_path / "broker.log", advertised_port=proxy.listen_port
    )
    broker.start()
    await proxy.start()
    yield broker, proxy
    await proxy.cut()
    broker.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of an empty PostgreSQL database created for this test session."""
    from shared.testing.postgres import create_database, drop_database

    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite database file."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """URL of an empty PostgreSQL database of the test's own, dropped afterwards."""
    from shared.testing.postgres import create_database, drop_database

    url = create_database()
    yield url
    drop_database(url)
