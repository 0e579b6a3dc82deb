"""Community facilities and the floor-area standards they are measured against.

The facilities standard of Jincheng's plan (docs/domain.md §1, seed 002) is "five rooms, three
stations, one place": the committee and party office, the police room, the party-member
activity room, the youth activity room and the elderly activity room; the labour and social
security, the health and family planning, and the community service stations; and a place for
cultural and sports activities. A facility is registered with its floor area in m² per room
purpose; the plan's two floor-area rules are computed from those rooms:

1. office and public service rooms of at least 300 m² in 80 % of urban communities within three
   years (:data:`OFFICE_AND_PUBLIC_SERVICE_PURPOSES`, :func:`communities_meeting_area`);
2. supporting service rooms of 25 m² per 150 households in the two cities, 20 m² per 100
   households in the counties, at least 100 m² per community elsewhere
   (:data:`SERVICE_ROOM_PURPOSES`, :class:`ServiceAreaNorm`, :func:`assess_service_area`).

Only open facilities count: a facility is open from ``opened_on`` until the day before
``closed_on`` (the closing date is the first day it is closed). Floor areas are kept to the
hundredth of a square metre so that sums compare exactly with a threshold.

Everything here is pure; the entity records domain events that the adapters map to the
``facility.opened/updated/closed`` integration events.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from registry.domain.areas import CommunityRef
from registry.domain.community import share
from registry.domain.dates import not_before, not_in_future
from shared.contracts.registry import FacilityKind, RoomPurpose
from shared.errors import Conflict, FieldError, InvalidInput

MAX_ROOM_AREA_M2 = 100_000.0
"""Exclusive upper bound of one room purpose's floor area; anything larger is a typing error."""

OFFICE_AND_PUBLIC_SERVICE_PURPOSES: frozenset[RoomPurpose] = frozenset(
    {
        "office",
        "public_service",
        "party_activity",
        "youth_activity",
        "elderly_activity",
        "labour_security",
        "health_family_planning",
        "community_service",
        "police",
    }
)
"""Room purposes that count as "office and public service rooms" (办公和公益性服务用房) for
the ≥ 300 m² rule.

They are the committee's office plus the rooms of the "five rooms, three stations" standard
the same plan defines: the committee and party office (``office``), the police room
(``police``), the party-member, youth and elderly activity rooms (``party_activity``,
``youth_activity``, ``elderly_activity``), the labour and social security, health and family
planning, and community service stations (``labour_security``, ``health_family_planning``,
``community_service``), and general public service rooms such as the acceptance window
(``public_service``). The "one place" for culture and sports is usually outdoors and measured
separately (the plan's "> 90 % have a cultural and sports place" target), and libraries and
``other`` rooms are not part of the standard, so ``library``, ``culture_sports`` and ``other``
do not count.
"""

SERVICE_ROOM_PURPOSES: frozenset[RoomPurpose] = frozenset(
    (OFFICE_AND_PUBLIC_SERVICE_PURPOSES - {"office"}) | {"library", "culture_sports"}
)
"""Room purposes that count as "supporting service rooms" (配套服务用房) for the
m²-per-households rule.

Service rooms are where residents are served: every public service room of the standard, plus
the community library and indoor culture and sports rooms, which the same plan also counts as
community services (it sets targets for community libraries and cultural and sports
places). The committee's own ``office`` is workspace, not service space, and ``other`` is
unclassified, so neither counts.
"""

DEFAULT_THRESHOLD_M2 = 300.0
"""Office and public service rooms a community should have (Jincheng plan)."""

AREA_SHARE_TARGET = 0.8
"""Share of communities that should meet either floor-area rule (Jincheng plan)."""


def area_m2(value: float) -> float:
    """A floor area kept to the hundredth of a square metre."""
    return round(value, 2)


# -- the facility --------------------------------------------------------------------------


@dataclass(frozen=True)
class FacilitySnapshot:
    """The state of a facility; ``rooms`` are (purpose, m²) pairs in purpose order."""

    id: str
    community_id: str
    path: tuple[str, ...]
    kind: FacilityKind
    rooms: tuple[tuple[RoomPurpose, float], ...]
    opened_on: date
    closed_on: date | None
    version: int

    @property
    def total_area_m2(self) -> float:
        """Sum of the rooms' floor areas."""
        return total_m2(area for _, area in self.rooms)

    def open_on(self, day: date) -> bool:
        """Whether the facility is open on ``day``."""
        return open_on(self.opened_on, self.closed_on, day)


@dataclass(frozen=True)
class FacilityOpened:
    """Domain event: a facility was registered as open."""

    facility: FacilitySnapshot


@dataclass(frozen=True)
class FacilityUpdated:
    """Domain event: a facility's kind or rooms changed."""

    facility: FacilitySnapshot


@dataclass(frozen=True)
class FacilityClosed:
    """Domain event: a facility closed (``facility.closed_on`` is set)."""

    facility: FacilitySnapshot


FacilityEvent = FacilityOpened | FacilityUpdated | FacilityClosed


def open_on(opened_on: date, closed_on: date | None, day: date) -> bool:
    """Whether a facility opened on ``opened_on`` and closed on ``closed_on`` (the first day
    it is closed) is open on ``day``."""
    return opened_on <= day and (closed_on is None or day < closed_on)


def total_m2(areas: Iterable[float]) -> float:
    """Exact sum of floor areas, to the hundredth of a square metre."""
    return area_m2(math.fsum(areas))


def validate_rooms(
    rooms: Sequence[tuple[RoomPurpose, float]], *, field_name: str = "rooms"
) -> tuple[tuple[RoomPurpose, float], ...]:
    """Rooms as (purpose, m²) pairs in purpose order: each area is more than 0 and less than
    100,000 m² (rounded to the hundredth), and no purpose is listed twice."""
    seen: dict[RoomPurpose, int] = {}
    checked: list[tuple[RoomPurpose, float]] = []
    for index, (purpose, area) in enumerate(rooms):
        if purpose in seen:
            raise InvalidInput(
                f"room purpose {purpose} is listed twice (rooms {seen[purpose]} and {index}); "
                "give the total floor area of each purpose once",
                errors=[FieldError(f"{field_name}.{index}.purpose", "listed twice", "duplicate")],
            )
        seen[purpose] = index
        rounded = area_m2(area) if math.isfinite(area) else area
        if not (math.isfinite(rounded) and 0 < rounded < MAX_ROOM_AREA_M2):
            raise InvalidInput(
                f"the floor area of {purpose} rooms must be more than 0 and less than "
                f"{MAX_ROOM_AREA_M2:,.0f} m²",
                errors=[
                    FieldError(
                        f"{field_name}.{index}.area_m2",
                        f"must be > 0 and < {MAX_ROOM_AREA_M2:.0f}",
                        "range",
                    )
                ],
            )
        checked.append((purpose, rounded))
    return tuple(sorted(checked))


@dataclass
class Facility:
    """A community facility; commands check their rules and record events in ``events``."""

    state: FacilitySnapshot
    events: list[FacilityEvent] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        *,
        facility_id: str,
        community: CommunityRef,
        kind: FacilityKind,
        rooms: Sequence[tuple[RoomPurpose, float]],
        opened_on: date,
        today: date,
    ) -> Facility:
        """Register a facility of a (current) community as open since ``opened_on``, which is
        not in the future."""
        not_in_future(opened_on, today=today, field="opened_on")
        not_before(
            opened_on, community.valid_from, field="opened_on", what="the community's creation"
        )
        state = FacilitySnapshot(
            id=facility_id,
            community_id=community.id,
            path=community.path,
            kind=kind,
            rooms=validate_rooms(rooms),
            opened_on=opened_on,
            closed_on=None,
            version=1,
        )
        facility = cls(state)
        facility.events.append(FacilityOpened(state))
        return facility

    def update(
        self,
        *,
        kind: FacilityKind | None = None,
        rooms: Sequence[tuple[RoomPurpose, float]] | None = None,
    ) -> bool:
        """Change the kind and/or replace the rooms; whether anything changed (an unchanged
        facility keeps its version and records nothing). A closed facility is not updated."""
        if kind is None and rooms is None:
            raise InvalidInput(
                "nothing to update: give kind, rooms or both",
                errors=[FieldError("body", "give kind, rooms or both", "empty")],
            )
        self._ensure_open("updated")
        new_rooms = self.state.rooms if rooms is None else validate_rooms(rooms)
        new_kind = self.state.kind if kind is None else kind
        if new_kind == self.state.kind and new_rooms == self.state.rooms:
            return False
        self.state = replace(
            self.state, kind=new_kind, rooms=new_rooms, version=self.state.version + 1
        )
        self.events.append(FacilityUpdated(self.state))
        return True

    def close(self, *, closed_on: date, today: date) -> None:
        """Close the facility on ``closed_on`` (not before it opened, not in the future)."""
        self._ensure_open("closed")
        not_in_future(closed_on, today=today, field="closed_on")
        not_before(closed_on, self.state.opened_on, field="closed_on", what="the opening")
        self.state = replace(self.state, closed_on=closed_on, version=self.state.version + 1)
        self.events.append(FacilityClosed(self.state))

    def _ensure_open(self, action: str) -> None:
        if self.state.closed_on is not None:
            raise Conflict(
                f"facility {self.state.id} closed on {self.state.closed_on} and cannot be {action}"
            )


# -- rule 1: office and public service rooms ≥ 300 m² ----------------------------------------


def office_and_public_service_m2(rooms: Iterable[tuple[str, float]]) -> float:
    """Floor area of the office and public service rooms among (purpose, m²) pairs."""
    return total_m2(
        area for purpose, area in rooms if purpose in OFFICE_AND_PUBLIC_SERVICE_PURPOSES
    )


def service_room_m2(rooms: Iterable[tuple[str, float]]) -> float:
    """Floor area of the supporting service rooms among (purpose, m²) pairs."""
    return total_m2(area for purpose, area in rooms if purpose in SERVICE_ROOM_PURPOSES)


@dataclass(frozen=True)
class AreaShare:
    """Which communities meet a floor-area threshold, of how many."""

    threshold_m2: float
    communities: tuple[str, ...]
    total: int

    @property
    def meeting(self) -> int:
        """How many communities meet the threshold."""
        return len(self.communities)

    @property
    def share(self) -> float | None:
        """``meeting / total`` (None without communities)."""
        return share(self.meeting, self.total)


def communities_meeting_area(
    area_by_community: Mapping[str, float], *, threshold_m2: float = DEFAULT_THRESHOLD_M2
) -> AreaShare:
    """The communities (all current ones are keys, with 0 when they have no rooms) whose office
    and public service floor area is at least ``threshold_m2``, in id order."""
    meeting = tuple(
        sorted(
            community_id
            for community_id, area in area_by_community.items()
            if area_m2(area) >= area_m2(threshold_m2)
        )
    )
    return AreaShare(threshold_m2=threshold_m2, communities=meeting, total=len(area_by_community))


# -- rule 2: supporting service rooms per households -----------------------------------------


@dataclass(frozen=True)
class ServiceAreaNorm:
    """Service floor area a community needs: ``m2`` per ``per_households`` households, and at
    least ``minimum_m2``. The plan's three norms are :data:`CITY_NORM`, :data:`COUNTY_NORM` and
    :data:`ELSEWHERE_NORM`."""

    m2: float = 25.0
    per_households: int = 150
    minimum_m2: float = 0.0

    def required_m2(self, households: int) -> float:
        """The service floor area ``households`` households need."""
        return area_m2(max(self.m2 * households / self.per_households, self.minimum_m2))


CITY_NORM = ServiceAreaNorm(m2=25.0, per_households=150)
"""25 m² per 150 households: communities of the two cities (the default)."""
COUNTY_NORM = ServiceAreaNorm(m2=20.0, per_households=100)
"""20 m² per 100 households: communities in the counties."""
ELSEWHERE_NORM = ServiceAreaNorm(m2=0.0, per_households=150, minimum_m2=100.0)
"""At least 100 m² per community elsewhere."""


@dataclass(frozen=True)
class ServiceAreaFinding:
    """One community measured against a service-area norm.

    ``m2_per_households`` is the service area per ``norm.per_households`` households (m² per
    150 households by default); it and ``required_m2``/``meets_standard`` are None when the
    community's household count is unknown, and the ratio is None for no households.
    """

    community_id: str
    service_area_m2: float
    households: int | None
    m2_per_households: float | None
    required_m2: float | None
    meets_standard: bool | None


def assess_service_area(
    *,
    community_id: str,
    service_area_m2: float,
    households: int | None,
    norm: ServiceAreaNorm = CITY_NORM,
) -> ServiceAreaFinding:
    """Measure one community's service floor area against ``norm``."""
    area = area_m2(service_area_m2)
    if households is None:
        return ServiceAreaFinding(community_id, area, None, None, None, None)
    ratio = area_m2(area * norm.per_households / households) if households else None
    required = norm.required_m2(households)
    return ServiceAreaFinding(community_id, area, households, ratio, required, area >= required)


@dataclass(frozen=True)
class ServiceAreaReport:
    """Every community measured against one norm, and the share meeting it among those with
    a known household count (Jincheng target: 80 % by 2007)."""

    norm: ServiceAreaNorm
    findings: tuple[ServiceAreaFinding, ...]

    @property
    def assessed(self) -> int:
        """Communities with a known household count."""
        return sum(1 for f in self.findings if f.meets_standard is not None)

    @property
    def meeting(self) -> int:
        """Communities meeting the norm."""
        return sum(1 for f in self.findings if f.meets_standard)

    @property
    def share(self) -> float | None:
        """``meeting / assessed`` (None when no community could be assessed)."""
        return share(self.meeting, self.assessed)


def service_area_report(
    communities: Iterable[tuple[str, float, int | None]], *, norm: ServiceAreaNorm = CITY_NORM
) -> ServiceAreaReport:
    """Assess (community id, service m², households) triples, in community id order."""
    findings = tuple(
        assess_service_area(
            community_id=community_id, service_area_m2=area, households=households, norm=norm
        )
        for community_id, area, households in sorted(communities, key=lambda c: c[0])
    )
    return ServiceAreaReport(norm=norm, findings=findings)
