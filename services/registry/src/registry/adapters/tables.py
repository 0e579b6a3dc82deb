"""Tables owned by the registry service (the platform's outbox/inbox tables come from shared)."""

from __future__ import annotations

from datetime import date, datetime

from shared.db import new_metadata
from sqlalchemy import Date, DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the registry's tables."""

    metadata = new_metadata()


class AreaRow(Base):
    """An administrative area. ``path`` is ``/city/district/street/community/`` of ids, so a
    subtree is a prefix match."""

    __tablename__ = "area"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    household_count: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @property
    def path_ids(self) -> list[str]:
        """Ids from the city down to this area."""
        return [part for part in self.path.split("/") if part]
