"""Request and response bodies of the registry's area API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from registry.adapters.tables import AreaRow
from registry.area_service import MergeResult, NewCommunity, SplitResult
from registry.domain.areas import AreaLevel, CommunityKind, RetireReason

AREA_ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$"
MAX_MERGED = 1000
"""Communities one merge may take (Dongcheng merged 413 into 137, at most a few each)."""
MAX_SPLIT = 100
"""Communities one split may make."""
MAX_SPLIT_HOUSEHOLDS = 100_000
"""Households one new community of a split may take."""


class AreaIn(BaseModel):
    """An area to register."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN, description="Administrative code, unique.")
    level: AreaLevel = Field(description="Level in the hierarchy.")
    name: str = Field(min_length=1, max_length=200, description="Official name.")
    parent_id: str | None = Field(default=None, description="Enclosing area; null for a city.")
    kind: CommunityKind | None = Field(default=None, description="Kind of a community.")
    household_count: int | None = Field(
        default=None, ge=0, le=100_000, description="Households (communities)."
    )
    valid_from: date = Field(description="First day the area exists in this form.")


class NewCommunityIn(BaseModel):
    """A community a merge creates."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN, description="Administrative code, new.")
    name: str = Field(min_length=1, max_length=200, description="Official name.")
    kind: CommunityKind | None = Field(
        default=None, description="Kind; by default the merged communities' common kind."
    )
    household_count: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Registered household figure; by default the sum of the merged ones'.",
    )

    def to_domain(self) -> NewCommunity:
        """The use case's view."""
        return NewCommunity(
            id=self.id, name=self.name, kind=self.kind, household_count=self.household_count
        )


class SplitCommunityIn(BaseModel):
    """A community a split creates, with the households it takes."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN, description="Administrative code, new.")
    name: str = Field(min_length=1, max_length=200, description="Official name.")
    kind: CommunityKind | None = Field(
        default=None, description="Kind; by default the split community's kind."
    )
    household_count: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Registered household figure; by default the number of households taken.",
    )
    household_ids: list[str] = Field(
        max_length=MAX_SPLIT_HOUSEHOLDS,
        description="Households of the split community that move to this one; every household "
        "must be listed in exactly one new community.",
    )

    def to_domain(self) -> NewCommunity:
        """The use case's view."""
        return NewCommunity(
            id=self.id,
            name=self.name,
            kind=self.kind,
            household_count=self.household_count,
            household_ids=tuple(self.household_ids),
        )


class MergeIn(BaseModel):
    """Communities of one street to merge into a new one."""

    model_config = ConfigDict(extra="forbid")

    area_ids: list[str] = Field(
        max_length=MAX_MERGED, description="The current communities to merge (two or more)."
    )
    into: NewCommunityIn = Field(description="The community they become.")
    effective: date = Field(
        description="First day of the merged community; the old ones end the day before."
    )


class SplitIn(BaseModel):
    """New communities to split a community into."""

    model_config = ConfigDict(extra="forbid")

    areas: list[SplitCommunityIn] = Field(
        max_length=MAX_SPLIT, description="The communities it becomes (two or more)."
    )
    effective: date = Field(
        description="First day of the new communities; the old one ends the day before."
    )


class RetireIn(BaseModel):
    """When an area is abolished."""

    model_config = ConfigDict(extra="forbid")

    effective: date = Field(description="First day without the area; it ends the day before.")


class AreaOut(BaseModel):
    """An area as the API shows it, with its validity in time."""

    id: str
    level: AreaLevel
    name: str
    parent_id: str | None
    path: list[str] = Field(description="Ids from the city down to this area.")
    kind: CommunityKind | None
    household_count: int | None
    valid_from: date = Field(description="First day the area exists in this form.")
    valid_to: date | None = Field(description="Last day it existed; null while current.")
    current: bool = Field(description="Whether the area has not been retired.")
    retired_reason: RetireReason | None = Field(description="Why it was retired, if it was.")
    predecessor_ids: list[str] = Field(description="Areas a merge or split made this one from.")
    successor_ids: list[str] = Field(description="Areas that took over its territory.")

    @classmethod
    def of(cls, row: AreaRow) -> AreaOut:
        """The API view of a stored area."""
        return cls.model_validate(
            {
                "id": row.id,
                "level": row.level,
                "name": row.name,
                "parent_id": row.parent_id,
                "path": row.path_ids,
                "kind": row.kind,
                "household_count": row.household_count,
                "valid_from": row.valid_from,
                "valid_to": row.valid_to,
                "current": row.valid_to is None,
                "retired_reason": row.retired_reason,
                "predecessor_ids": row.predecessors,
                "successor_ids": row.successors,
            }
        )


class AreaPage(BaseModel):
    """One page of areas; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[AreaOut]
    next_cursor: str | None = Field(description="Null on the last page.")


class AreaCount(BaseModel):
    """How many areas match."""

    count: int = Field(description="Number of areas matching the filters.")


class MergeOut(BaseModel):
    """The result of a merge."""

    into: AreaOut = Field(description="The new community.")
    retired: list[AreaOut] = Field(description="The merged communities, now retired.")
    households_moved: int = Field(description="Households moved into the new community.")

    @classmethod
    def of(cls, result: MergeResult) -> MergeOut:
        """The API view of a merge."""
        return cls(
            into=AreaOut.of(result.into),
            retired=[AreaOut.of(row) for row in result.retired],
            households_moved=result.households_moved,
        )


class SplitOut(BaseModel):
    """The result of a split."""

    retired: AreaOut = Field(description="The split community, now retired.")
    into: list[AreaOut] = Field(description="The new communities.")
    households_moved: dict[str, int] = Field(description="New area id → households moved there.")

    @classmethod
    def of(cls, result: SplitResult) -> SplitOut:
        """The API view of a split."""
        return cls(
            retired=AreaOut.of(result.retired),
            into=[AreaOut.of(row) for row in result.into],
            households_moved=result.households_moved,
        )
