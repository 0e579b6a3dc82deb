"""The audit log: who read or changed personal data, for every service.

Each service has an append-only ``audit_log`` table (:class:`shared.tables.AuditRecord`,
created by :func:`shared.migrations.create_audit_table` with triggers refusing UPDATE and
DELETE). A row says who (the token's subject), did what (``read``, ``look-up``, ``create``,
``update``, ...), to which resource (its type and id, never a national id number, a name or
an address), in which area (the resource's area path, for confinement), when, and within which
request (the correlation id).

- A change is recorded in the transaction of the change, through its unit of work::

      audit.record_change(uow, principal, "update", "resident", resident.id, resident.path)

  so the change and its audit row commit together or not at all.
- A read is recorded after the data was found: declare ``trail: AuditTrail`` and ``await
  trail.read(principal, "resident", [(resident.id, resident.path)])``. Its rows go to the
  service's :class:`~shared.audit_reads.ReadRecorder`, which writes them in batches within
  0.1 s (what that costs in guarantees is said there); with ``session=session``, when the
  read used the ordinary session, they commit in it. A failed read (404) records nothing.
- Staff with the ``audit:read`` scope query it with ``GET /audit`` (:func:`audit_router`),
  newest first, paginated, confined to their token's area like every other read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit_reads import AUDIT_COLUMNS, ReadRecorder
from shared.auth import AUDIT_READ, Principal, require_scopes
from shared.context import correlation_id_var
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, decode_cursor, page_of
from shared.paths import passes_through, path_text
from shared.reads import json_response
from shared.runtime import SessionDep
from shared.tables import AuditRecord
from shared.unit_of_work import UnitOfWork

AreaPath = Sequence[str] | str
"""An area path: its ids from the city down, or its stored form ``/city/.../community/``."""

_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
"""A mainland national id number anywhere in a value (18 characters, the last may be X)."""


def _stored_path(area_path: AreaPath) -> str:
    if isinstance(area_path, str):
        return area_path if area_path.startswith("/") else path_text([area_path])
    return path_text(area_path)


_DIGIT_RUNS = bytes(ord("0") if byte in b"0123456789" else ord(".") for byte in range(256))
"""A byte table turning every ASCII digit into ``0`` and every other byte into ``.``."""
_SEVENTEEN_DIGITS = b"0" * 17


def _refuse_id_numbers(resource_ids: Iterable[str]) -> None:
    """Refuse resource ids holding a national id number: the audit log names resources by
    their ids only. One search over them all (a page of a list audits 50), and only when
    they hold a run of 17 ASCII digits, which a number starts with: the pattern's own search
    walks every character (60 µs for a page of uuids), the run is found with a byte table
    and a substring search (3 µs)."""
    joined = "\n".join(resource_ids)
    if (
        _SEVENTEEN_DIGITS in joined.encode("ascii", "replace").translate(_DIGIT_RUNS)
        and _ID_NUMBER.search(joined) is not None
    ):
        raise ValueError("audit resource_id must not hold a national id number")


AuditRow = tuple[datetime, str, str, str, str, str, str | None]
"""The values of one audit row, in the order of :data:`AUDIT_COLUMNS`."""


def entry(
    principal: Principal,
    action: str,
    resource_type: str,
    resource_id: str,
    area_path: AreaPath,
) -> dict[str, object]:
    """The column values of one audit row, stamped now with the request's correlation id."""
    [row] = entries(principal, action, resource_type, [(resource_id, area_path)])
    return row


def entries(
    principal: Principal,
    action: str,
    resource_type: str,
    resources: Iterable[tuple[str, AreaPath]],
) -> list[dict[str, object]]:
    """:func:`entry_rows` by column name, for an insert through SQLAlchemy."""
    return [
        dict(zip(AUDIT_COLUMNS, row, strict=True))
        for row in entry_rows(principal, action, resource_type, resources)
    ]


def entry_rows(
    principal: Principal,
    action: str,
    resource_type: str,
    resources: Iterable[tuple[str, AreaPath]],
) -> list[AuditRow]:
    """The audit rows of many resources (id, area path) one request touched, in the order of
    :data:`AUDIT_COLUMNS`: the time and the correlation id taken once (a page of a list shows
    50). The one builder of audit rows."""
    at, correlation_id, actor = datetime.now(UTC), correlation_id_var.get(), principal.subject
    rows = [
        (
            at,
            actor,
            action,
            resource_type,
            resource_id if type(resource_id) is str else str(resource_id),
            # a path in its stored form, as a read's rows give it, is kept as it is
            path if type(path) is str and path[:1] == "/" else _stored_path(path),
            correlation_id,
        )
        for resource_id, path in resources
    ]
    _refuse_id_numbers([row[4] for row in rows])
    return rows


def record_change(
    uow: UnitOfWork,
    principal: Principal | None,
    action: str,
    resource_type: str,
    resource_id: str,
    area_path: AreaPath,
) -> None:
    """Record that ``principal`` did ``action`` to a resource holding personal data, in the
    unit of work's transaction (it commits with the change or not at all). ``None`` is the
    platform itself (demo data, replays), which no one audits."""
    if principal is None:
        return
    uow.session.add(AuditRecord(**entry(principal, action, resource_type, resource_id, area_path)))


async def record_changes(
    uow: UnitOfWork,
    principal: Principal | None,
    action: str,
    resource_type: str,
    resources: Iterable[tuple[str, AreaPath]],
) -> int:
    """:func:`record_change` for many resources (a bulk import), in one insert in the unit of
    work's transaction; how many rows."""
    if principal is None:
        return 0
    rows = entries(principal, action, resource_type, resources)
    if rows:
        await uow.session.execute(insert(AuditRecord), rows)
    return len(rows)


async def record_reads(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    resource_type: str,
    resources: Iterable[tuple[str, AreaPath]],
    *,
    action: str = "read",
    session: AsyncSession | None = None,
) -> int:
    """Record that ``principal`` read these resources (id, area path), in one insert; how
    many rows. The insert commits in a transaction of its own, or, given the ``session`` the
    read used, in that session's transaction, committed here: on SQLite a read's session holds
    the write lock (``BEGIN IMMEDIATE``), so a second session would wait for it."""
    rows = entries(principal, action, resource_type, resources)
    if not rows:
        return 0
    if session is not None:
        await session.execute(insert(AuditRecord), rows)
        await session.commit()
        return len(rows)
    async with sessions() as own, own.begin():
        await own.execute(insert(AuditRecord), rows)
    return len(rows)


class Trail:
    """A request's access to the audit log for reads (:data:`AuditTrail`)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], recorder: ReadRecorder) -> None:
        self.sessions = sessions
        self.recorder = recorder

    async def read(
        self,
        principal: Principal,
        resource_type: str,
        resources: Iterable[tuple[str, AreaPath]],
        *,
        action: str = "read",
        session: AsyncSession | None = None,
    ) -> int:
        """Record that ``principal`` read these (id, area path) resources: handed to the
        service's :class:`~shared.audit_reads.ReadRecorder`, written within 0.1 s in a batch;
        or, given the read's ``session`` when it is an ordinary (writable) one, in that
        session's transaction (:func:`record_reads`)."""
        if session is not None:
            return await record_reads(
                self.sessions, principal, resource_type, resources, action=action, session=session
            )
        rows = entry_rows(principal, action, resource_type, resources)
        self.recorder.add(rows)
        return len(rows)


def trail_of(request: Request) -> Trail:
    """The audit trail of ``request``'s app (what :data:`AuditTrail` gives a route)."""
    runtime = request.app.state.runtime
    return Trail(runtime.sessions, runtime.read_recorder)


async def _trail(request: Request) -> Trail:
    # Async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread.
    return trail_of(request)


AuditTrail = Annotated[Trail, Depends(_trail)]
"""Route parameter recording reads of personal data: ``trail: AuditTrail``."""


# --- GET /audit -------------------------------------------------------------------------------


class AuditEntryOut(BaseModel):
    """One audit row."""

    id: int = Field(
        description="Position in the log, in the order rows were written (a read's row is "
        "written within 0.1 s of the read, so it may follow a later change's)."
    )
    at: datetime = Field(description="When the read or change happened.")
    actor: str = Field(description="The token subject (`sub`) that acted.")
    action: str = Field(description="`read`, `look-up`, `create`, `update`, ...")
    resource_type: str = Field(description="What was read or changed, e.g. `resident`.")
    resource_id: str = Field(description="Its id (never a national id number).")
    area_path: list[str] = Field(description="Area ids from the city down to the resource.")
    correlation_id: str | None = Field(description="`X-Correlation-ID` of the request.")

    @classmethod
    def of(cls, row: AuditRecord) -> AuditEntryOut:
        return cls(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            area_path=[part for part in row.area_path.split("/") if part],
            correlation_id=row.correlation_id,
        )


AuditReader = Annotated[Principal, Depends(require_scopes(AUDIT_READ))]
Filter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


def audit_router() -> APIRouter:
    """``GET /audit`` over the service's audit log (scope ``audit:read``)."""
    router = APIRouter(tags=["audit"])

    @router.get("/audit", response_model=Page[AuditEntryOut])
    async def list_audit_entries(
        request: Request,
        principal: AuditReader,
        session: SessionDep,
        within: Annotated[
            str | None,
            Query(max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", description="Only this area."),
        ] = None,
        resource_type: Filter = None,
        resource_id: Filter = None,
        actor: Filter = None,
        cursor: Cursor = None,
        limit: PageSize = DEFAULT_PAGE_SIZE,
    ) -> Response:
        """Who read or changed personal data in the token's area, newest first; filter by
        area, resource or actor."""
        await request.app.state.runtime.read_recorder.flush()  # this replica's reads first
        query = select(AuditRecord).where(
            passes_through(AuditRecord.area_path, principal.area, within)
        )
        if resource_type is not None:
            query = query.where(AuditRecord.resource_type == resource_type)
        if resource_id is not None:
            query = query.where(AuditRecord.resource_id == resource_id)
        if actor is not None:
            query = query.where(AuditRecord.actor == actor)
        after = decode_cursor(cursor)
        if after is not None:
            if len(after) != 1 or not isinstance(after[0], int):
                after = [0]
            query = query.where(AuditRecord.id < after[0])
        rows = list(
            (await session.scalars(query.order_by(AuditRecord.id.desc()).limit(limit + 1))).all()
        )
        page, next_cursor = page_of(rows, limit, lambda row: [row.id])
        return json_response(
            Page[AuditEntryOut](
                items=[AuditEntryOut.of(row) for row in page], next_cursor=next_cursor
            )
        )

    return router


__all__ = [
    "AuditEntryOut",
    "AuditTrail",
    "Trail",
    "audit_router",
    "entries",
    "entry",
    "record_change",
    "record_changes",
    "record_reads",
]
