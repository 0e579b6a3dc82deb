"""``Idempotency-Key`` for writes (draft-ietf-httpapi-idempotency-key-header).

A client retrying a write with the same key gets the first response again, and the write
happens once: the key, a fingerprint of the request and the response are stored in the same
transaction as the write's effect (the command runner, :mod:`shared.commands`, owns that
transaction). The same key with a different request is refused (422); a key whose first
request is still running is refused (409).

What is stored holds no personal data in clear:

- the key is stored as a SHA-256 digest of the subject and the key;
- the response, with the scopes and area of the token that made it, is encrypted with
  AES-GCM under a key derived (HKDF) from the client's ``Idempotency-Key`` and subject, so
  the database alone cannot read it back: only a retry carrying the key can;
- a replay is refused to a token that lacks a scope the first token had (403) or is confined
  to another area (404, as for any object outside the caller's area).

Records are kept for :data:`RETENTION`; the runtime's periodic job (:func:`purge_expired`)
deletes older ones, and an expired record met on the way is deleted too. Clients should use
random keys (a UUID): a guessable key only protects what a guess cannot reach.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import bindparam, delete, exists, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import Table

from shared.auth import Principal
from shared.db import as_utc
from shared.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from shared.outbox import Along
from shared.tables import IdempotencyRecord

RETENTION = timedelta(hours=24)
REPLAYED_HEADER = "Idempotency-Replayed"
_HEADER_FIELD = "header.Idempotency-Key"
_IN_PROGRESS = "a request with this Idempotency-Key is in progress; retry later"
_KEY_COLUMN_LENGTH = 200

#: Route parameter type; declare it with a default: ``key: IdempotencyKey = None``.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Makes a retried write happen once; the first response is replayed. "
        "Use a random value (a UUID).",
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


def stored_key(subject: str, key: str) -> str:
    """The digest under which a subject's key is stored (the key itself never is)."""
    return hashlib.sha256(f"{subject}\0{key}".encode()).hexdigest()


def _cipher(subject: str, key: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"shequ idempotency v1", info=subject.encode()
    ).derive(key.encode())
    return AESGCM(derived)


def seal(subject: str, key: str, document: dict[str, Any]) -> str:
    """Encrypt a stored response document for the holder of ``key`` (base64 text)."""
    nonce = os.urandom(12)
    associated = stored_key(subject, key).encode()
    sealed = _cipher(subject, key).encrypt(nonce, json.dumps(document).encode(), associated)
    return base64.b64encode(nonce + sealed).decode()


def unseal(subject: str, key: str, text: str) -> dict[str, Any]:
    """Decrypt what :func:`seal` stored; ``ValueError`` if it was not sealed for this key."""
    raw = base64.b64decode(text)
    try:
        plain = _cipher(subject, key).decrypt(raw[:12], raw[12:], stored_key(subject, key).encode())
    except InvalidTag as exc:
        raise ValueError("stored response not sealed for this key") from exc
    document: dict[str, Any] = json.loads(plain)
    return document


@dataclass(frozen=True)
class _Stored:
    """What a lookup needs of a stored record."""

    fingerprint: str
    status_code: int
    response_body: str


@dataclass(frozen=True)
class Claim:
    """A key claimed for a running request; :meth:`settlement` stores its response."""

    principal: Principal
    key: str
    digest: str

    def settlement(self, status: int, body: Any) -> tuple[Any, Along]:
        """The JSON-ready body, and the ``UPDATE`` storing the response (encrypted, with the
        token's scopes and area) to run in the claim's transaction, along with the command's
        outbox rows (:meth:`shared.unit_of_work.UnitOfWork.publish_collected`)."""
        encoded = jsonable_encoder(body)
        sealed = seal(
            self.principal.subject,
            self.key,
            {
                "body": encoded,
                "scopes": sorted(self.principal.scopes),
                "area": self.principal.area,
            },
        )
        parameters = {
            "b_subject": self.principal.subject,
            "b_key": self.digest,
            "b_status": status,
            "b_body": sealed,
        }
        return encoded, (_SETTLE, parameters)


async def replay(
    session: AsyncSession, *, principal: Principal, key: str, fingerprint: str
) -> JSONResponse | None:
    """The stored response for ``key`` if the caller may have it, or None when there is none.

    Raises 422 when the key was used for another request, 409 while its first request runs,
    403/404 when the caller's token lacks a scope or the area of the token that made it.
    An expired record is deleted so the key can be used again.
    """
    digest = stored_key(principal.subject, key)
    # Written before keys were stored as digests, a record's key is the client's own: such a
    # write happened, but its clear response is not replayed (it may hold personal data and
    # names no scopes); it expires as usual. Both are looked up in one query.
    candidates = (digest, key) if len(key) <= _KEY_COLUMN_LENGTH else (digest,)
    found = await _live_records(session, principal.subject, candidates)
    existing = found.get(digest)
    legacy = existing is None and key in found
    if legacy:
        existing = found[key]
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was used for a different request",
            errors=[FieldError(_HEADER_FIELD, "reused for another request", "reused")],
        )
    if existing.status_code == 0:
        raise Conflict(_IN_PROGRESS)
    if legacy:
        raise Conflict(
            "this Idempotency-Key's request was done by an earlier version of the service, "
            "which kept no replayable response: read the resource instead"
        )
    try:
        document = unseal(principal.subject, key, existing.response_body)
    except ValueError:  # tampered with, or sealed for another key
        raise Conflict("the stored response of this Idempotency-Key cannot be replayed") from None
    missing = set(document.get("scopes", ())) - principal.scopes
    if missing:
        raise Forbidden(
            "this Idempotency-Key's response was made for a token with scopes this one lacks: "
            + " ".join(sorted(missing))
        )
    if principal.area is not None and document.get("area") != principal.area:
        raise NotFound()
    return JSONResponse(
        document["body"], status_code=existing.status_code, headers={REPLAYED_HEADER: "true"}
    )


async def _live_records(
    session: AsyncSession, subject: str, keys: tuple[str, ...]
) -> dict[str, _Stored]:
    """The records of ``subject`` stored under any of ``keys``, by key, unless expired (an
    expired one is deleted)."""
    record = IdempotencyRecord
    rows = await session.execute(
        select(
            record.key,
            record.fingerprint,
            record.status_code,
            record.response_body,
            record.created_at,
        ).where(record.subject == subject, record.key.in_(keys))
    )
    horizon = datetime.now(UTC) - RETENTION
    live: dict[str, _Stored] = {}
    for row in rows:
        if as_utc(row.created_at) <= horizon:
            await session.execute(
                delete(record).where(record.subject == subject, record.key == row.key)
            )
        else:
            live[row.key] = _Stored(row.fingerprint, row.status_code, row.response_body)
    return live


async def claim(
    session: AsyncSession, *, principal: Principal, key: str, fingerprint: str
) -> Claim | None:
    """Insert the key's record before the write runs, so a concurrent twin blocks on it.

    One statement, ``INSERT … ON CONFLICT DO NOTHING``: None when it inserted nothing because
    the key is recorded already, under its digest or (by an earlier version) in clear,
    expired or not, or because a concurrent twin claimed it first and committed (the insert
    waited for it): the caller then looks the record up with :func:`replay`.
    """
    digest = stored_key(principal.subject, key)
    connection = await session.connection()
    inserted = await connection.execute(
        _CLAIM[connection.dialect.name],
        {
            "subject": principal.subject,
            "key": digest,
            # A key too long for the column was never stored in clear: look for the digest.
            "legacy": key if len(key) <= _KEY_COLUMN_LENGTH else digest,
            "fingerprint": fingerprint,
            "created_at": datetime.now(UTC),
        },
    )
    if inserted.first() is None:
        return None
    return Claim(principal=principal, key=key, digest=digest)


_RECORDS = cast(Table, IdempotencyRecord.__table__)


def _claim_statement(dialect: Any) -> Any:
    """``INSERT … SELECT … WHERE NOT EXISTS (legacy key) ON CONFLICT DO NOTHING RETURNING``."""
    records = _RECORDS
    legacy = records.alias("legacy")
    columns = records.c
    subject = bindparam("subject", type_=columns.subject.type)
    values = select(
        subject,
        bindparam("key", type_=columns.key.type),
        bindparam("fingerprint", type_=columns.fingerprint.type),
        literal(0, columns.status_code.type),
        literal("", columns.response_body.type),
        bindparam("created_at", type_=columns.created_at.type),
    ).where(
        ~exists().where(
            legacy.c.subject == subject,
            legacy.c.key == bindparam("legacy", type_=columns.key.type),
        )
    )
    names = ["subject", "key", "fingerprint", "status_code", "response_body", "created_at"]
    return (
        dialect.insert(records)
        .from_select(names, values)
        .on_conflict_do_nothing()
        .returning(columns.key)
    )


_CLAIM = {"postgresql": _claim_statement(postgresql), "sqlite": _claim_statement(sqlite)}
"""The claim's statement, built once per dialect."""
_SETTLE = (
    update(_RECORDS)
    .where(_RECORDS.c.subject == bindparam("b_subject"), _RECORDS.c.key == bindparam("b_key"))
    .values(status_code=bindparam("b_status"), response_body=bindparam("b_body"))
)
"""Stores the response of a claimed key (no bound name is a column's: it may run as a common
table expression of the outbox's INSERT, see :func:`shared.outbox.add_documents`)."""


def in_progress() -> Conflict:
    """The error for a key whose first request has not settled."""
    return Conflict(_IN_PROGRESS)


async def purge_expired(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete records older than the retention period; return how many."""
    horizon = (now or datetime.now(UTC)) - RETENTION
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < horizon)
    )
    return int(getattr(result, "rowcount", 0) or 0)


__all__ = [
    "REPLAYED_HEADER",
    "RETENTION",
    "Claim",
    "IdempotencyKey",
    "IdempotencyRecord",
    "claim",
    "fingerprint",
    "purge_expired",
    "replay",
    "seal",
    "stored_key",
    "unseal",
]
