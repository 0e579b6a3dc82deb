"""Structured logging with the request and event identifiers on every line.

:func:`configure_logging` installs one handler on the root logger. With ``settings.log_json``
it writes one JSON object per line to stderr (python-json-logger) with ``timestamp``,
``level``, ``logger``, ``message``, ``service``, ``request_id``, ``correlation_id``,
``causation_id`` and every ``extra=`` field (the platform logs ``event_id``, ``event_type``,
``topic`` and ``key`` this way); otherwise a readable one-line format. The identifiers come
from :mod:`shared.context`, which the HTTP middleware and the consumer runtime bind.

Metrics live in :mod:`shared.metrics`; the HTTP request metrics are recorded by
:mod:`shared.http`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from shared.context import causation_id_var, correlation_id_var, request_id_var
from shared.settings import ServiceSettings

__all__ = ["CONTEXT_FIELDS", "ContextFilter", "configure_logging", "log_fields"]

#: Attributes :class:`ContextFilter` adds to every record.
CONTEXT_FIELDS = ("service", "request_id", "correlation_id", "causation_id")

#: Loggers whose level is raised because they are chatty at INFO.
_QUIET_LOGGERS = {
    "aiokafka": logging.WARNING,
    "httpx": logging.WARNING,  # one INFO line per outgoing request, with its full URL
    "httpcore": logging.WARNING,
}

#: Attributes every ``LogRecord`` has; anything else on a record came from ``extra=``.
_STANDARD_RECORD = logging.LogRecord("", logging.INFO, "", 0, "", None, None)
#: uvicorn's ANSI-coloured copy of its message, dropped from our output.
_DROPPED_ATTRS = frozenset({"color_message"})
_RECORD_ATTRS = frozenset(_STANDARD_RECORD.__dict__) | {"message", "asctime", "taskName"}
_RECORD_ATTRS |= frozenset(CONTEXT_FIELDS) | _DROPPED_ATTRS


class ContextFilter(logging.Filter):
    """Adds ``service`` and the identifiers bound in :mod:`shared.context` to each record.

    A value passed explicitly with ``extra=`` wins over the bound one.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops it."""
        fields = record.__dict__
        if "service" not in fields:
            fields["service"] = self.service
        if "request_id" not in fields:
            fields["request_id"] = request_id_var.get()
        if "correlation_id" not in fields:
            fields["correlation_id"] = correlation_id_var.get()
        if "causation_id" not in fields:
            fields["causation_id"] = causation_id_var.get()
        return True


class _JsonLineFormatter(JsonFormatter):
    """JSON formatter with an ISO-8601 UTC ``timestamp`` as the first key. It serialises with
    one encoder made once (what ``json.dumps(cls=…)`` would build for every line)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        encoder = self.json_encoder or json.JSONEncoder
        self._encode = encoder(
            ensure_ascii=self.json_ensure_ascii, default=self.json_default
        ).encode

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        """The JSON of one line, as ``JsonFormatter`` writes it."""
        encoded: str = self._encode(log_data)
        return encoded

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        log_data["timestamp"] = _iso_utc(record.created)
        super().add_fields(log_data, record, message_dict)


class _TextFormatter(logging.Formatter):
    """Readable one-line format for development; ``extra=`` fields are appended as k=v."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)-7s %(name)s [%(service)s rid=%(request_id)s "
            "cid=%(correlation_id)s] %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}
        if not extras:
            return line
        head, sep, tail = line.partition("\n")
        pairs = " ".join(f"{key}={value}" for key, value in extras.items())
        return f"{head} {pairs}{sep}{tail}"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at emit time (so test capture works)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def write_fields(self, level: int, name: str, message: str, fields: dict[str, Any]) -> None:
        """Write the JSON line a record of logger ``name`` with ``extra=fields`` would give
        (this handler's formatter is a :class:`_JsonLineFormatter` and its one filter a
        :class:`ContextFilter`: :func:`_sole_json_handler` checked)."""
        formatter = self.formatter
        context = self.filters[0]
        assert isinstance(formatter, _JsonLineFormatter)
        assert isinstance(context, ContextFilter)
        line = {
            "timestamp": _iso_utc(time.time()),
            "level": logging.getLevelName(level),
            "logger": name,
            "message": message,
            "service": context.service,
            "request_id": request_id_var.get(),
            "correlation_id": correlation_id_var.get(),
            "causation_id": causation_id_var.get(),
        }
        line.update(fields)
        try:
            text = formatter.jsonify_log_record(line) + self.terminator
            with self.lock or contextlib.nullcontext():
                self.stream.write(text)
                self.stream.flush()
        except Exception:  # as logging does: a line that cannot be written is not an error
            if logging.raiseExceptions:
                traceback.print_exc()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def log_fields(logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> None:
    """``logger.log(level, message, extra=fields)``, for a line written very often (the HTTP
    access line). When the line can reach nothing but the JSON handler of
    :func:`configure_logging` (no other handler, no filter on the way: how a service runs),
    it is written straight away, the same line without a ``LogRecord`` and the formatter's
    generic work; otherwise (pytest's capture, plain text) it goes through ``logger.log``."""
    if not logger.isEnabledFor(level):
        return
    handler = _sole_json_handler(logger, level)
    if handler is None:
        logger.log(level, message, extra=fields)
    else:
        handler.write_fields(level, logger.name, message, fields)


def _sole_json_handler(logger: logging.Logger, level: int) -> _StderrHandler | None:
    """The JSON handler a record of ``logger`` at ``level`` reaches, when it is the only
    handler it reaches and no filter but the handler's own :class:`ContextFilter` sees it."""
    found: list[logging.Handler] = []
    node: logging.Logger | None = logger
    while node is not None:
        if node.filters:
            return None
        found.extend(node.handlers)
        if not node.propagate:
            break
        node = node.parent
    if len(found) != 1:
        return None
    handler = found[0]
    if (
        not isinstance(handler, _StderrHandler)
        or not isinstance(handler.formatter, _JsonLineFormatter)
        or level < handler.level
        or len(handler.filters) != 1
        or not isinstance(handler.filters[0], ContextFilter)
    ):
        return None
    return handler


def _iso_utc(created: float) -> str:
    moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_formatter() -> logging.Formatter:
    return _JsonLineFormatter(
        ["levelname", "name", "message", *CONTEXT_FIELDS],
        rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
        reserved_attrs=[*RESERVED_ATTRS, *_DROPPED_ATTRS],
        json_ensure_ascii=False,
    )


def configure_logging(settings: ServiceSettings) -> None:
    """Send every log record to stderr, as JSON lines when ``settings.log_json``.

    Idempotent: a second call replaces the handler the first one installed (so a changed
    setting takes effect) and leaves other handlers (pytest's, for instance) alone. Sets the
    root level to ``settings.log_level``, quiets ``aiokafka`` and ``httpx`` to WARNING, turns
    ``uvicorn.access`` off (:mod:`shared.http` logs each request itself) and routes uvicorn's
    own messages through this handler so they are JSON too.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(_json_formatter() if settings.log_json else _TextFormatter())
    handler.addFilter(ContextFilter(settings.service_name))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())

    for name, level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
