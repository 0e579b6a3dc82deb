"""Tables owned by the metrics service: projections built from other services' events."""

from __future__ import annotations

from shared.db import new_metadata
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the metrics service's tables."""

    metadata = new_metadata()


class AreaProjection(Base):
    """The area hierarchy as the registry published it; ``path`` is ``/city/…/id/``."""

    __tablename__ = "area_projection"

    area_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(200), index=True)
