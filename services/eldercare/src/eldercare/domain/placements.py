"""Care placements: home-based care, community day care, institutions; capacity and waiting
lists.

"Home-based care as the base, community care as the supplement, institutions as the
support" (docs/domain.md §4): an elder has at most one active placement. Home-based care has no
capacity and starts at once. A day-care centre or an institution has a capacity; a request
starts when a place is free and nobody waits, otherwise it joins the centre's waiting list.
The list is kept in priority order (:func:`priority_key`): higher care level first, then
elders living alone or empty-nest, then the older, then the earlier request. When a place
frees up, the head of the list starts. Starting a placement ends the elder's previous one
(reason ``transferred``): a transition is an end and a start, both events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from shared.contracts.eldercare import PlacementEndReason, PlacementKind
from shared.errors import Conflict, FieldError, InvalidInput

CentreKind = Literal["day_care", "institution"]
PlacementStatus = Literal["waiting", "active", "ended"]


@dataclass(frozen=True)
class Centre:
    """A community day-care centre or an institution with its number of places."""

    id: str
    kind: CentreKind
    name: str
    community_id: str
    path: tuple[str, ...]
    capacity: int

    @staticmethod
    def check_capacity(capacity: int) -> None:
        """A capacity is a whole number of places, 1 to 10,000."""
        if not 0 < capacity <= 10_000:
            raise InvalidInput(
                "invalid capacity", errors=[FieldError("capacity", "must be 1 to 10000")]
            )


@dataclass(frozen=True)
class PlacementSnapshot:
    """One placement request of an elder and where it stands."""

    id: str
    resident_id: str
    community_id: str
    path: tuple[str, ...]
    kind: PlacementKind
    centre_id: str | None
    status: PlacementStatus
    requested_on: date
    requested_at: datetime
    care_level: int
    vulnerable: bool
    birth_year: int
    position: int | None = None
    started_on: date | None = None
    ended_on: date | None = None
    end_reason: PlacementEndReason | None = None


def priority_key(placement: PlacementSnapshot) -> tuple[int, int, int, datetime, str]:
    """Sort key of a waiting list: care level (higher first), living alone or empty-nest
    first, older first (earlier birth year), earlier request first, then the id."""
    return (
        -placement.care_level,
        0 if placement.vulnerable else 1,
        placement.birth_year,
        placement.requested_at,
        placement.id,
    )


@dataclass(frozen=True)
class PlacementRequested:
    """A placement was requested (``position`` set when it waits)."""

    placement: PlacementSnapshot


@dataclass(frozen=True)
class PlacementStarted:
    """A placement started; ``previous_id`` is the one it replaced."""

    placement: PlacementSnapshot
    previous_id: str | None


@dataclass(frozen=True)
class PlacementEnded:
    """A placement ended or a waiting request was withdrawn."""

    placement: PlacementSnapshot


@dataclass(frozen=True)
class WaitingPositionChanged:
    """A waiting request moved on its list."""

    placement: PlacementSnapshot
    previous_position: int
    waiting_count: int


@dataclass
class Placement:
    """A placement request; records its domain events."""

    state: PlacementSnapshot
    events: list[Any] = field(default_factory=list)

    @classmethod
    def request(
        cls,
        *,
        resident_id: str,
        community_id: str,
        path: tuple[str, ...],
        kind: PlacementKind,
        centre: Centre | None,
        care_level: int,
        vulnerable: bool,
        birth_year: int,
        today: date,
        now: datetime,
    ) -> Placement:
        """A new request, waiting until :meth:`start` or :meth:`wait_at` says otherwise."""
        if kind == "home" and centre is not None:
            raise InvalidInput(
                "home care has no centre", errors=[FieldError("centre_id", "must be null")]
            )
        if kind != "home" and (centre is None or centre.kind != kind):
            raise InvalidInput(
                "placement needs a centre of its kind",
                errors=[FieldError("centre_id", f"must name a {kind} centre")],
            )
        return cls(
            PlacementSnapshot(
                id=str(uuid.uuid4()),
                resident_id=resident_id,
                community_id=community_id,
                path=path,
                kind=kind,
                centre_id=centre.id if centre else None,
                status="waiting",
                requested_on=today,
                requested_at=now,
                care_level=care_level,
                vulnerable=vulnerable,
                birth_year=birth_year,
            )
        )

    def announce(self) -> None:
        """Record the request (after its position, if any, is known)."""
        self.events.append(PlacementRequested(self.state))

    def start(self, *, today: date, previous_id: str | None) -> None:
        """Start the placement (it held no place before)."""
        if self.state.status != "waiting":
            raise Conflict(f"placement is {self.state.status}")
        self.state = replace(self.state, status="active", started_on=today, position=None)
        self.events.append(PlacementStarted(self.state, previous_id))

    def end(self, *, today: date, reason: PlacementEndReason) -> bool:
        """End an active placement or withdraw a waiting one; True when it held a place."""
        if self.state.status == "ended":
            raise Conflict(
                "placement already ended", errors=[FieldError("placement_id", "already ended")]
            )
        held_place = self.state.status == "active"
        self.state = replace(
            self.state, status="ended", ended_on=today, end_reason=reason, position=None
        )
        self.events.append(PlacementEnded(self.state))
        return held_place

    def wait_at(self, position: int, waiting_count: int) -> None:
        """Set the position on the waiting list (records a change of a known position)."""
        previous = self.state.position
        if previous == position:
            return
        self.state = replace(self.state, position=position)
        if previous is not None:
            self.events.append(WaitingPositionChanged(self.state, previous, waiting_count))


def rank(waiting: Sequence[Placement]) -> list[Placement]:
    """The waiting requests of one centre in priority order."""
    return sorted(waiting, key=lambda placement: priority_key(placement.state))


def settle(
    waiting: Sequence[Placement], *, free_places: int, today: date, previous: dict[str, str]
) -> list[Placement]:
    """Start the heads of a centre's list while places are free, renumber the rest; returns
    the placements that started. ``previous`` maps a resident to their active placement,
    which a start replaces (the caller ends it)."""
    ordered = rank(waiting)
    started = ordered[: max(free_places, 0)]
    for placement in started:
        placement.start(today=today, previous_id=previous.get(placement.state.resident_id))
    still = ordered[len(started) :]
    for position, placement in enumerate(still, start=1):
        placement.wait_at(position, len(still))
    return started
