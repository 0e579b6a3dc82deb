"""No national id number in any event payload, log line or metric the test run produced, and
no name, id number or address the tests wrote through any service's API.

Personal values are learnt as they are written: every field of a request model marked
:class:`shared.inputs.PersonalData` (the registry's names, id numbers, addresses; the import
rows' too; no service takes a phone number) shows each accepted value to the witness, which
then looks for it, as written and as JSON escapes it, in every event any of the five services
staged and every log line of the run.

Runs last (``scan_last``): by then the registry tests have registered residents with valid
id numbers, sent invalid ones, looked them up and moved them. The scans skip, saying why, in a
run where no test marked ``publishes`` passed (``make test-unit``), and fail when such tests
passed but the witness saw no event from them: a scan of nothing must not pass.
"""

from __future__ import annotations

from typing import Annotated

import pytest
from prometheus_client import REGISTRY, generate_latest
from pydantic import BaseModel

from shared.inputs import PERSONAL_DATA_OBSERVERS, PersonalData, Text
from shared.testing.witness import NATIONAL_ID, WITNESS, Verdict, Witness

pytestmark = pytest.mark.scan_last


def test_the_scanner_recognises_an_id_number() -> None:
    assert NATIONAL_ID.search('{"national_id": "11010519491231002X"}')
    assert NATIONAL_ID.search("id 110105194912310021 here")
    assert not NATIONAL_ID.search("110105************")  # masked (the address code only)
    assert not NATIONAL_ID.search("110105********002X")  # the mask before DR-6
    assert not NATIONAL_ID.search("1795335528.1234")  # a timestamp
    assert not NATIONAL_ID.search("0.004632727000171144")  # a metric value


def test_the_witness_reports_a_leak() -> None:
    assert WITNESS.leaks(['{"data": {"id": "110105194912310021"}}', "clean"]) == [
        '{"data": {"id": "110105194912310021"}}'
    ]


def publishing_tests(request: pytest.FixtureRequest) -> list[str]:
    """Node ids of the run's tests marked ``publishes`` (a test in a ``publishes`` module that
    stages nothing says so with ``@pytest.mark.publishes(False)``)."""
    found = []
    for item in request.session.items:
        marker = item.get_closest_marker("publishes")
        if marker is not None and marker.args != (False,):
            found.append(item.nodeid)
    return found


def require_something_to_scan(request: pytest.FixtureRequest) -> None:
    """Skip in a run that staged no events; fail if publishing tests passed unseen."""
    verdict = WITNESS.verdict(publishing_tests(request))
    if verdict.skip:
        pytest.skip(verdict.skip)
    if verdict.failure:
        pytest.fail(verdict.failure)


def test_a_run_without_publishing_tests_is_skipped_not_passed() -> None:
    witness = Witness(passed_tests={"t.py::test_rule"}, events_by_test={})
    verdict = witness.verdict(["t.py::test_api"])  # marked, but deselected or failed
    assert verdict.failure is None
    assert verdict.skip is not None
    assert "make test-unit" in verdict.skip


def test_publishing_tests_that_staged_nothing_fail_the_scan_by_name() -> None:
    witness = Witness(
        log_lines=["{}"],
        passed_tests={"t.py::test_seen", "t.py::test_unseen"},
        events_by_test={"t.py::test_seen": 3},
    )
    verdict = witness.verdict(["t.py::test_seen", "t.py::test_unseen"])
    assert verdict.skip is None
    assert verdict.failure is not None
    assert "t.py::test_unseen" in verdict.failure
    assert "t.py::test_seen," not in verdict.failure


def test_publishing_tests_that_staged_events_give_the_scan_something_to_look_at() -> None:
    witness = Witness(
        events=["{}"], log_lines=["{}"], passed_tests={"t.py::a"}, events_by_test={"t.py::a": 1}
    )
    assert witness.verdict(["t.py::a", "t.py::failed"]) == Verdict()


def test_a_run_that_recorded_no_log_line_fails_the_scan() -> None:
    witness = Witness(passed_tests={"t.py::a"}, events_by_test={"t.py::a": 1})
    assert witness.verdict(["t.py::a"]).failure


def test_the_run_produced_events_and_logs_to_scan(request: pytest.FixtureRequest) -> None:
    require_something_to_scan(request)
    passed = set(publishing_tests(request)) & WITNESS.passed_tests
    if any("test_people" in test for test in passed):  # residents were registered: scan them
        assert any(".resident.registered." in event for event in WITNESS.events)


def test_no_event_payload_contains_an_id_number(request: pytest.FixtureRequest) -> None:
    require_something_to_scan(request)
    assert WITNESS.leaks(WITNESS.events) == []


def test_no_log_line_contains_an_id_number(request: pytest.FixtureRequest) -> None:
    require_something_to_scan(request)
    assert WITNESS.leaks(WITNESS.log_lines) == []


def test_no_metric_contains_an_id_number(request: pytest.FixtureRequest) -> None:
    require_something_to_scan(request)
    exposition = generate_latest(REGISTRY).decode()
    assert NATIONAL_ID.search(exposition) is None


# --- names, id numbers and addresses the tests wrote -----------------------------------------


class Person(BaseModel):
    name: Annotated[Text, PersonalData()]
    address: Annotated[Text, PersonalData()] | None = None
    code: Text = "c"


def test_the_witness_learns_the_personal_values_a_request_model_accepts() -> None:
    witness = Witness()
    PERSONAL_DATA_OBSERVERS.append(witness.learn)
    try:
        Person(name="Zhao Lei", address="5 Elm Lane", code="not personal")
        Person(name="李娜")
        Person(name="Other")  # too short to tell from ordinary words
    finally:
        PERSONAL_DATA_OBSERVERS.remove(witness.learn)
    assert witness.personal_values == {"Zhao Lei", "5 Elm Lane", "李娜"}
    texts = ['{"n": "\\u674e\\u5a1c"}', "moved: Zhao Lei", "Elm Lane", "clean", "李娜"]
    assert witness.personal_leaks(texts) == [texts[0], texts[1], texts[4]]
    assert Person.model_json_schema()["properties"]["name"]["x-personal-data"] is True


def test_the_run_wrote_personal_values_to_scan_for(request: pytest.FixtureRequest) -> None:
    require_something_to_scan(request)
    passed = set(publishing_tests(request)) & WITNESS.passed_tests
    if any("test_people" in test for test in passed):  # residents were registered
        # at least a name, an id number and an address
        assert len(WITNESS.personal_values) >= 3, WITNESS.personal_values


def test_no_event_payload_contains_a_personal_value(request: pytest.FixtureRequest) -> None:
    require_something_to_scan(request)
    assert WITNESS.personal_leaks(WITNESS.events) == []


def test_no_log_line_contains_a_personal_value(request: pytest.FixtureRequest) -> None:
    require_something_to_scan(request)
    assert WITNESS.personal_leaks(WITNESS.log_lines) == []


def test_no_metric_contains_a_personal_value(request: pytest.FixtureRequest) -> None:
    require_something_to_scan(request)
    assert WITNESS.personal_leaks([generate_latest(REGISTRY).decode()]) == []
