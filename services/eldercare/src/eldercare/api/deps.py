"""Dependencies shared by the eldercare routers: who may read, how a write runs
(:mod:`shared.commands`), the service's policy (entitlement rules, subsidy amount) and the
parameters of lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from eldercare.domain.entitlements import EntitlementRule
from shared.auth import Principal, require_scopes
from shared.commands import CommandRunner, command_runner
from shared.errors import FieldError, InvalidInput
from shared.inputs import Text
from shared.pagination import decode_cursor

READ = "eldercare:read"
WRITE = "eldercare:write"

Reader = Annotated[Principal, Depends(require_scopes(READ))]
"""A caller whose token may read eldercare."""

WriteCommand = Annotated[CommandRunner, Depends(command_runner(WRITE))]
"""Runs a write route's use case (token and scope, transaction, Idempotency-Key, outbox)."""

Within = Annotated[
    Text | None,
    Query(max_length=32, description="Only this area's subtree (within the token's area)."),
]


@dataclass(frozen=True)
class Policy:
    """The entitlement rules and the monthly subsidy amount the service runs with."""

    rules: tuple[EntitlementRule, ...]
    monthly_amount_fen: int
    threshold: int


def _policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


PolicyDep = Annotated[Policy, Depends(_policy)]


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
