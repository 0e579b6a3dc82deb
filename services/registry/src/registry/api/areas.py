"""Routes for areas, with their request and response bodies: thin, each parses, calls one
use case, and maps the result.

Writes run through the command runner (:data:`registry.api.deps.WriteCommand`): one
transaction, an ``Idempotency-Key`` (the first response is replayed for a retry), the events in
the outbox. Reads accept ``as_of`` to answer on the hierarchy of a past (or future) day. A
token confined to an area sees and changes only its subtree: anything else is 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from registry import area_service
from registry.adapters.areas import AreaRow, linked_ids
from registry.adapters.paths import path_ids
from registry.api.bodies import Body, Day
from registry.api.deps import HierarchyDep, Reader, RegistryRead, WriteCommand, after_id
from registry.domain.areas import (
    AREA_ID_PATTERN,
    AreaLevel,
    CommunityKind,
    NewCommunity,
    RetireReason,
)
from shared.inputs import Text
from shared.query import PageQuery, QueryModel, query_parameters
from shared.reads import ReadConnectionDep, ReadRow, json_response, values_of

router = APIRouter(prefix="/areas", tags=["areas"])

# -- bodies --------------------------------------------------------------------------------

MAX_MERGED = 1000
"""Communities one merge may take (Dongcheng merged 413 into 137, at most a few each)."""
MAX_SPLIT = 100
"""Communities one split may make."""
MAX_SPLIT_HOUSEHOLDS = 100_000
"""Households one new community of a split may take."""


class AreaIn(Body):
    """An area to register."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN, description="Administrative code, unique.")
    level: AreaLevel = Field(description="Level in the hierarchy.")
    name: Text = Field(min_length=1, max_length=200, description="Official name.")
    parent_id: Text | None = Field(default=None, description="Enclosing area; null for a city.")
    kind: CommunityKind | None = Field(default=None, description="Kind of a community.")
    household_count: StrictInt | None = Field(
        default=None, ge=0, le=100_000, description="Households (communities)."
    )
    valid_from: date = Field(description="First day the area exists in this form.")


class NewCommunityIn(Body):
    """A community a merge creates."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN, description="Administrative code, new.")
    name: Text = Field(min_length=1, max_length=200, description="Official name.")
    kind: CommunityKind | None = Field(
        default=None, description="Kind; by default the merged communities' common kind."
    )
    household_count: StrictInt | None = Field(
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


class SplitCommunityIn(Body):
    """A community a split creates, with the households it takes."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN, description="Administrative code, new.")
    name: Text = Field(min_length=1, max_length=200, description="Official name.")
    kind: CommunityKind | None = Field(
        default=None, description="Kind; by default the split community's kind."
    )
    household_count: StrictInt | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Registered household figure; by default the number of households taken.",
    )
    household_ids: list[Text] = Field(
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


class MergeIn(Body):
    """Communities of one street to merge into a new one."""

    model_config = ConfigDict(extra="forbid")

    area_ids: list[Text] = Field(
        max_length=MAX_MERGED, description="The current communities to merge (two or more)."
    )
    into: NewCommunityIn = Field(description="The community they become.")
    effective: date = Field(
        description="First day of the merged community; the old ones end the day before."
    )


class SplitIn(Body):
    """New communities to split a community into."""

    model_config = ConfigDict(extra="forbid")

    areas: list[SplitCommunityIn] = Field(
        max_length=MAX_SPLIT, description="The communities it becomes (two or more)."
    )
    effective: date = Field(
        description="First day of the new communities; the old one ends the day before."
    )


class RetireIn(Body):
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
    def of(cls, row: AreaRow | ReadRow) -> AreaOut:
        """The API view of a stored area (an ORM row, or a plain row of its columns)."""
        return cls.model_validate(
            {
                "id": row.id,
                "level": row.level,
                "name": row.name,
                "parent_id": row.parent_id,
                "path": path_ids(row.path),
                "kind": row.kind,
                "household_count": row.household_count,
                "valid_from": row.valid_from,
                "valid_to": row.valid_to,
                "current": row.valid_to is None,
                "retired_reason": row.retired_reason,
                "predecessor_ids": linked_ids(row.predecessor_ids),
                "successor_ids": linked_ids(row.successor_ids),
            }
        )


def area_views(rows: Sequence[ReadRow]) -> list[dict[str, Any]]:
    """What :meth:`AreaOut.of` shows of each area, as plain values (serialised to the same
    JSON), drawn straight from rows of :data:`registry.area_service.SHOWN_COLUMNS` without
    a model: ``GET /areas`` answers with it (``test_area_views_are_area_out``)."""
    views = []
    for row in rows:
        (
            area_id,
            level,
            name,
            parent_id,
            path,
            kind,
            household_count,
            valid_from,
            valid_to,
            retired_reason,
            predecessor_ids,
            successor_ids,
        ) = values_of(row, area_service.SHOWN_COLUMNS)
        views.append(
            {
                "id": area_id,
                "level": level,
                "name": name,
                "parent_id": parent_id,
                "path": list(path_ids(path)),
                "kind": kind,
                "household_count": household_count,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "current": valid_to is None,
                "retired_reason": retired_reason,
                "predecessor_ids": linked_ids(predecessor_ids),
                "successor_ids": linked_ids(successor_ids),
            }
        )
    return views


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
    def of(cls, result: area_service.MergeResult) -> MergeOut:
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
    def of(cls, result: area_service.SplitResult) -> SplitOut:
        """The API view of a split."""
        return cls(
            retired=AreaOut.of(result.retired),
            into=[AreaOut.of(row) for row in result.into],
            households_moved=result.households_moved,
        )


# -- routes --------------------------------------------------------------------------------


class AreaQuery(QueryModel):
    """The filters of an area list or count, from the query string."""

    within: Annotated[
        Text | None,
        Query(max_length=32, description="Only this area's subtree, the area included."),
    ] = None
    level: Annotated[AreaLevel | None, Query(description="Only this level.")] = None
    kind: Annotated[CommunityKind | None, Query(description="Only communities of this kind.")] = (
        None
    )
    as_of: Annotated[
        Day | None,
        Query(description="Only areas valid on this day (default: the current areas)."),
    ] = None
    include_retired: Annotated[
        bool, Query(description="Also retired areas (not with `as_of`).")
    ] = False

    def filter(self) -> area_service.AreaFilter:
        """The query's :class:`area_service.AreaFilter`."""
        return area_service.AreaFilter(
            within=self.within,
            level=self.level,
            kind=self.kind,
            as_of=self.as_of,
            include_retired=self.include_retired,
        )


class AreaPageQuery(AreaQuery, PageQuery):
    """A page of the area list: cursor and size, then the filters."""


AREA_QUERY = query_parameters(AreaQuery)
AREA_PAGE_QUERY = query_parameters(AreaPageQuery)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AreaOut)
async def register_area(
    body: AreaIn, command: WriteCommand, hierarchy: HierarchyDep
) -> JSONResponse:
    """Register an area under its current parent, of a level that may hold it in the
    registry's hierarchy (a token confined to an area may only add below it)."""
    return await command.run(
        area_service.register_area,
        AreaOut.of,
        status=status.HTTP_201_CREATED,
        area_id=body.id,
        level=body.level,
        name=body.name,
        parent_id=body.parent_id,
        valid_from=body.valid_from,
        kind=body.kind,
        household_count=body.household_count,
        hierarchy=hierarchy,
    )


@router.post("/merge", status_code=status.HTTP_201_CREATED, response_model=MergeOut)
async def merge_communities(body: MergeIn, command: WriteCommand) -> JSONResponse:
    """Merge two or more current communities of one street into a new community: their
    households move to it and they are retired the day before ``effective``."""
    return await command.run(
        area_service.merge_communities,
        MergeOut.of,
        status=status.HTTP_201_CREATED,
        area_ids=body.area_ids,
        into=body.into.to_domain(),
        effective=body.effective,
    )


@router.get("/count", response_model=AreaCount, openapi_extra=AREA_QUERY.openapi)
async def count_areas(
    reads: ReadConnectionDep,
    principal: Reader,
    query: Annotated[AreaQuery, AREA_QUERY.depends],
) -> Response:
    """How many areas match the filters, within the token's area (e.g. the communities of a
    street as of a day)."""
    count = await area_service.count_areas(reads, filters=query.filter(), principal=principal)
    return json_response(AreaCount(count=count))


@router.get("/{area_id}", response_model=AreaOut)
async def get_area(area_id: str, reads: ReadConnectionDep, principal: Reader) -> Response:
    """One area, current or retired, with its validity; 404 if it does not exist or lies
    outside the token's area."""
    row = await area_service.find_area(reads, area_id=area_id, principal=principal)
    return json_response(AreaOut.of(row))


@router.get("", response_model=AreaPage, openapi_extra=AREA_PAGE_QUERY.openapi)
async def list_areas(
    read: RegistryRead, query: Annotated[AreaPageQuery, AREA_PAGE_QUERY.depends]
) -> Response:
    """Areas by id within the token's area, with stable cursor pagination."""
    rows, next_cursor = await area_service.list_areas(
        read.db,
        filters=query.filter(),
        principal=read.principal,
        after=after_id(query.cursor),
        limit=query.limit,
    )
    return json_response({"items": area_views(rows), "next_cursor": next_cursor})


@router.post("/{area_id}/split", status_code=status.HTTP_201_CREATED, response_model=SplitOut)
async def split_community(area_id: str, body: SplitIn, command: WriteCommand) -> JSONResponse:
    """Split a current community into two or more new ones, each taking the households
    listed for it (every household exactly once); the old one is retired."""
    return await command.run(
        area_service.split_community,
        SplitOut.of,
        status=status.HTTP_201_CREATED,
        area_id=area_id,
        into=[area.to_domain() for area in body.areas],
        effective=body.effective,
    )


@router.post("/{area_id}/retire", response_model=AreaOut)
async def retire_area(area_id: str, body: RetireIn, command: WriteCommand) -> JSONResponse:
    """Abolish an area with no current sub-areas (and, for a community, no households)."""
    return await command.run(
        area_service.retire_area,
        AreaOut.of,
        area_id=area_id,
        effective=body.effective,
    )
