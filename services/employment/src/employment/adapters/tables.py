"""Tables owned by the employment service (the platform's outbox/inbox tables come from shared)."""

from __future__ import annotations

from shared.db import new_metadata
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of the employment service's tables."""

    metadata = new_metadata()
