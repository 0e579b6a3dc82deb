"""``Idempotency-Key`` for writes (draft-ietf-httpapi-idempotency-key-header).

A client retrying a write with the same key gets the first response again, and the write
happens once: the key, a fingerprint of the request and the response are stored in the same
transaction as the write's effect. The same key with a different request is refused (422);
a key whose first request is still running is refused (409). Keys are scoped to the token's
subject and kept for :data:`RETENTION` (deleted lazily).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import as_utc
from shared.errors import Conflict, FieldError, InvalidInput
from shared.tables import IdempotencyRecord

RETENTION = timedelta(hours=24)
REPLAYED_HEADER = "Idempotency-Replayed"

#: Route parameter type; declare it with a default: ``key: IdempotencyKey = None``.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Makes a retried write happen once; the first response is replayed.",
    ),
]


async def fingerprint(request: Request, *, key: bytes | None = None) -> str:
    """SHA-256 of the method, path, query and body of a request; an HMAC with ``key``.

    Key it when bodies carry personal data: an unkeyed hash of a body whose other fields are
    known could be matched against guesses (a national id number has few unknown digits).
    """
    digest = hmac.new(key, digestmod=hashlib.sha256) if key else hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(await request.body())
    return digest.hexdigest()


async def run_idempotent(
    session: AsyncSession,
    *,
    request: Request,
    key: str | None,
    subject: str,
    operation: Callable[[], Awaitable[tuple[int, Any]]],
    fingerprint_key: bytes | None = None,
) -> JSONResponse:
    """Run ``operation`` (returning status and body) once per key, in one transaction.

    The key is claimed (its row inserted) before the operation runs, so a concurrent request
    with the same key waits on that row and then replays the first response. The session
    must not be in a transaction yet; this begins and commits it.
    """
    if key is None:
        async with session.begin():
            status, body = await operation()
        return JSONResponse(jsonable_encoder(body), status_code=status)
    request_fingerprint = await fingerprint(request, key=fingerprint_key)
    try:
        async with session.begin():
            replay = await _replay(session, subject=subject, key=key, fp=request_fingerprint)
            if replay is not None:
                return replay
            record = IdempotencyRecord(
                subject=subject,
                key=key,
                fingerprint=request_fingerprint,
                status_code=0,
                response_body="",
                created_at=datetime.now(UTC),
            )
            session.add(record)
            await session.flush()  # claims the key: a concurrent twin blocks here
            status, body = await operation()
            encoded = jsonable_encoder(body)
            record.status_code = status
            record.response_body = json.dumps(encoded)
    except IntegrityError:
        # A twin request claimed the key first and has committed by now: replay its answer.
        async with session.begin():
            replay = await _replay(session, subject=subject, key=key, fp=request_fingerprint)
        if replay is not None:
            return replay
        raise Conflict("a request with this Idempotency-Key is in progress; retry later") from None
    return JSONResponse(encoded, status_code=status)


async def _replay(session: AsyncSession, *, subject: str, key: str, fp: str) -> JSONResponse | None:
    """The stored response for ``key``, a 422 if it was for another request, or None.

    An expired record is deleted so the key can be used again.
    """
    existing = await session.get(IdempotencyRecord, (subject, key), populate_existing=True)
    if existing is None:
        return None
    if as_utc(existing.created_at) <= datetime.now(UTC) - RETENTION:
        await session.delete(existing)
        await session.flush()
        return None
    if existing.fingerprint != fp:
        raise InvalidInput(
            "this Idempotency-Key was used for a different request",
            errors=[FieldError("header.Idempotency-Key", "reused for another request")],
        )
    if existing.status_code == 0:
        raise Conflict("a request with this Idempotency-Key is in progress; retry later")
    return JSONResponse(
        json.loads(existing.response_body),
        status_code=existing.status_code,
        headers={REPLAYED_HEADER: "true"},
    )


async def purge_expired(session: AsyncSession) -> None:
    """Delete records older than the retention period."""
    horizon = datetime.now(UTC) - RETENTION
    await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < horizon))


__all__ = ["IdempotencyKey", "IdempotencyRecord", "purge_expired", "run_idempotent"]
