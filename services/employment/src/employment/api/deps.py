"""Dependencies shared by the employment service's routers: who may read, how a write runs
(:mod:`shared.commands`), and the list parameters.

A read route declares ``principal: Reader``; a write route declares ``command: WriteCommand``
and returns ``await command.run(use_case, present, status=…, **args)``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from shared.auth import Principal, require_scopes
from shared.commands import CommandRunner, command_runner
from shared.errors import FieldError, InvalidInput
from shared.inputs import Text
from shared.pagination import decode_cursor

READ = "employment:read"
WRITE = "employment:write"

Reader = Annotated[Principal, Depends(require_scopes(READ))]
"""A caller whose token may read the employment service."""

WriteCommand = Annotated[CommandRunner, Depends(command_runner(WRITE))]
"""Runs a write route's use case (token and scope, transaction, Idempotency-Key, outbox)."""

Within = Annotated[
    Text | None,
    Query(max_length=32, description="Only this area's subtree (within the token's area)."),
]
"""The ``within`` query parameter of lists."""


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


__all__ = ["READ", "WRITE", "Reader", "Within", "WriteCommand", "after_id"]
