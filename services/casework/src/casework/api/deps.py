"""Dependencies shared by the casework routers: who may read, write and administer, and how a
write runs (:mod:`shared.commands`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import Principal, require_scopes
from shared.commands import CommandRunner, command_runner
from shared.errors import FieldError, InvalidInput
from shared.pagination import decode_cursor

READ = "casework:read"
WRITE = "casework:write"
ADMIN = "casework:admin"

Reader = Annotated[Principal, Depends(require_scopes(READ))]
"""A caller whose token may read cases and the catalogue."""

WriteCommand = Annotated[CommandRunner, Depends(command_runner(WRITE))]
"""Runs a case command (token and scope, transaction, Idempotency-Key, outbox)."""

AdminCommand = Annotated[CommandRunner, Depends(command_runner(ADMIN))]
"""Runs a change of the catalogue or the calendar (casework admin)."""


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
