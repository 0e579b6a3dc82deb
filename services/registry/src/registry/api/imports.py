"""Bulk import: ``POST /imports`` streams NDJSON or CSV rows into the register."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from registry import importer
from registry.pii import PiiDep
from shared.auth import Principal, require_scopes
from shared.http import BULK_BODY
from shared.runtime import SessionDep

router = APIRouter(tags=["imports"])
Writer = Annotated[Principal, Depends(require_scopes("registry:write"))]


class RejectedRowOut(BaseModel):
    """A row that was not imported."""

    line: int = Field(description="Line (NDJSON) or record (CSV, header = 1) number.")
    field: str | None = Field(description="The offending field, if one is to blame.")
    reason: str = Field(description="Why the row was rejected.")


class ImportReportOut(BaseModel):
    """What became of every row of an import."""

    rows: int = Field(description="Rows read.")
    accepted: int = Field(description="Rows stored, each with its events.")
    unchanged: int = Field(description="Rows already in the register (re-imports).")
    rejected: int = Field(description="Rows not stored.")
    rejected_rows: list[RejectedRowOut] = Field(
        description=f"The first {importer.MAX_REPORTED_ROWS} rejected rows."
    )


async def _lines(request: Request) -> AsyncIterator[str]:
    """The request body, decoded as UTF-8, line by line as it arrives."""
    buffer = ""
    async for chunk in request.stream():
        buffer += chunk.decode("utf-8", errors="replace")
        *complete, buffer = buffer.split("\n")
        for line in complete:
            yield line + "\n"
    if buffer:
        yield buffer


@router.post("/imports", response_model=ImportReportOut, openapi_extra=BULK_BODY)
async def run_import(
    request: Request,
    session: SessionDep,
    principal: Writer,
    pii: PiiDep,
    format: Annotated[importer.Format, Query(description="ndjson or csv.")] = "ndjson",
    type: Annotated[
        importer.RecordType | None,
        Query(description="Record type of every row (required for CSV)."),
    ] = None,
) -> ImportReportOut:
    """Import areas, households, residents or facilities; re-running a file changes nothing.

    Rows outside the token's area are rejected. Each batch of rows commits with its events.
    The body may be up to `HTTP_MAX_BULK_BODY_BYTES` (default 256 MiB); past it the import
    stops with 413, keeping the batches already committed (running the file again is safe).
    """
    report = await importer.import_rows(
        session,
        pii=pii,
        lines=_lines(request),
        fmt=format,
        record_type=type,
        principal=principal,
    )
    return ImportReportOut(
        rows=report.rows,
        accepted=report.accepted,
        unchanged=report.unchanged,
        rejected=report.rejected,
        rejected_rows=[RejectedRowOut(**vars(row)) for row in report.rejected_rows],
    )
