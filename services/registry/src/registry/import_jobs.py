"""Imports as jobs: the file is received whole first, then imported in the background, so
the import goes on when the client disconnects; ``GET /imports/{id}`` tells its progress and,
once done, its report.

A job is a row (:class:`~registry.adapters.import_jobs.ImportJobRow`) updated after every
batch the importer commits. It runs in the service process: a job still ``running`` when the
service stops is marked ``interrupted`` at the next start; running its file again is safe
(imports are idempotent). A job belongs to the area of the token that started it: outside
that area it does not exist (404).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry import importer
from registry.adapters.import_jobs import ImportJobRow
from registry.adapters.paths import path_ids
from registry.area_service import scope_path
from registry.domain.hierarchy import Hierarchy
from registry.pii import PiiProtector
from shared.auth import Principal, ensure_area
from shared.db import transaction
from shared.errors import NotFound
from shared.unit_of_work import EventTranslator

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
_RUNNING: set[asyncio.Task[None]] = set()
"""The jobs running in this process (a reference keeps each task alive)."""


async def start_job(
    sessions: async_sessionmaker[AsyncSession],
    *,
    translate: EventTranslator,
    pii: PiiProtector,
    hierarchy: Hierarchy,
    source: IO[bytes],
    fmt: importer.Format,
    record_type: importer.RecordType | None,
    principal: Principal,
) -> ImportJobRow:
    """Record a job for the file in ``source`` (rewound, then owned and closed by the job)
    and start importing it in the background."""
    async with transaction(sessions) as session:
        area_path = await scope_path(session, principal=principal, within=None) or "/"
        job = ImportJobRow(
            id=str(uuid.uuid4()),
            status="running",
            format=fmt,
            record_type=record_type,
            subject=principal.subject,
            area=principal.area,
            area_path=area_path,
            accepted=0,
            updated=0,
            unchanged=0,
            rejected=0,
            rejected_rows="[]",
            error=None,
            created_at=datetime.now(UTC),
            finished_at=None,
        )
        session.add(job)
    task = asyncio.create_task(
        _run(
            sessions,
            job.id,
            translate=translate,
            pii=pii,
            hierarchy=hierarchy,
            source=source,
            fmt=fmt,
            record_type=record_type,
            principal=principal,
        ),
        name=f"import-{job.id}",
    )
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return job


async def get_job(
    session: AsyncSession, *, job_id: str, principal: Principal | None
) -> ImportJobRow:
    """A job; :class:`NotFound` if there is none or it belongs outside the caller's area."""
    job = await session.get(ImportJobRow, job_id)
    if job is None:
        raise NotFound(f"no import {job_id}")
    if principal is not None:
        ensure_area(principal, path_ids(job.area_path))
    return job


async def mark_interrupted(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Mark the jobs left ``running`` by a stopped process ``interrupted``; how many."""
    async with transaction(sessions) as session:
        result = await session.execute(
            update(ImportJobRow)
            .where(ImportJobRow.status == "running")
            .values(
                status="interrupted",
                error="the service stopped; run the file again (imports are idempotent)",
                finished_at=datetime.now(UTC),
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)


async def _chunks(source: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(source.read, CHUNK_BYTES):
        yield chunk


async def _run(
    sessions: async_sessionmaker[AsyncSession],
    job_id: str,
    *,
    translate: EventTranslator,
    pii: PiiProtector,
    hierarchy: Hierarchy,
    source: IO[bytes],
    fmt: importer.Format,
    record_type: importer.RecordType | None,
    principal: Principal,
) -> None:
    async def progress(report: importer.ImportReport) -> None:
        await _save(sessions, job_id, report, status="running")

    try:
        source.seek(0)
        report = await importer.import_rows(
            sessions,
            translate=translate,
            pii=pii,
            lines=importer.text_lines(_chunks(source)),
            fmt=fmt,
            record_type=record_type,
            principal=principal,
            hierarchy=hierarchy,
            on_batch=progress,
        )
        await _save(sessions, job_id, report, status="done")
    except Exception as exc:  # the job records why; the service goes on
        log.exception("import job failed", extra={"import_id": job_id})
        async with transaction(sessions) as session:
            await session.execute(
                update(ImportJobRow)
                .where(ImportJobRow.id == job_id)
                .values(status="failed", error=type(exc).__name__, finished_at=datetime.now(UTC))
            )
    finally:
        source.close()


async def _save(
    sessions: async_sessionmaker[AsyncSession],
    job_id: str,
    report: importer.ImportReport,
    *,
    status: str,
) -> None:
    async with transaction(sessions) as session:
        await session.execute(
            update(ImportJobRow)
            .where(ImportJobRow.id == job_id)
            .values(
                status=status,
                accepted=report.accepted,
                updated=report.updated,
                unchanged=report.unchanged,
                rejected=report.rejected,
                rejected_rows=json.dumps([asdict(row) for row in report.rejected_rows]),
                finished_at=datetime.now(UTC) if status == "done" else None,
            )
        )
