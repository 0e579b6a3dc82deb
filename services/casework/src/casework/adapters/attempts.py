"""Tracking attempts counted in the database, so the limit holds across replicas and restarts.

One row per subject (a client address or a case number) holds its window's start and the
attempts counted in it. Every statement is a single atomic one on SQLite and PostgreSQL: an
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` counts an attempt (starting a new window when
the old one is over), an ``UPDATE`` gives one back, a ``DELETE`` purges windows that are over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import DateTime, Integer, String, Table, case, delete, literal, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from casework.adapters.base import Base
from shared.db import as_utc, dialect_insert

SUBJECT_LENGTH = 64


class TrackingAttemptRow(Base):
    """Attempts at tracking counted for one subject within its current window."""

    __tablename__ = "tracking_attempt"

    subject: Mapped[str] = mapped_column(String(SUBJECT_LENGTH + 8), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer)


_TABLE = cast(Table, TrackingAttemptRow.__table__)


@dataclass(frozen=True)
class Counted:
    """A subject's attempts in its window after one more was counted."""

    subject: str
    window_start: datetime
    attempts: int


async def count(
    session: AsyncSession, subjects: list[str], *, now: datetime, window: timedelta
) -> list[Counted]:
    """Count one attempt for every subject, atomically; a window over by ``now`` starts again."""
    table = _TABLE
    moment = literal(now, DateTime(timezone=True))
    over = table.c.window_start <= literal(now - window, DateTime(timezone=True))
    insert = dialect_insert(session, table).values(
        [{"subject": subject, "window_start": now, "attempts": 1} for subject in sorted(subjects)]
    )
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.subject],
        set_={
            "window_start": case((over, moment), else_=table.c.window_start),
            "attempts": case((over, 1), else_=table.c.attempts + 1),
        },
    ).returning(table.c.subject, table.c.window_start, table.c.attempts)
    rows = (await session.execute(statement)).all()
    return [Counted(row.subject, as_utc(row.window_start), row.attempts) for row in rows]


async def give_back(session: AsyncSession, counted: list[Counted]) -> None:
    """Take back attempts counted by :func:`count`, each in the window it was counted in."""
    table = _TABLE
    for one in counted:
        await session.execute(
            update(table)
            .where(
                table.c.subject == one.subject,
                table.c.window_start == literal(one.window_start, DateTime(timezone=True)),
                table.c.attempts > 0,
            )
            .values(attempts=table.c.attempts - 1)
        )


async def purge(session: AsyncSession, *, now: datetime, window: timedelta) -> int:
    """Delete the windows that are over by ``now``; the number deleted."""
    table = _TABLE
    result = await session.execute(
        delete(table).where(table.c.window_start <= literal(now - window, DateTime(timezone=True)))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
