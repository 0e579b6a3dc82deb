"""The test plugin keeps its promises, checked by running pytest on small suites of its own:
every test without an I/O marker is ``unit`` and fails when it asks for PostgreSQL or a broker,
and the witness counts the events each test staged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYTEST_INI = """\
[pytest]
addopts = --import-mode=importlib -p shared.testing.plugin --strict-markers -p no:cacheprovider
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
markers =
    unit: no I/O
    integration: real broker and/or PostgreSQL
    e2e: several services
    publishes: stages events
"""


def run_pytest(tmp_path: Path, tests: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on ``tests`` (a module's source) in a project of its own, with PostgreSQL and
    the broker pointed at a closed port."""
    (tmp_path / "pytest.ini").write_text(PYTEST_INI)
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(tests))
    env = {
        **os.environ,
        "SHEQU_TEST_POSTGRES": "postgresql://postgres@127.0.0.1:1/postgres",
        "SHEQU_TEST_KAFKA": "127.0.0.1:1",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# pure, I/O-marked, guarded and publishing tests, run once with `-m unit`
SUITE = """
import json

import pytest

from shared import outbox
from shared.testing import tally
from shared.testing.witness import WITNESS


def test_pure():
    pass


@pytest.mark.integration
def test_io():
    pass


@pytest.mark.parametrize("backend", ["a", pytest.param("b", marks=pytest.mark.e2e)])
def test_mixed(backend):
    pass


def test_requests_a_database(fresh_postgres_url):
    pass


def test_requests_the_broker(kafka_bootstrap):
    pass


def test_creates_a_database():
    from shared.testing.postgres import create_database

    create_database()


def test_starts_a_broker():
    from shared.testing.broker import TansuBroker

    TansuBroker().start()


def test_fetches_a_database_late(request):
    request.getfixturevalue("postgres_url")


class Session:
    def add(self, row):
        pass


def stage(count):
    for seq in range(count):
        event = tally.TALLY.new_event(tally.TallyRecorded(key="k", seq=seq), aggregate_id="k")
        outbox.add(Session(), event, contracts=tally.TALLY)


@pytest.fixture
def staged_in_setup():
    stage(1)


@pytest.mark.publishes
def test_stages_three(staged_in_setup):
    stage(2)


@pytest.mark.publishes
def test_stages_nothing():
    pass


@pytest.mark.publishes
def test_fails_after_staging():
    stage(1)
    raise AssertionError("on purpose")


def test_zz_report(request):
    publishing = [
        item.nodeid for item in request.session.items if item.get_closest_marker("publishes")
    ]
    with open("witness.json", "w") as out:
        json.dump(
            {
                "counts": WITNESS.events_by_test,
                "passed": sorted(WITNESS.passed_tests),
                "failure": WITNESS.verdict(publishing).failure,
            },
            out,
        )
"""


@pytest.fixture(scope="module")
def unit_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The output of ``pytest -m unit`` on :data:`SUITE`, and its directory."""
    directory = tmp_path_factory.mktemp("suite")
    done = run_pytest(directory, SUITE, "-m", "unit")
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout, directory


def test_unmarked_tests_are_unit_and_io_tests_are_not(unit_run: tuple[str, Path]) -> None:
    output, _ = unit_run
    assert "PASSED test_suite.py::test_pure" in output
    assert "PASSED test_suite.py::test_mixed[a]" in output
    assert "4 failed, 5 passed, 2 deselected, 2 errors" in output, output


def test_a_unit_test_asking_for_postgresql_or_a_broker_fails_saying_why(
    unit_run: tuple[str, Path],
) -> None:
    output, _ = unit_run
    for test, needs in [
        ("test_requests_a_database", "the fixture(s) fresh_postgres_url"),
        ("test_requests_the_broker", "the fixture(s) kafka_bootstrap"),
        ("test_creates_a_database", "PostgreSQL"),
        ("test_starts_a_broker", "a Kafka broker"),
        ("test_fetches_a_database_late", "PostgreSQL"),
    ]:
        assert (
            f"test_suite.py::{test} is a unit test (not marked integration or e2e) "
            f"but needs {needs}"
        ) in output, output


def test_the_witness_counts_the_events_each_test_staged_and_which_passed(
    unit_run: tuple[str, Path],
) -> None:
    _, directory = unit_run
    seen = json.loads((directory / "witness.json").read_text())
    assert seen["counts"] == {
        "test_suite.py::test_stages_three": 3,
        "test_suite.py::test_fails_after_staging": 1,
    }
    assert {"test_suite.py::test_stages_nothing", "test_suite.py::test_stages_three"} <= set(
        seen["passed"]
    )
    assert "test_suite.py::test_fails_after_staging" not in seen["passed"]
    assert "1 of the 2 passed tests marked `publishes`" in seen["failure"]
    assert "test_suite.py::test_stages_nothing" in seen["failure"]


def test_a_test_marked_both_unit_and_integration_is_refused(tmp_path: Path) -> None:
    done = run_pytest(
        tmp_path,
        """
        import pytest

        @pytest.mark.unit
        @pytest.mark.integration
        def test_confused():
            pass
        """,
    )
    assert done.returncode != 0
    assert "test_suite.py::test_confused is marked both unit and integration" in (
        done.stdout + done.stderr
    )


def test_free_port_never_hands_out_a_port_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel may offer a released port again (it did, in a chaos run); two roles of a
    test platform given the same one would make one of them fail to start."""
    from shared.testing import broker

    offered = iter([40_001, 40_001, 40_002])

    class _Socket:
        def __enter__(self) -> _Socket:
            self.port = next(offered)
            return self

        def __exit__(self, *_exc: object) -> None:
            return None

        def bind(self, _address: object) -> None:
            return None

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr("shared.testing.broker.socket.socket", _Socket)
    monkeypatch.setattr(broker, "_HANDED_OUT", set())
    assert [broker.free_port(), broker.free_port()] == [40_001, 40_002]


def test_a_burst_is_kept_off_a_rate_limit_windows_edge() -> None:
    from shared.testing.windows import seconds_until_room

    minute = 6_000.0  # a window's start: windows begin at whole periods since the epoch
    assert seconds_until_room(60.0, 15.0, now=minute + 30.0) == 0.0  # half a minute left
    assert seconds_until_room(60.0, 15.0, now=minute + 50.0) == pytest.approx(10.05)
