"""The area table, its repository functions, and the mapping of area domain events
(:mod:`registry.domain.areas`) to the integration events of ``shared.contracts.registry``."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.util import identity_key

from registry.adapters.base import Base
from registry.adapters.paths import path_ids, path_text
from registry.domain import areas
from shared.contracts import registry as contracts
from shared.unit_of_work import IntegrationEvent, Translations


class AreaRow(Base):
    """An administrative area, valid from ``valid_from`` to ``valid_to`` inclusive (null: still
    current). ``path`` is ``/city/district/street/community/`` of ids
    (:mod:`registry.adapters.paths`), so a subtree is a prefix match; a merge or split never
    changes a path, it retires areas and creates new ones. ``predecessor_ids`` and
    ``successor_ids`` are JSON lists of ids linking the versions."""

    __tablename__ = "area"
    __table_args__ = (
        # PostgreSQL only uses a b-tree for ``LIKE 'prefix%'`` (subtrees) under the C collation
        # or with the pattern operator class; SQLite ignores the option.
        Index("ix_area_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(32))
    household_count: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date, index=True)
    valid_to: Mapped[date | None] = mapped_column(Date, index=True)
    retired_reason: Mapped[str | None] = mapped_column(String(16))
    predecessor_ids: Mapped[str | None] = mapped_column(Text)
    successor_ids: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @property
    def path_ids(self) -> list[str]:
        """Ids from the city down to this area."""
        return list(path_ids(self.path))

    @property
    def predecessors(self) -> list[str]:
        """Areas this one was created from by a merge or split."""
        return self._ids(self.predecessor_ids)

    @property
    def successors(self) -> list[str]:
        """Areas that took over this one's territory when it was retired."""
        return self._ids(self.successor_ids)

    @staticmethod
    def _ids(text: str | None) -> list[str]:
        return linked_ids(text)


def linked_ids(text: str | None) -> list[str]:
    """The ids of a stored ``predecessor_ids`` or ``successor_ids`` JSON list."""
    return [str(item) for item in json.loads(text)] if text else []


# -- repository ----------------------------------------------------------------------------


def valid_on(day: date) -> ColumnElement[bool]:
    """Areas that exist on ``day`` (``valid_from`` ≤ day ≤ ``valid_to``, null: current)."""
    return and_(AreaRow.valid_from <= day, or_(AreaRow.valid_to.is_(None), AreaRow.valid_to >= day))


async def locked(
    session: AsyncSession, area_ids: Sequence[str], *, share: bool = False
) -> dict[str, AreaRow]:
    """The existing areas among ``area_ids``, freshly read and locked until the transaction
    ends, in id order (no deadlock): exclusively to change them (two concurrent merges cannot
    both retire a community), or ``share`` to add below them (not while they are retired)."""
    query = (
        select(AreaRow)
        .where(AreaRow.id.in_(set(area_ids)))
        .order_by(AreaRow.id)
        .with_for_update(read=share)
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in (await session.scalars(query)).all()}


async def exists(session: AsyncSession, area_id: str) -> bool:
    """Whether an area (current or retired) has the id ``area_id``."""
    return await session.get(AreaRow, area_id) is not None


def add(session: AsyncSession, created: areas.AreaCreated) -> AreaRow:
    """Store the area an :class:`~registry.domain.areas.AreaCreated` event describes."""
    row = AreaRow(
        id=created.area_id,
        level=created.level,
        name=created.name,
        parent_id=created.parent_id,
        path=path_text(created.path),
        kind=created.kind,
        household_count=created.household_count,
        valid_from=created.valid_from,
        valid_to=None,
        retired_reason=None,
        predecessor_ids=json.dumps(list(created.predecessor_ids))
        if created.predecessor_ids
        else None,
        successor_ids=None,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    return row


def retire(row: AreaRow, retired: areas.AreaRetired) -> None:
    """Apply an :class:`~registry.domain.areas.AreaRetired` event to the stored area."""
    row.valid_to = retired.valid_to
    row.retired_reason = retired.reason
    row.successor_ids = json.dumps(list(retired.successor_ids))


def version(row: AreaRow) -> areas.AreaVersion:
    """The time rules' view of a stored area."""
    return areas.AreaVersion(
        id=row.id,
        level=_level(row),
        parent_id=row.parent_id,
        path=path_ids(row.path),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        kind=row.kind,  # type: ignore[arg-type]  # stored from a CommunityKind
        household_count=row.household_count,
    )


def parent(row: AreaRow) -> areas.ParentArea:
    """The registration rules' view of a stored area as a prospective parent."""
    return areas.ParentArea(
        id=row.id,
        level=_level(row),
        path=path_ids(row.path),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def community_ref(row: AreaRow | Row[Any]) -> areas.CommunityRef:
    """The rules' view of a stored area (its entity, or a row of :data:`_COMMUNITY`) as the
    community a record is attached to."""
    return areas.CommunityRef(
        id=row.id,
        level=row.level,
        path=path_ids(row.path),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        household_count=row.household_count,
    )


async def get_community(session: AsyncSession, community_id: str) -> areas.CommunityRef | None:
    """The area ``community_id`` (of any level: the rules check it is a community), or None.

    A session holding no change (as a command's is when its use case starts) reads it with one
    Core statement built once, cheaper than the ORM's load; otherwise the ORM reads it, seeing
    what the session holds or would flush first.
    """
    sync = session.sync_session
    if sync.new or sync.deleted or sync.dirty or _identity(community_id) in sync.identity_map:
        row = await session.get(AreaRow, community_id)
        return community_ref(row) if row is not None else None
    found = (await session.execute(_COMMUNITY, {"community_id": community_id})).first()
    return community_ref(found) if found is not None else None


async def get_communities(
    session: AsyncSession, community_ids: Collection[str]
) -> dict[str, areas.CommunityRef]:
    """The areas of ``community_ids`` that exist, by id (what :func:`get_community` reads of
    each), with one statement, after flushing what the session holds: a bulk registration's
    households name many communities, a round trip each before."""
    sync = session.sync_session
    if sync.new or sync.deleted or sync.dirty:
        await session.flush()
    found = await session.execute(_COMMUNITIES, {"community_ids": list(community_ids)})
    return {row.id: community_ref(row) for row in found}


def _identity(area_id: str) -> Any:
    return identity_key(AreaRow, (area_id,))


_COMMUNITY = select(
    *(
        cast(Table, AreaRow.__table__).c[name]
        for name in ("id", "level", "path", "valid_from", "valid_to", "household_count")
    )
).where(cast(Table, AreaRow.__table__).c.id == bindparam("community_id"))
"""What :func:`community_ref` needs of an area, by id."""
_COMMUNITIES = select(*_COMMUNITY.selected_columns).where(
    cast(Table, AreaRow.__table__).c.id.in_(bindparam("community_ids", expanding=True))
)
"""The same of the areas of many ids."""


def _level(row: AreaRow) -> areas.AreaLevel:
    level: areas.AreaLevel = row.level  # type: ignore[assignment]  # stored from an AreaLevel
    return level


# -- domain events → integration events ----------------------------------------------------


def _created(event: areas.AreaCreated) -> IntegrationEvent:
    payload = contracts.AreaCreated(
        area_id=event.area_id,
        level=event.level,
        name=event.name,
        parent_id=event.parent_id,
        path=list(event.path),
        valid_from=event.valid_from,
        kind=event.kind,
        household_count=event.household_count,
    )
    return payload, event.area_id


def _retired(event: areas.AreaRetired) -> IntegrationEvent:
    payload = contracts.AreaRetired(
        area_id=event.area_id,
        level=event.level,
        path=list(event.path),
        valid_to=event.valid_to,
        reason=event.reason,
        successor_ids=list(event.successor_ids),
    )
    return payload, event.area_id


def _merged(event: areas.AreasMerged) -> IntegrationEvent:
    payload = contracts.AreasMerged(
        merged_ids=list(event.merged_ids),
        into_id=event.into_id,
        path=list(event.path),
        effective=event.effective,
        households_moved=event.households_moved,
    )
    return payload, event.into_id


def _split(event: areas.AreaSplit) -> IntegrationEvent:
    payload = contracts.AreaSplit(
        area_id=event.area_id,
        into_ids=list(event.into_ids),
        effective=event.effective,
        households_moved=dict(event.households_moved),
    )
    return payload, event.area_id


TRANSLATIONS: Translations = {
    areas.AreaCreated: _created,
    areas.AreaRetired: _retired,
    areas.AreasMerged: _merged,
    areas.AreaSplit: _split,
}
"""Area domain events → integration events (partition key: the area's id; a merge's is the
new community's)."""
