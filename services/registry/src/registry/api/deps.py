"""Dependencies shared by the registry's routers: who may read, who may write, and how a write
runs (:mod:`shared.commands`).

A read route declares ``principal: Reader``; a write route declares ``command: WriteCommand``
(or ``PiiWriteCommand`` when its body carries national id numbers, so Idempotency-Key
fingerprints are keyed) and returns ``await command.run(use_case, present, status=…, **args)``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from registry.pii import pii_protector
from shared.auth import PII_READ, Principal, require_scopes
from shared.commands import CommandRunner, command_runner

READ = "registry:read"
WRITE = "registry:write"

Reader = Annotated[Principal, Depends(require_scopes(READ))]
"""A caller whose token may read the registry."""

Writer = Annotated[Principal, Depends(require_scopes(WRITE))]
"""A caller whose token may write the registry (for writes that are not commands, e.g. imports)."""

PiiReader = Annotated[Principal, Depends(require_scopes(READ, PII_READ))]
"""A caller whose token may read the registry and personal data in clear."""


def _pii_fingerprint_key(request: Request) -> bytes:
    return pii_protector(request).fingerprint_key


WriteCommand = Annotated[CommandRunner, Depends(command_runner(WRITE))]
"""Runs a write route's use case (token and scope, transaction, Idempotency-Key, outbox)."""

PiiWriteCommand = Annotated[
    CommandRunner, Depends(command_runner(WRITE, fingerprint_key=_pii_fingerprint_key))
]
""":data:`WriteCommand` for bodies carrying id numbers: request fingerprints are HMACs."""

__all__ = ["READ", "WRITE", "PiiReader", "PiiWriteCommand", "Reader", "WriteCommand", "Writer"]
