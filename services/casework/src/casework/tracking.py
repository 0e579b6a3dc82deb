"""Tracking a case without a staff login: case number plus verification code.

Wrong pairs are counted per client address and per case number (whether or not the number
exists) and refused with 429 past the limit; a missing number and a wrong code get the same
answer after the same work (one PBKDF2 digest), so the answer never reveals whether a case
number exists. The counts live in the process (each replica limits on its own).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from casework.adapters import cases as store
from casework.adapters import reference
from casework.case_service import code_digest, code_matches
from casework.views import CHINA, ClockView, clock_view
from shared.contracts.casework import CaseState
from shared.errors import NotFound, Problem

_DECOY_SALT = secrets.token_bytes(16)
_DECOY_DIGEST = code_digest("decoy", _DECOY_SALT)


class TooManyAttempts(Problem):
    """Too many wrong case number / code pairs (429)."""

    status, title, code = 429, "Too many attempts", "too-many-attempts"


class NoSuchCase(NotFound):
    """No case with this number and code (the same for a missing number and a wrong code)."""


class AttemptLimiter:
    """Failures per key in a sliding window, bounded in memory (oldest keys forgotten)."""

    def __init__(self, max_failures: int, window_s: float, max_keys: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> list[float]:
        found = [t for t in self._failures.get(key, []) if now - t < self.window_s]
        if found:
            self._failures[key] = found
        else:
            self._failures.pop(key, None)
        return found

    def retry_after(self, *keys: str) -> float | None:
        """Seconds until a blocked key may try again, or None when none is blocked."""
        now = time.monotonic()
        waits = [
            self.window_s - (now - recent[0])
            for key in keys
            if len(recent := self._recent(key, now)) >= self.max_failures
        ]
        return max(waits) if waits else None

    def fail(self, *keys: str) -> None:
        """Count a failure for every key."""
        now = time.monotonic()
        for key in keys:
            self._failures.setdefault(key, []).append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)


@dataclass(frozen=True)
class TrackedCase:
    """What a resident sees of a case: its state and remaining time, nothing personal."""

    number: str
    matter_code: str
    state: CaseState
    submitted_on: date
    missing_documents: tuple[str, ...]
    clock: ClockView
    closed_on: date | None


async def track(
    session: AsyncSession,
    *,
    limiter: AttemptLimiter,
    client: str,
    number: str,
    code: str,
    today: date,
) -> TrackedCase:
    """The case with ``number`` if ``code`` is its verification code."""
    keys = (f"client:{client}", f"number:{number}")
    wait = limiter.retry_after(*keys)
    if wait is not None:
        raise TooManyAttempts(
            "too many wrong attempts; try again later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    found = await store.by_number(session, number)
    if found is None:
        code_matches(code, _DECOY_SALT, _DECOY_DIGEST)
        limiter.fail(*keys)
        raise NoSuchCase("no case with this number and code")
    case, salt, digest = found
    if not code_matches(code, salt, digest):
        limiter.fail(*keys)
        raise NoSuchCase("no case with this number and code")
    calendar = await reference.calendar(session)
    return TrackedCase(
        number=case.number,
        matter_code=case.matter.code,
        state=case.state,
        submitted_on=case.submitted_at.astimezone(CHINA).date(),
        missing_documents=case.missing_documents if case.state == "returned" else (),
        clock=clock_view(case, calendar, today),
        closed_on=case.closed_on,
    )
