"""Tables owned by the eldercare service (the platform's outbox/inbox tables come from shared)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata


class Base(DeclarativeBase):
    """Declarative base of the eldercare service's tables."""

    metadata = new_metadata()
