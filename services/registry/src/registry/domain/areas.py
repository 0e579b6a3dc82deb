"""Administrative areas: city → district → street office → community, versioned in time.

Rules (docs/domain.md §1, "two levels of government and three levels of management"): a city has
no parent; every other area's parent is one level up. An area's path is the ids from the city
down to it, which is what authorisation (area claims) and statistics roll-ups use.

Areas change in time (Dongcheng merged 413 committees into 137): an area is valid from
``valid_from`` to ``valid_to`` inclusive (``valid_to`` null: still current). A change never
edits an area in place: a merge or split retires the old communities (their ``valid_to`` is the
day before the change takes effect) and creates new ones from that day, so every past
hierarchy can still be asked for. The functions here check those rules and say what to do;
they do no I/O. Every broken rule raises :class:`InvalidInput` naming the field as the
request names it (``parent_id``, ``into.id``, ``area_id``).

What happened is recorded as domain events (:class:`AreaCreated`, :class:`AreaRetired`,
:class:`AreasMerged`, :class:`AreaSplit`) that the plans here produce; the use case hands them
to its unit of work, and ``registry.adapters.areas`` maps them to integration events.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from registry.domain.dates import not_in_future
from registry.domain.hierarchy import DEFAULT_HIERARCHY, Hierarchy
from shared.contracts.registry import GRASSROOTS_LEVELS
from shared.contracts.registry import AreaLevel as AreaLevel
from shared.errors import Conflict, FieldError, InvalidInput

CommunityKind = Literal[
    "residential", "enterprise_workers", "urban_rural_fringe", "block", "work_unit", "geographic"
]
RetireReason = Literal["merged", "split", "abolished"]
AREA_ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$"
"""An area id: its administrative code (GB/T 2260 digits, or letters, ``_`` and ``-``)."""
MIN_MERGED = 2
"""A merge takes at least this many communities."""
MIN_SPLIT = 2
"""A split makes at least this many communities."""
SHOWN_UNASSIGNED = 5
"""How many unassigned households a split error lists by id."""


@dataclass(frozen=True)
class ParentArea:
    """What the rules need to know of a prospective parent."""

    id: str
    level: AreaLevel
    path: tuple[str, ...]
    valid_from: date = date.min
    valid_to: date | None = None


@dataclass(frozen=True)
class AreaVersion:
    """An existing area as the time rules see it (``kind`` and ``household_count`` are what a
    merged or split community passes on)."""

    id: str
    level: AreaLevel
    parent_id: str | None
    path: tuple[str, ...]
    valid_from: date
    valid_to: date | None
    kind: CommunityKind | None = None
    household_count: int | None = None

    @property
    def current(self) -> bool:
        """Whether the area has not been retired."""
        return self.valid_to is None

    def valid_on(self, day: date) -> bool:
        """Whether the area exists on ``day`` (``valid_from`` ≤ day ≤ ``valid_to``)."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def retired(
        self, *, valid_to: date, reason: RetireReason, successor_ids: Sequence[str]
    ) -> AreaRetired:
        """The event of this area's retirement: ``valid_to`` is its last day."""
        return AreaRetired(
            area_id=self.id,
            level=self.level,
            path=self.path,
            valid_to=valid_to,
            reason=reason,
            successor_ids=tuple(successor_ids),
        )


@dataclass(frozen=True)
class CommunityRef:
    """What the rules need to know of the community a record (a household, a facility, a
    worker …) is attached to."""

    id: str
    level: str
    path: tuple[str, ...]
    valid_from: date
    valid_to: date | None
    household_count: int | None = None

    def exists_on(self, day: date) -> bool:
        """Whether the community exists on ``day`` (``valid_from`` ≤ day ≤ ``valid_to``)."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def current(self, today: date) -> bool:
        """Whether the community has not been retired by ``today`` (``valid_to`` is the last
        day an area exists, so a community retiring later, or today, is still current)."""
        return self.valid_to is None or self.valid_to >= today


@dataclass(frozen=True)
class NewCommunity:
    """A community a merge or split creates; ``household_ids`` are what a split moves to it.
    Without ``kind`` or ``household_count`` it takes the old communities' (see the plans)."""

    id: str
    name: str
    kind: CommunityKind | None = None
    household_count: int | None = None
    household_ids: Sequence[str] = field(default_factory=tuple)


# -- domain events -------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaCreated:
    """Domain event: an area came into existence, registered or made by a merge or split
    (``predecessor_ids``)."""

    area_id: str
    level: AreaLevel
    name: str
    parent_id: str | None
    path: tuple[str, ...]
    valid_from: date
    kind: CommunityKind | None = None
    household_count: int | None = None
    predecessor_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AreaRetired:
    """Domain event: an area stopped existing after ``valid_to`` (its last day)."""

    area_id: str
    level: AreaLevel
    path: tuple[str, ...]
    valid_to: date
    reason: RetireReason
    successor_ids: tuple[str, ...]


@dataclass(frozen=True)
class AreasMerged:
    """Domain event: a merge is complete (recorded after the households' moves and the merged
    communities' retirement)."""

    merged_ids: tuple[str, ...]
    into_id: str
    path: tuple[str, ...]
    effective: date
    households_moved: int


@dataclass(frozen=True)
class AreaSplit:
    """Domain event: a split is complete (recorded after the households' moves and the split
    community's retirement)."""

    area_id: str
    into_ids: tuple[str, ...]
    effective: date
    households_moved: Mapping[str, int]


AreaEvent = AreaCreated | AreaRetired | AreasMerged | AreaSplit


# -- plans ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergePlan:
    """What a valid merge does: retire the ``merged`` communities on ``valid_to`` and create
    one community under ``parent_id`` from ``effective``."""

    merged: tuple[AreaVersion, ...]
    parent_id: str
    effective: date

    @property
    def merged_ids(self) -> tuple[str, ...]:
        """Ids of the merged communities, in the order given."""
        return tuple(area.id for area in self.merged)

    @property
    def valid_to(self) -> date:
        """Last day of the merged communities."""
        return self.effective - timedelta(days=1)

    def created(self, into: NewCommunity, *, parent_path: Sequence[str]) -> AreaCreated:
        """The new community: by default of the merged ones' common kind, with the sum of
        their registered household figures."""
        return AreaCreated(
            area_id=into.id,
            level=self.merged[0].level,
            name=into.name,
            parent_id=self.parent_id,
            path=(*parent_path, into.id),
            valid_from=self.effective,
            kind=into.kind or inherited_kind([area.kind for area in self.merged]),
            household_count=(
                into.household_count
                if into.household_count is not None
                else merged_household_count([area.household_count for area in self.merged])
            ),
            predecessor_ids=self.merged_ids,
        )

    def retired(self, into_id: str) -> list[AreaRetired]:
        """The merged communities' retirements, in the order given."""
        return [
            area.retired(valid_to=self.valid_to, reason="merged", successor_ids=[into_id])
            for area in self.merged
        ]

    def done(self, into: AreaCreated, *, households_moved: int) -> AreasMerged:
        """The event that closes the merge."""
        return AreasMerged(
            merged_ids=self.merged_ids,
            into_id=into.area_id,
            path=into.path,
            effective=self.effective,
            households_moved=households_moved,
        )


@dataclass(frozen=True)
class SplitPlan:
    """What a valid split does: retire ``area`` and create ``into_ids`` under ``parent_id``
    from ``effective``, moving ``assignment[new_id]`` households to each."""

    area: AreaVersion
    parent_id: str
    into_ids: tuple[str, ...]
    assignment: Mapping[str, tuple[str, ...]]
    effective: date

    @property
    def area_id(self) -> str:
        """The split community."""
        return self.area.id

    @property
    def valid_to(self) -> date:
        """Last day of the split community."""
        return self.effective - timedelta(days=1)

    def created(
        self, into: Sequence[NewCommunity], *, parent_path: Sequence[str]
    ) -> list[AreaCreated]:
        """The new communities: by default of the split one's kind, each with the number of
        households it takes as its registered figure."""
        return [
            AreaCreated(
                area_id=new.id,
                level=self.area.level,
                name=new.name,
                parent_id=self.parent_id,
                path=(*parent_path, new.id),
                valid_from=self.effective,
                kind=new.kind or self.area.kind,
                household_count=(
                    new.household_count
                    if new.household_count is not None
                    else len(self.assignment[new.id])
                ),
                predecessor_ids=(self.area.id,),
            )
            for new in into
        ]

    def retired(self) -> AreaRetired:
        """The split community's retirement."""
        return self.area.retired(
            valid_to=self.valid_to, reason="split", successor_ids=self.into_ids
        )

    def done(self, *, households_moved: Mapping[str, int]) -> AreaSplit:
        """The event that closes the split."""
        return AreaSplit(
            area_id=self.area.id,
            into_ids=self.into_ids,
            effective=self.effective,
            households_moved=dict(households_moved),
        )


# -- rules ---------------------------------------------------------------------------------


def register_area(
    *,
    area_id: str,
    level: AreaLevel,
    name: str,
    parent: ParentArea | None,
    parent_id: str | None,
    valid_from: date,
    kind: CommunityKind | None = None,
    household_count: int | None = None,
    hierarchy: Hierarchy = DEFAULT_HIERARCHY,
) -> AreaCreated:
    """A new area under its current parent (see :func:`path_for_new_area`)."""
    path = path_for_new_area(
        area_id=area_id,
        level=level,
        parent=parent,
        parent_id=parent_id,
        valid_from=valid_from,
        hierarchy=hierarchy,
    )
    return AreaCreated(
        area_id=area_id,
        level=level,
        name=name,
        parent_id=parent_id,
        path=path,
        valid_from=valid_from,
        kind=kind,
        household_count=household_count,
    )


def path_for_new_area(
    *,
    area_id: str,
    level: AreaLevel,
    parent: ParentArea | None,
    parent_id: str | None,
    valid_from: date | None = None,
    hierarchy: Hierarchy = DEFAULT_HIERARCHY,
) -> tuple[str, ...]:
    """The new area's path; raises :class:`InvalidInput` naming the field that breaks a rule.

    The level must be one of ``hierarchy``'s, under a parent of a level that may hold it (a
    top level has no parent). With ``valid_from``, the parent must also be current and exist
    on that day.
    """
    parent_levels = hierarchy.parent_levels(level)
    expected_parent_level = " or ".join(parent_levels)
    if not parent_levels:
        if parent_id is not None:
            raise InvalidInput(
                f"a {level} has no parent area",
                errors=[FieldError("parent_id", f"must be null for a {level}")],
            )
        return (area_id,)
    if parent_id is None:
        raise InvalidInput(
            f"a {level} needs a parent {expected_parent_level}",
            errors=[FieldError("parent_id", f"required for a {level}", "missing")],
        )
    if parent is None:
        raise InvalidInput(
            f"parent area {parent_id} does not exist",
            errors=[FieldError("parent_id", "no such area", "not_found")],
        )
    if parent.level not in parent_levels:
        raise InvalidInput(
            f"the parent of a {level} must be a {expected_parent_level}, not a {parent.level}",
            errors=[FieldError("parent_id", f"must be a {expected_parent_level}", "level")],
        )
    if parent.valid_to is not None:
        raise InvalidInput(
            f"parent area {parent_id} was retired on {parent.valid_to}",
            errors=[FieldError("parent_id", f"retired after {parent.valid_to}", "retired")],
        )
    if valid_from is not None and valid_from < parent.valid_from:
        raise InvalidInput(
            f"parent area {parent_id} only exists from {parent.valid_from}",
            errors=[FieldError("valid_from", f"before the parent began ({parent.valid_from})")],
        )
    return (*parent.path, area_id)


def ensure_new(area_id: str, exists: bool) -> None:
    """Refuse a second area with the same id."""
    if exists:
        raise Conflict(f"area {area_id} already exists")


def require_current_community(
    community: CommunityRef | None,
    *,
    community_id: str,
    today: date,
    field_name: str = "community_id",
) -> CommunityRef:
    """The community a new record is attached to: it must exist, be a community (not a
    street or district) and be current."""
    if community is None:
        raise InvalidInput(
            f"community {community_id} does not exist",
            errors=[FieldError(field_name, "no such area", "not_found")],
        )
    if community.level not in GRASSROOTS_LEVELS:
        raise InvalidInput(
            f"area {community_id} is a {community.level}, not a community",
            errors=[FieldError(field_name, "must be a community", "level")],
        )
    if not community.current(today):
        raise InvalidInput(
            f"community {community_id} was retired on {community.valid_to}",
            errors=[FieldError(field_name, f"retired after {community.valid_to}", "retired")],
        )
    return community


def _in_effect(effective: date, today: date) -> None:
    not_in_future(
        effective,
        today=today,
        field="effective",
        detail="a change to the hierarchy is recorded once it has taken effect",
    )


def _after_start(area: AreaVersion, effective: date, field: str) -> None:
    if effective <= area.valid_from:
        raise InvalidInput(
            f"the change must take effect after area {area.id} began on {area.valid_from}",
            errors=[FieldError(field, f"must be after {area.valid_from} (start of {area.id})")],
        )


def _current_community(area: AreaVersion, field: str) -> None:
    if area.level not in GRASSROOTS_LEVELS:
        raise InvalidInput(
            f"area {area.id} is a {area.level}; only communities are merged and split",
            errors=[FieldError(field, "must be a community", "level")],
        )
    if not area.current:
        raise InvalidInput(
            f"area {area.id} was retired on {area.valid_to}",
            errors=[FieldError(field, f"retired after {area.valid_to}", "retired")],
        )


def plan_merge(
    *,
    area_ids: Sequence[str],
    found: Mapping[str, AreaVersion],
    into_id: str,
    effective: date,
    today: date,
) -> MergePlan:
    """Check a merge of the communities ``area_ids`` (those that exist are in ``found``) into a
    new community ``into_id`` from ``effective``.

    The merged areas must be two or more distinct, current communities of one street, each
    begun before ``effective``, which is not after ``today``; the new id must be new.
    """
    if len(area_ids) < MIN_MERGED:
        raise InvalidInput(
            f"a merge needs at least {MIN_MERGED} communities",
            errors=[FieldError("area_ids", f"at least {MIN_MERGED} communities", "too_few")],
        )
    seen: set[str] = set()
    parent_id: str | None = None
    merged: list[AreaVersion] = []
    for index, area_id in enumerate(area_ids):
        field = f"area_ids.{index}"
        if area_id in seen:
            raise InvalidInput(
                f"area {area_id} is listed twice",
                errors=[FieldError(field, "listed twice", "duplicate")],
            )
        seen.add(area_id)
        area = found.get(area_id)
        if area is None:
            raise InvalidInput(
                f"area {area_id} does not exist",
                errors=[FieldError(field, "no such area", "not_found")],
            )
        _current_community(area, field)
        if parent_id is None:
            parent_id = area.parent_id
        elif area.parent_id != parent_id:
            raise InvalidInput(
                f"area {area_id} is under {area.parent_id}, not {parent_id}; only communities "
                "of one street are merged",
                errors=[FieldError(field, f"not under street {parent_id}", "parent")],
            )
        _after_start(area, effective, "effective")
        merged.append(area)
    _in_effect(effective, today)
    if into_id in seen:
        raise InvalidInput(
            "the merged community needs a new id",
            errors=[FieldError("into.id", "is one of the merged areas", "duplicate")],
        )
    assert parent_id is not None  # a community always has a parent
    return MergePlan(merged=tuple(merged), parent_id=parent_id, effective=effective)


def plan_split(
    *,
    area: AreaVersion,
    into: Sequence[tuple[str, Sequence[str]]],
    households: Collection[str],
    effective: date,
    today: date,
) -> SplitPlan:
    """Check a split of community ``area`` into the new communities ``into`` (pairs of new id
    and the ids of the households it takes) from ``effective``.

    ``households`` are the ids of every household of ``area``: each must go to exactly one new
    community, and nothing else may be assigned. ``effective`` must be after the area began
    and not after ``today``.
    """
    _current_community(area, "area_id")
    if len(into) < MIN_SPLIT:
        raise InvalidInput(
            f"a split makes at least {MIN_SPLIT} communities",
            errors=[FieldError("areas", f"at least {MIN_SPLIT} new communities", "too_few")],
        )
    _after_start(area, effective, "effective")
    _in_effect(effective, today)
    new_ids: set[str] = set()
    owner: dict[str, str] = {}
    for index, (new_id, household_ids) in enumerate(into):
        if new_id in new_ids or new_id == area.id:
            raise InvalidInput(
                f"new community id {new_id} is used twice",
                errors=[FieldError(f"areas.{index}.id", "not a new id", "duplicate")],
            )
        new_ids.add(new_id)
        for position, household_id in enumerate(household_ids):
            field = f"areas.{index}.household_ids.{position}"
            if household_id in owner:
                raise InvalidInput(
                    f"household {household_id} is assigned twice",
                    errors=[FieldError(field, f"already assigned to {owner[household_id]}")],
                )
            if household_id not in households:
                raise InvalidInput(
                    f"household {household_id} is not in community {area.id}",
                    errors=[FieldError(field, f"not a household of {area.id}", "not_found")],
                )
            owner[household_id] = new_id
    unassigned = sorted(set(households) - owner.keys())
    if unassigned:
        shown = ", ".join(unassigned[:SHOWN_UNASSIGNED])
        more = f" and {len(unassigned) - SHOWN_UNASSIGNED} more" if len(unassigned) > 5 else ""
        raise InvalidInput(
            f"{len(unassigned)} households of {area.id} are not assigned to a new community",
            errors=[FieldError("areas", f"households not assigned: {shown}{more}")],
        )
    assert area.parent_id is not None  # a community always has a parent
    return SplitPlan(
        area=area,
        parent_id=area.parent_id,
        into_ids=tuple(new_id for new_id, _ in into),
        assignment={new_id: tuple(ids) for new_id, ids in into},
        effective=effective,
    )


def check_retire(
    *, area: AreaVersion, effective: date, current_children: int, households: int, today: date
) -> AreaRetired:
    """Check abolishing ``area`` from ``effective``: the event of its retirement (its last
    day is the day before).

    Only a current area without current sub-areas (retire or merge them first) and, for a
    community, without households (merge it instead) can be abolished, from a day after it
    began and not after ``today``.
    """
    if not area.current:
        raise InvalidInput(
            f"area {area.id} was retired on {area.valid_to}",
            errors=[FieldError("area_id", f"retired after {area.valid_to}", "retired")],
        )
    if current_children:
        raise InvalidInput(
            f"area {area.id} has {current_children} current sub-areas; retire them first",
            errors=[FieldError("area_id", f"has {current_children} current sub-areas", "children")],
        )
    if households:
        raise InvalidInput(
            f"community {area.id} has {households} households; merge it instead",
            errors=[FieldError("area_id", f"has {households} households", "households")],
        )
    _after_start(area, effective, "effective")
    _in_effect(effective, today)
    return area.retired(
        valid_to=effective - timedelta(days=1), reason="abolished", successor_ids=()
    )


def after_last_change(
    effective: date, last_change: date | None, *, area_ids: Sequence[str]
) -> None:
    """A change to the hierarchy takes effect no earlier than the last recorded change of the
    areas it touches (a sub-area retired, a household registered or moved, a facility opened
    or closed): a backdated merge, split or retirement would rewrite what is recorded."""
    if last_change is not None and effective < last_change:
        raise InvalidInput(
            f"{', '.join(area_ids)} changed on {last_change}; the change cannot take effect "
            "before that",
            errors=[
                FieldError("effective", f"must not be before {last_change} (last change)", "order")
            ],
        )


def merged_household_count(counts: Sequence[int | None]) -> int | None:
    """The registered household figure of a merged community: the sum of the merged ones'
    (None when none of them had one)."""
    known = [count for count in counts if count is not None]
    return sum(known) if known else None


def inherited_kind(kinds: Sequence[CommunityKind | None]) -> CommunityKind | None:
    """The kind a merged community inherits: the merged ones' kind if they all share one."""
    distinct = set(kinds)
    return distinct.pop() if len(distinct) == 1 else None
