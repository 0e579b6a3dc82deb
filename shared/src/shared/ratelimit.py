"""Per-token rate limits: writes, and failed look-ups (404s).

Two limits per token subject (``sub``), in the notation of the `limits` library
(``"300/minute"``, ``"10/second"``; an empty string turns a limit off):

- ``rate_limit_writes``: authenticated requests with an unsafe method (POST, PUT, PATCH,
  DELETE) are counted when the token is checked; over the limit they are refused 429;
- ``rate_limit_not_found``: every 404 answered to an authenticated caller is counted after
  the response; a subject that goes over the limit is refused 429 on every request until the
  window lets it in again, so ids cannot be enumerated by guessing.

A refusal is ``429 Too Many Requests`` problem+json with ``Retry-After`` (whole seconds).
Other subjects are not affected. Counting uses the library's sliding-window counter in the
storage ``rate_limit_storage_uri`` names, one of the library's storage URIs: ``memory://``
(the default) counts in process memory, so each replica counts on its own and with N
replicas a subject may reach N times a limit; ``redis://host:6379/0`` (or ``rediss://``,
``redis+sentinel://``, ``redis+cluster://``) shares the counters between replicas, so a
limit holds for the whole service. A 404 block is decided on the shared count but kept by
each replica in memory: a replica learns it at the subject's next 404 there (at most one
more 404 per replica). A read costs one dictionary look-up (is this subject blocked?); only
writes and 404s touch the counters. When the storage cannot be reached, requests are let
through (the limit fails open) and a warning is logged at most once a minute.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from shared import errors

logger = logging.getLogger(__name__)

STORAGE_ERROR_LOG_INTERVAL_S = 60.0
"""A storage that cannot be reached is logged at most once per this many seconds."""

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods that change state, counted by the write limit."""


class TooManyRequests(errors.Problem):
    """The caller went over a rate limit (429, with ``Retry-After``)."""

    status, title, code = 429, "Too many requests", "too-many-requests"


def parse_limit(text: str) -> RateLimitItem | None:
    """The limit ``text`` describes (``"300/minute"``), or None for an empty string.

    Raises ``ValueError`` for text the `limits` library cannot read.
    """
    if not text.strip():
        return None
    return parse(text)


def async_storage(uri: str) -> Storage:
    """The `limits` library's asynchronous storage for ``uri`` (one of its storage URIs,
    ``memory://`` or ``redis://host:port/db``; Redis through redis-py).

    Raises ``ValueError`` for a URI the library does not know.
    """
    scheme = uri.partition("://")[0]
    if not scheme or "://" not in uri:
        raise ValueError(f"not a storage URI: {uri!r} (e.g. memory:// or redis://host:6379/0)")
    name = scheme if scheme.startswith("async+") else f"async+{scheme}"
    options = {"implementation": "redispy"} if "redis" in scheme else {}
    try:
        storage = storage_from_string(name + uri[len(scheme) :], **options)
    except Exception as exc:  # the library raises its own ConfigurationError
        raise ValueError(f"unusable rate limit storage {uri!r}: {exc}") from exc
    if not isinstance(storage, Storage):  # pragma: no cover - every async+ scheme is async
        raise ValueError(f"rate limit storage {uri!r} is not asynchronous")
    return storage


class RateLimits:
    """The write and failed-look-up limits of one service process, counted in the storage
    ``storage_uri`` names (:func:`async_storage`)."""

    def __init__(self, *, writes: str, not_found: str, storage_uri: str = "memory://") -> None:
        self.writes = parse_limit(writes)
        self.not_found = parse_limit(not_found)
        self.storage_uri = storage_uri
        self._limiter = SlidingWindowCounterRateLimiter(async_storage(storage_uri))
        self._blocked: dict[str, float] = {}
        """Subject → until when it is refused for too many 404s (epoch seconds)."""
        self._storage_error_logged = 0.0

    async def check(self, subject: str, method: str) -> None:
        """Raise :class:`TooManyRequests` when ``subject`` is blocked for too many 404s or, for
        an unsafe ``method``, has used up its writes; count the write otherwise."""
        until = self._blocked.get(subject)
        if until is not None:
            wait = until - time.time()
            if wait > 0:
                raise _refusal("Too many requests for missing resources", wait)
            self._blocked.pop(subject, None)
        writes = self.writes
        if writes is None or method not in UNSAFE_METHODS:
            return
        try:
            if await self._limiter.hit(writes, "write", subject):
                return
            wait = await self._wait(writes, "write", subject)
        except Exception as exc:  # the shared storage is away: let the write through
            self._storage_away(exc)
            return
        raise _refusal("Too many writes", wait)

    async def record_not_found(self, subject: str) -> None:
        """Count a 404 answered to ``subject``; over the limit, block it until the window
        lets it in again."""
        if self.not_found is None:
            return
        try:
            if await self._limiter.hit(self.not_found, "not-found", subject):
                return
            wait = await self._wait(self.not_found, "not-found", subject)
        except Exception as exc:
            self._storage_away(exc)
            return
        self._blocked[subject] = time.time() + wait

    async def _wait(self, limit: RateLimitItem, kind: str, subject: str) -> float:
        """Seconds until ``subject`` may make one more request under ``limit``."""
        stats = await self._limiter.get_window_stats(limit, kind, subject)
        return max(1.0, stats.reset_time - time.time())

    def _storage_away(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._storage_error_logged >= STORAGE_ERROR_LOG_INTERVAL_S:
            self._storage_error_logged = now
            logger.warning(
                "rate limit storage unreachable, requests let through: %s",
                type(exc).__name__,
                extra={"storage": self.storage_uri.partition("://")[0]},
            )


def _refusal(what: str, wait_s: float) -> TooManyRequests:
    seconds = max(1, math.ceil(wait_s))
    return TooManyRequests(
        f"{what} for this token; retry after {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )


__all__ = ["UNSAFE_METHODS", "RateLimits", "TooManyRequests", "async_storage", "parse_limit"]
