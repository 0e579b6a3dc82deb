"""Bulk import: ``POST /imports`` streams NDJSON or CSV rows into the register.

This write does not go through the command runner (:mod:`shared.commands`), which runs one
use case in one transaction and reads the whole body first to fingerprint it for the
``Idempotency-Key``: an import streams a file that may be far larger than memory should
hold, and it is many transactions, one per batch of rows, so that a large file neither holds
locks for minutes nor loses every row to one failure. So the import use case
(:func:`registry.importer.import_rows`) owns its units of work: the route hands it the
service's sessions and event translator (from the runtime), and each batch commits in a
:func:`shared.unit_of_work.unit_of_work` with its events. It needs no ``Idempotency-Key``:
re-running a file changes nothing and emits nothing (rows are identified by their codes,
references and id numbers), so a retry is always safe.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from pydantic import BaseModel, Field

from registry import import_jobs, importer
from registry.adapters.import_jobs import ImportJobRow
from registry.api.deps import HierarchyDep, Writer
from registry.pii import PiiDep
from shared.errors import FieldError, InvalidInput
from shared.http import BULK_BODY
from shared.reads import ReadSessionDep, json_response
from shared.runtime import ServiceRuntime

SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
"""A job's file is held in memory up to this size, then in a temporary file."""

router = APIRouter(tags=["imports"])


class RejectedRowOut(BaseModel):
    """A row that was not imported."""

    line: int = Field(description="Line (NDJSON) or record (CSV, header = 1) number.")
    field: str | None = Field(description="The offending field, if one is to blame.")
    reason: str = Field(description="Why the row was rejected.")


class ImportReportOut(BaseModel):
    """What became of every row of an import."""

    rows: int = Field(description="Rows read.")
    accepted: int = Field(description="New rows stored, each with its events.")
    updated: int = Field(
        description="Rows imported before whose changes were applied, each with its events "
        "(a resident's state, a facility's kind and rooms)."
    )
    unchanged: int = Field(description="Rows already in the register as they are (re-imports).")
    rejected: int = Field(description="Rows not stored.")
    rejected_rows: list[RejectedRowOut] = Field(
        description=f"The first {importer.MAX_REPORTED_ROWS} rejected rows."
    )


class ImportJobOut(BaseModel):
    """An import running in the background: its progress, then its report."""

    id: str
    status: str = Field(
        description="`running`, `done`, `failed` or `interrupted` (the service stopped: run "
        "the file again, which is safe)."
    )
    format: importer.Format
    type: importer.RecordType | None
    rows: int = Field(description="Rows read so far.")
    accepted: int
    updated: int
    unchanged: int
    rejected: int
    rejected_rows: list[RejectedRowOut] = Field(
        description=f"The first {importer.MAX_REPORTED_ROWS} rejected rows so far."
    )
    error: str | None = Field(description="Why a job failed or was interrupted.")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: ImportJobRow) -> ImportJobOut:
        """The API view of a job."""
        counts = (job.accepted, job.updated, job.unchanged, job.rejected)
        return cls(
            id=job.id,
            status=job.status,
            format=job.format,
            type=job.record_type,
            rows=sum(counts),
            accepted=job.accepted,
            updated=job.updated,
            unchanged=job.unchanged,
            rejected=job.rejected,
            rejected_rows=[RejectedRowOut(**row) for row in json.loads(job.rejected_rows)],
            error=job.error,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


RESPOND_ASYNC = "respond-async"


def _row_fields() -> str:
    """Each row type and its fields (``*``: required), from the import's record models."""
    lines = []
    for model in importer.RECORD_MODELS:
        fields = [
            name + ("*" if info.is_required() else "")
            for name, info in model.model_fields.items()
            if name != "type"
        ]
        lines.append(f"- `{model.model_fields['type'].default}`: {', '.join(fields)}")
    return "\n".join(lines)


IMPORT_BODY = {
    **BULK_BODY,
    "requestBody": {
        "required": True,
        "description": "NDJSON (one JSON object per line, with a `type` unless the query names "
        "one) or CSV (a header line, then one record per line, of the type the query names; "
        "lists `;`-separated: `flags` `empty_nest;living_alone`, `rooms` "
        "`office:120;public_service:210.5`). UTF-8, lines up to 64 KiB. Rows by type (`*`: "
        "required):\n\n" + _row_fields(),
        "content": {
            "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


@router.post(
    "/imports",
    response_model=ImportReportOut,
    openapi_extra=IMPORT_BODY,
    responses={
        202: {
            "model": ImportJobOut,
            "description": "With `Prefer: respond-async`: the file was received and is being "
            "imported in the background; `Location` is `/imports/{id}`.",
        }
    },
)
async def run_import(
    request: Request,
    principal: Writer,
    pii: PiiDep,
    hierarchy: HierarchyDep,
    format: Annotated[importer.Format, Query(description="ndjson or csv.")] = "ndjson",
    type: Annotated[
        importer.RecordType | None,
        Query(description="Record type of every row (required for CSV)."),
    ] = None,
    prefer: Annotated[
        str | None,
        Header(
            description="`respond-async`: receive the whole file, answer 202 with a job, and "
            "import it in the background (it goes on if the client disconnects)."
        ),
    ] = None,
) -> Response:
    """Import areas, households, residents or facilities; re-running a file changes nothing,
    and a changed row is applied as an update or rejected as a conflict, never "unchanged".

    Rows outside the token's area are rejected. Each batch of rows commits with its events.
    The body may be up to `HTTP_MAX_BULK_BODY_BYTES` (default 256 MiB); past it the import
    stops with 413, keeping the batches already committed (running the file again is safe).
    With `Prefer: respond-async` the file is received whole first and imported as a job:
    202, then `GET /imports/{id}` for its progress and report.
    """
    runtime: ServiceRuntime = request.app.state.runtime
    if format == "csv" and type is None:
        raise InvalidInput(
            "a CSV import needs the record type",
            errors=[FieldError("type", "required for CSV", "missing")],
        )
    if prefer is not None and RESPOND_ASYNC in prefer.lower():
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 - the job closes it
        try:
            async for chunk in request.stream():
                await asyncio.to_thread(spool.write, chunk)
        except BaseException:
            spool.close()
            raise
        if not spool.tell():
            spool.close()
            raise _empty_body()
        job = await import_jobs.start_job(
            runtime.sessions,
            translate=runtime.translate,
            pii=pii,
            hierarchy=hierarchy,
            source=spool,
            fmt=format,
            record_type=type,
            principal=principal,
        )
        return json_response(
            ImportJobOut.of(job),
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/imports/{job.id}"},
        )
    received = _Counted(request.stream())
    report = await importer.import_rows(
        runtime.sessions,
        translate=runtime.translate,
        pii=pii,
        lines=importer.text_lines(received),
        fmt=format,
        record_type=type,
        principal=principal,
        hierarchy=hierarchy,
    )
    if not received.bytes:
        raise _empty_body()
    return json_response(
        ImportReportOut(
            rows=report.rows,
            accepted=report.accepted,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=report.rejected,
            rejected_rows=[RejectedRowOut(**vars(row)) for row in report.rejected_rows],
        )
    )


class _Counted:
    """The body's chunks, counting the bytes that came."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.chunks = chunks
        self.bytes = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._each()

    async def _each(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks:
            self.bytes += len(chunk)
            yield chunk


def _empty_body() -> InvalidInput:
    return InvalidInput(
        "an import needs a file in the body",
        errors=[FieldError("body", "required: the rows to import", "missing")],
    )


@router.get("/imports/{import_id}", response_model=ImportJobOut)
async def get_import(import_id: str, session: ReadSessionDep, principal: Writer) -> Response:
    """An import job's progress and, once done, its report; 404 if there is none or it was
    started for another area."""
    job = await import_jobs.get_job(session, job_id=import_id, principal=principal)
    return json_response(ImportJobOut.of(job))
