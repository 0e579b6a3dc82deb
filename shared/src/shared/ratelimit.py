"""Per-token rate limits: writes, and failed look-ups (404s).

Two limits per token subject (``sub``), in the notation of the `limits` library
(``"300/minute"``, ``"10/second"``; an empty string turns a limit off):

- ``rate_limit_writes``: authenticated requests with an unsafe method (POST, PUT, PATCH,
  DELETE) are counted when the token is checked; over the limit they are refused 429;
- ``rate_limit_not_found``: every 404 answered to an authenticated caller is counted after
  the response; a subject that goes over the limit is refused 429 on every request until the
  window lets it in again, so ids cannot be enumerated by guessing.

A refusal is ``429 Too Many Requests`` problem+json with ``Retry-After`` (whole seconds).
Other subjects are not affected. Counting uses the library's sliding-window counter in
process memory: each replica counts on its own, so with N replicas a subject may reach N
times a limit. A read costs one dictionary look-up (is this subject blocked?); only writes
and 404s touch the counters.
"""

from __future__ import annotations

import math
import threading
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from shared import errors

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


class RateLimits:
    """The write and failed-look-up limits of one service process."""

    def __init__(self, *, writes: str, not_found: str) -> None:
        self.writes = parse_limit(writes)
        self.not_found = parse_limit(not_found)
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._blocked: dict[str, float] = {}
        """Subject → until when it is refused for too many 404s (epoch seconds)."""
        self._lock = threading.Lock()

    def check(self, subject: str, method: str) -> None:
        """Raise :class:`TooManyRequests` when ``subject`` is blocked for too many 404s or, for
        an unsafe ``method``, has used up its writes; count the write otherwise."""
        until = self._blocked.get(subject)
        if until is not None:
            wait = until - time.time()
            if wait > 0:
                raise _refusal("Too many requests for missing resources", wait)
            with self._lock:
                self._blocked.pop(subject, None)
        writes = self.writes
        if (
            writes is not None
            and method in UNSAFE_METHODS
            and not self._limiter.hit(writes, "write", subject)
        ):
            raise _refusal("Too many writes", self._wait(writes, "write", subject))

    def record_not_found(self, subject: str) -> None:
        """Count a 404 answered to ``subject``; over the limit, block it until the window
        lets it in again."""
        if self.not_found is None:
            return
        if not self._limiter.hit(self.not_found, "not-found", subject):
            wait = self._wait(self.not_found, "not-found", subject)
            with self._lock:
                self._blocked[subject] = time.time() + wait

    def _wait(self, limit: RateLimitItem, kind: str, subject: str) -> float:
        """Seconds until ``subject`` may make one more request under ``limit``."""
        stats = self._limiter.get_window_stats(limit, kind, subject)
        return max(1.0, stats.reset_time - time.time())


def _refusal(what: str, wait_s: float) -> TooManyRequests:
    seconds = max(1, math.ceil(wait_s))
    return TooManyRequests(
        f"{what} for this token; retry after {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )


__all__ = ["UNSAFE_METHODS", "RateLimits", "TooManyRequests", "parse_limit"]
