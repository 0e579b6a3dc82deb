"""Request-scoped identifiers carried from HTTP requests and consumed events into new events.

The HTTP middleware and the consumer runtime set these; :func:`shared.contracts.new_event`
reads them so that an event written while handling a request or another event carries the
right ``correlationid`` and ``causationid``; the JSON log formatter adds them to every line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id_var: ContextVar[str | None] = ContextVar("causation_id", default=None)


@contextmanager
def bound(
    *, correlation_id: str | None, causation_id: str | None, request_id: str | None = None
) -> Iterator[None]:
    """Bind the identifiers for the duration of a request or of handling one event."""
    tokens = (
        request_id_var.set(request_id),
        correlation_id_var.set(correlation_id),
        causation_id_var.set(causation_id),
    )
    try:
        yield
    finally:
        request_id_var.reset(tokens[0])
        correlation_id_var.reset(tokens[1])
        causation_id_var.reset(tokens[2])
