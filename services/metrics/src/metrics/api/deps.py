"""Dependencies of the metrics routes, as ``Annotated`` aliases.

A read route declares ``principal: Reader``; a write route declares ``command: WriteCommand``
and returns ``await command.run(use_case, present, status=…, **arguments)``
(:mod:`shared.commands`: token and scope, transaction, Idempotency-Key, outbox)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Request

from metrics.domain.measures import Catalogue
from metrics.tracking import Tracker
from shared.auth import Principal, require_scopes
from shared.commands import CommandRunner, command_runner

Reader = Annotated[Principal, Depends(require_scopes("metrics:read"))]
"""A caller whose token grants ``metrics:read``."""
WriteCommand = Annotated[CommandRunner, Depends(command_runner("metrics:write"))]
"""Runs a write route's use case for a caller whose token grants ``metrics:write``."""


def _catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


def _tracker(request: Request) -> Tracker:
    tracker: Tracker = request.app.state.tracker
    return tracker


CatalogueDep = Annotated[Catalogue, Depends(_catalogue)]
"""The validated indicator and target catalogue."""
TrackerDep = Annotated[Tracker, Depends(_tracker)]
"""The snapshot and target tracker (today's date, evaluation)."""
Format = Annotated[
    Literal["json", "csv"],
    Query(alias="format", description="`csv` returns the same rows as `text/csv`."),
]
