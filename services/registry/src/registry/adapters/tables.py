"""Tables owned by the registry service (the platform's outbox/inbox tables come from shared)."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Date, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata


class Base(DeclarativeBase):
    """Declarative base of the registry's tables."""

    metadata = new_metadata()


class AreaRow(Base):
    """An administrative area, valid from ``valid_from`` to ``valid_to`` inclusive (null: still
    current). ``path`` is ``/city/district/street/community/`` of ids, so a subtree is a prefix
    match; a merge or split never changes a path, it retires areas and creates new ones.
    ``predecessor_ids`` and ``successor_ids`` are JSON lists of ids linking the versions."""

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
        return [part for part in self.path.split("/") if part]

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
        return [str(item) for item in json.loads(text)] if text else []


from registry.adapters import people as _people  # noqa: E402,F401  (register tables)
from registry.adapters import places as _places  # noqa: E402,F401  (register tables)
