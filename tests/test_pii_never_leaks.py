"""No national id number in any event payload, log line or metric the test run produced.

Runs last (``scan_last``): by then the registry tests have registered residents with valid
id numbers, sent invalid ones, looked them up and moved them.
"""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, generate_latest

from shared.testing.witness import NATIONAL_ID, WITNESS

pytestmark = pytest.mark.scan_last


def test_the_scanner_recognises_an_id_number() -> None:
    assert NATIONAL_ID.search('{"national_id": "11010519491231002X"}')
    assert NATIONAL_ID.search("id 110105194912310021 here")
    assert not NATIONAL_ID.search("110105********002X")  # masked
    assert not NATIONAL_ID.search("1795335528.1234")  # a timestamp
    assert not NATIONAL_ID.search("0.004632727000171144")  # a metric value


def test_the_witness_reports_a_leak() -> None:
    assert WITNESS.leaks(['{"data": {"id": "110105194912310021"}}', "clean"]) == [
        '{"data": {"id": "110105194912310021"}}'
    ]


def test_the_run_produced_events_and_logs_to_scan(request: pytest.FixtureRequest) -> None:
    paths = {str(item.path) for item in request.session.items}
    if not any("services/registry" in path for path in paths):
        pytest.skip("a partial run without the registry's tests has little to scan")
    assert len(WITNESS.events) > 20
    assert len(WITNESS.log_lines) > 20
    if any("test_people" in path for path in paths):  # residents were registered: scan them
        assert any(".resident.registered." in event for event in WITNESS.events)


def test_no_event_payload_contains_an_id_number() -> None:
    assert WITNESS.leaks(WITNESS.events) == []


def test_no_log_line_contains_an_id_number() -> None:
    assert WITNESS.leaks(WITNESS.log_lines) == []


def test_no_metric_contains_an_id_number() -> None:
    exposition = generate_latest(REGISTRY).decode()
    assert NATIONAL_ID.search(exposition) is None
