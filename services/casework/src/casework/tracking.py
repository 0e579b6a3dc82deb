"""Tracking a case without a staff login: case number plus verification code.

Attempts are counted per client address and per case number (whether or not the number
exists) in the casework database, so every replica shares the limit and a restart keeps it.
Each attempt is counted atomically before its work and given back when the code is right or
the attempt is refused, so the counts are the wrong pairs (plus attempts in flight: parallel
guesses cannot slip past the limit together); past the limit the answer is 429. A missing
number and a wrong code get the same answer after the same work (one count, one PBKDF2
digest), so the answer never reveals whether a case number exists.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casework.adapters import attempts, reference
from casework.adapters import cases as store
from casework.case_service import code_digest, code_matches
from casework.views import CHINA, ClockView, clock_view
from shared.contracts.casework import CaseState
from shared.db import transaction
from shared.errors import NotFound, Problem

_DECOY_SALT = secrets.token_bytes(16)
_DECOY_DIGEST = code_digest("decoy", _DECOY_SALT)


class TooManyAttempts(Problem):
    """Too many wrong case number / code pairs (429)."""

    status, title, code = 429, "Too many attempts", "too-many-attempts"


class NoSuchCase(NotFound):
    """No case with this number and code (the same for a missing number and a wrong code)."""


class AttemptLimiter:
    """Attempts per subject in a window (from the subject's first counted attempt), kept in the
    database: every replica sharing it shares the limit, and a restart keeps the counts."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        max_failures: int,
        window_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_s)
        self.clock = clock

    async def count(self, *subjects: str) -> list[attempts.Counted]:
        """Count an attempt for every subject (committed at once); raise TooManyAttempts, the
        attempt given back, when any subject is past the limit."""
        now = self.clock()
        async with transaction(self.sessions) as session:
            counted = await attempts.count(session, list(subjects), now=now, window=self.window)
        waits = [
            (one.window_start + self.window - now).total_seconds()
            for one in counted
            if one.attempts > self.max_failures
        ]
        if waits:
            await self.give_back(counted)
            raise TooManyAttempts(
                "too many wrong attempts; try again later",
                headers={"Retry-After": str(max(1, math.ceil(max(waits))))},
            )
        return counted

    async def give_back(self, counted: list[attempts.Counted]) -> None:
        """Take back attempts that were not wrong pairs."""
        async with transaction(self.sessions) as session:
            await attempts.give_back(session, counted)

    async def purge(self) -> int:
        """Delete the windows that are over (a periodic job); the number deleted."""
        async with transaction(self.sessions) as session:
            return await attempts.purge(session, now=self.clock(), window=self.window)


def subjects(client: str, number: str) -> tuple[str, str]:
    """The subjects an attempt counts against: its client address and its case number."""
    return (
        f"address:{client[: attempts.SUBJECT_LENGTH]}",
        f"number:{number[: attempts.SUBJECT_LENGTH]}",
    )


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
    counted = await limiter.count(*subjects(client, number))
    found = await store.by_number(session, number)
    if found is None:
        code_matches(code, _DECOY_SALT, _DECOY_DIGEST)
        raise NoSuchCase("no case with this number and code")
    case, salt, digest = found
    if not code_matches(code, salt, digest):
        raise NoSuchCase("no case with this number and code")
    calendar = await reference.calendar(session)
    tracked = TrackedCase(
        number=case.number,
        matter_code=case.matter.code,
        state=case.state,
        submitted_on=case.submitted_at.astimezone(CHINA).date(),
        missing_documents=case.missing_documents if case.state == "returned" else (),
        clock=clock_view(case, calendar, today),
        closed_on=case.closed_on,
    )
    # End the read before the limiter's own transaction: on SQLite every transaction holds the
    # write lock (BEGIN IMMEDIATE), so a read left open would block the give-back.
    await session.commit()
    await limiter.give_back(counted)
    return tracked
