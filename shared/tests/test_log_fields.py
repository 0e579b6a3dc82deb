"""The HTTP access line's short way (:func:`shared.observability.log_fields`): written
without a ``LogRecord`` when only the service's JSON handler would see it, and then the same
line ``logger.log`` writes; through ``logger.log`` whenever anything else would see it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from shared.context import causation_id_var, correlation_id_var, request_id_var
from shared.observability import _sole_json_handler, configure_logging, log_fields
from shared.settings import ServiceSettings

log = logging.getLogger("shequ.test.log_fields")
FIELDS = {"method": "GET", "route": "/residents/{resident_id}", "status": 200, "duration_ms": 1.5}


@contextmanager
def only_the_service_handler() -> Iterator[None]:
    """The root logger as in a running service: the JSON handler alone (pytest's capture
    handlers, which it adds for each phase of a test, set aside meanwhile)."""
    configure_logging(ServiceSettings(service_name="tally", log_json=True))
    root = logging.getLogger()
    kept = list(root.handlers)
    root.handlers = [handler for handler in kept if type(handler).__name__ == "_StderrHandler"]
    tokens = (request_id_var.set("r-1"), correlation_id_var.set("c-1"), causation_id_var.set("r-1"))
    try:
        yield
    finally:
        request_id_var.reset(tokens[0])
        correlation_id_var.reset(tokens[1])
        causation_id_var.reset(tokens[2])
        root.handlers = kept


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_the_short_way_writes_the_line_logger_log_writes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with only_the_service_handler():
        assert _sole_json_handler(log, logging.INFO) is not None  # the short way is taken
        capsys.readouterr()
        log.log(logging.INFO, "GET /residents/{resident_id} 200", extra=dict(FIELDS))
        log_fields(log, logging.INFO, "GET /residents/{resident_id} 200", dict(FIELDS))
    through_logging, short = lines(capsys.readouterr().err)
    assert list(short) == list(through_logging)  # same keys, same order
    assert {**short, "timestamp": None} == {**through_logging, "timestamp": None}
    assert short["request_id"] == "r-1"
    assert short["service"] == "tally"
    assert str(short["timestamp"]).endswith("Z")


def test_a_level_below_the_loggers_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with only_the_service_handler():
        capsys.readouterr()
        log_fields(log, logging.DEBUG, "GET /healthz 200", dict(FIELDS))
    assert capsys.readouterr().err == ""


def test_with_another_handler_it_goes_through_logging(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging(ServiceSettings(service_name="tally", log_json=True))
    with caplog.at_level(logging.INFO, logger=log.name):
        assert _sole_json_handler(log, logging.INFO) is None
        log_fields(log, logging.INFO, "GET /areas 200", dict(FIELDS))
    [record] = [record for record in caplog.records if record.name == log.name]
    assert record.getMessage() == "GET /areas 200"
    assert record.__dict__["route"] == "/residents/{resident_id}"
