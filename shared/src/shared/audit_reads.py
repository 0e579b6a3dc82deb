"""Audit rows of reads, written in batches behind the requests that made them.

A read of personal data leaves one audit row per person shown (:mod:`shared.audit`). Written
by the request itself, that is one more transaction on every read: on the registry's resident
list it tripled the CPU a request costs (``bench/api_reads.py``). So a read hands its rows to
the service's :class:`ReadRecorder`, which writes what has gathered every
:data:`FLUSH_INTERVAL_S` in one ``COPY`` (one multi-row
INSERT on SQLite), in a transaction of its own.

What it costs in guarantees, said in ``docs/operations.md`` (Audit log):

- a row is in the table within about :data:`FLUSH_INTERVAL_S` of the read; ``GET /audit``
  writes what its process holds first, so a read is seen at once on the replica that served it;
- a process killed with SIGKILL loses the rows of its last :data:`FLUSH_INTERVAL_S`; a graceful
  stop writes them all (the runtime's shut-down waits for the final flush);
- while the database is away, rows wait (at most :data:`MAX_PENDING_ROWS`, the oldest dropped
  beyond that with an error in the log) and are written once it is back.

Changes never go through here: their rows commit in the change's own transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.asyncutil import sleep_unless
from shared.db import insert_records
from shared.tables import AuditRecord

AUDIT_COLUMNS = (
    "at",
    "actor",
    "action",
    "resource_type",
    "resource_id",
    "area_path",
    "correlation_id",
)
"""The columns of an audit row as ``shared.audit.entry_rows`` gives it, in its order (``id``
is the database's)."""
FLUSH_INTERVAL_S = 0.1
"""How long a read's rows may wait before they are written."""
MAX_PENDING_ROWS = 200_000
"""Rows held while the database cannot take them; beyond, the oldest are dropped (logged)."""
RETRY_AFTER_S = 1.0
"""Pause after a failed write before the next try."""

log = logging.getLogger(__name__)


class ReadRecorder:
    """Gathers the audit rows of reads and writes them in batches (see the module)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._pending: list[tuple[object, ...]] = []
        self._writing = asyncio.Lock()

    @property
    def pending(self) -> int:
        """Rows not yet written."""
        return len(self._pending)

    def add(self, rows: Sequence[tuple[object, ...]]) -> None:
        """Hold ``rows`` (:func:`shared.audit.entry_rows`) for the next write."""
        self._pending.extend(rows)
        if len(self._pending) > MAX_PENDING_ROWS:
            dropped = len(self._pending) - MAX_PENDING_ROWS
            del self._pending[:dropped]
            log.error("audit: %d read rows dropped, the database took none for too long", dropped)

    async def flush(self) -> int:
        """Write every row held now, in one transaction; how many. On failure they are held
        again, ahead of newer ones, and the error is raised."""
        async with self._writing:
            rows, self._pending = self._pending, []
            if not rows:
                return 0
            try:
                async with self._sessions() as session, session.begin():
                    await insert_records(session, AuditRecord.__table__, AUDIT_COLUMNS, rows)  # type: ignore[arg-type]
            except BaseException:
                self._pending[:0] = rows
                raise
            return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Write the rows gathered every :data:`FLUSH_INTERVAL_S` until ``stop``, then the
        last ones (a background task of :class:`shared.runtime.ServiceRuntime`)."""
        while not stop.is_set():
            await sleep_unless(stop, FLUSH_INTERVAL_S)
            try:
                await self.flush()
            except Exception as exc:  # the database is away: the rows wait for the next try
                log.warning(
                    "audit: %d read rows wait, the write failed: %s",
                    self.pending,
                    type(exc).__name__,
                )
                await sleep_unless(stop, RETRY_AFTER_S)
        try:
            await self.flush()
        except Exception as exc:
            log.error("audit: %d read rows lost at shut-down: %s", self.pending, type(exc).__name__)
