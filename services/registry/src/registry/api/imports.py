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

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from registry import importer
from registry.api.deps import HierarchyDep, Writer
from registry.pii import PiiDep
from shared.http import BULK_BODY
from shared.runtime import ServiceRuntime

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


@router.post("/imports", response_model=ImportReportOut, openapi_extra=BULK_BODY)
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
) -> ImportReportOut:
    """Import areas, households, residents or facilities; re-running a file changes nothing,
    and a changed row is applied as an update or rejected as a conflict, never "unchanged".

    Rows outside the token's area are rejected. Each batch of rows commits with its events.
    The body may be up to `HTTP_MAX_BULK_BODY_BYTES` (default 256 MiB); past it the import
    stops with 413, keeping the batches already committed (running the file again is safe).
    """
    runtime: ServiceRuntime = request.app.state.runtime
    report = await importer.import_rows(
        runtime.sessions,
        translate=runtime.translate,
        pii=pii,
        lines=importer.text_lines(request.stream()),
        fmt=format,
        record_type=type,
        principal=principal,
        hierarchy=hierarchy,
    )
    return ImportReportOut(
        rows=report.rows,
        accepted=report.accepted,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        rejected_rows=[RejectedRowOut(**vars(row)) for row in report.rejected_rows],
    )
