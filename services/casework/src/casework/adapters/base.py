"""The declarative base of the casework service's tables.

Table modules import :class:`Base` from here; :mod:`casework.adapters.tables` imports every
table module, so its ``Base.metadata`` is complete (migrations, schema tests).
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata


class Base(DeclarativeBase):
    """Declarative base of the casework service's tables."""

    metadata = new_metadata()
