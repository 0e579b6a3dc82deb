"""Dependencies and parameters shared by the registry's routers: who may read, who may
write, how a write runs (:mod:`shared.commands`), and the area parameters of lists.

A read route declares ``principal: Reader``; a write route declares ``command: WriteCommand``
(or ``PiiWriteCommand`` when its body carries national id numbers, so Idempotency-Key
fingerprints are keyed) and returns ``await command.run(use_case, present, status=…, **args)``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import Field

from registry.api.bodies import Day
from registry.domain.hierarchy import DEFAULT_HIERARCHY, Hierarchy
from registry.pii import pii_protector
from shared.auth import PII_READ, Principal, require_scopes
from shared.commands import CommandRunner, command_runner
from shared.errors import FieldError, InvalidInput
from shared.inputs import Text
from shared.pagination import decode_cursor
from shared.reads import ReadContext, read_access

READ = "registry:read"
WRITE = "registry:write"

Reader = Annotated[Principal, Depends(require_scopes(READ))]
"""A caller whose token may read the registry."""

Writer = Annotated[Principal, Depends(require_scopes(WRITE))]
"""A caller whose token may write the registry (for writes that are not commands, e.g. imports)."""

PiiReader = Annotated[Principal, Depends(require_scopes(READ, PII_READ))]
"""A caller whose token may read the registry and personal data in clear."""

RegistryRead = Annotated[ReadContext, Depends(read_access(READ))]
""":data:`Reader` and a read connection in one dependency, for the hottest read routes."""


def _pii_fingerprint_key(request: Request) -> bytes:
    return pii_protector(request).fingerprint_key


WriteCommand = Annotated[CommandRunner, Depends(command_runner(WRITE))]
"""Runs a write route's use case (token and scope, transaction, Idempotency-Key, outbox)."""

PiiWriteCommand = Annotated[
    CommandRunner, Depends(command_runner(WRITE, fingerprint_key=_pii_fingerprint_key))
]
""":data:`WriteCommand` for bodies carrying id numbers: request fingerprints are HMACs."""

AreaId = Annotated[Text, Field(min_length=1, max_length=32, description="Area id (its code).")]
"""A body field naming an area (a community)."""

Within = Annotated[
    Text | None,
    Query(max_length=32, description="Only this area's subtree (default: the token's area)."),
]
"""The ``within`` query parameter of lists and statistics."""

AsOf = Annotated[Day | None, Query(description="Answer for this day (default: today).")]
"""The ``as_of`` query parameter of statistics."""


def after_id(cursor: str | None) -> str | None:
    """The last id of the previous page, from a cursor made by :mod:`shared.pagination`."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if len(key) != 1 or not isinstance(key[0], str):
        raise InvalidInput(
            "malformed cursor", errors=[FieldError("cursor", "not a cursor from this API")]
        )
    return key[0]


__all__ = [
    "READ",
    "WRITE",
    "AreaId",
    "AsOf",
    "PiiReader",
    "PiiWriteCommand",
    "Reader",
    "RegistryRead",
    "Within",
    "WriteCommand",
    "Writer",
    "after_id",
]


async def _hierarchy(request: Request) -> Hierarchy:
    hierarchy = getattr(request.app.state, "hierarchy", DEFAULT_HIERARCHY)
    return hierarchy if isinstance(hierarchy, Hierarchy) else DEFAULT_HIERARCHY


HierarchyDep = Annotated[Hierarchy, Depends(_hierarchy)]
"""The area hierarchy the registry runs with (``AREA_HIERARCHY_FILE``, else the shipped one)."""
