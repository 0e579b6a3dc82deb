"""Prometheus metrics the platform kit records (names documented in docs/operations.md).

Label sets are bounded: route templates (never raw paths), status codes, event types, topics,
consumer groups and partitions; never ids of residents, households or communities.
"""

from __future__ import annotations

import socket
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

EXPOSITION_POLL_S = 0.05
"""How often the exposition server's loop looks for a stop request. ``prometheus_client``'s
own ``start_http_server`` looks every 0.5 s, so stopping it held every app's shut-down that
long (half a second per test that starts an app)."""


class _QuietHandler(WSGIRequestHandler):
    """Logs no line per scrape."""

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing."""


def start_exposition(host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve the default registry's exposition on ``host``:``port`` (0: a free port) from a
    daemon thread, as ``prometheus_client.start_http_server`` does (a thread per scrape, the
    address family ``host`` asks for), and stop within :data:`EXPOSITION_POLL_S` of
    ``shutdown()``."""
    family, *_, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    server_class = type("ExpositionServer", (ThreadingWSGIServer,), {"address_family": family})
    server: WSGIServer = make_server(
        str(address[0]), port, make_wsgi_app(), server_class, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": EXPOSITION_POLL_S},
        name="metrics-exposition",
        daemon=True,
    )
    thread.start()
    return server, thread


HTTP_REQUESTS = Counter(
    "shequ_http_requests_total",
    "HTTP requests handled, by route template, method and status.",
    ["service", "route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "shequ_http_request_duration_seconds",
    "HTTP request latency, by route template, method and status.",
    ["service", "route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
OUTBOX_BACKLOG = Gauge(
    "shequ_outbox_backlog",
    "Events committed to the outbox and not yet published.",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "shequ_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox event (0 when the backlog is empty).",
    ["service"],
)
RELAY_LEADER = Gauge(
    "shequ_relay_leader",
    "1 while this process holds the service's relay lease, else 0.",
    ["service"],
)
EVENTS_PUBLISHED = Counter(
    "shequ_events_published_total",
    "Events the relay published to Kafka.",
    ["service", "topic", "event_type"],
)
PUBLISH_FAILURES = Counter(
    "shequ_publish_failures_total",
    "Outbox events whose publication failed and will be retried.",
    ["service", "topic"],
)
EVENTS_CONSUMED = Counter(
    "shequ_events_consumed_total",
    "Events a consumer handled, by outcome: applied, duplicate, ignored (type not handled).",
    ["service", "group", "topic", "event_type", "outcome"],
)
EVENTS_RETRIED = Counter(
    "shequ_events_retried_total",
    "Handler attempts that failed and were retried.",
    ["service", "group", "topic", "event_type"],
)
EVENTS_DEAD_LETTERED = Counter(
    "shequ_events_dead_lettered_total",
    "Events sent to the dead-letter topic, by reason (validation or handler).",
    ["service", "group", "topic", "reason"],
)
CONSUMER_LAG = Gauge(
    "shequ_consumer_lag",
    "Records between a consumer's position and the partition's high watermark.",
    ["service", "group", "topic", "partition"],
)
