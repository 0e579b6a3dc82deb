"""Tables owned by the metrics service: projections built from other services' events, the
per-area measure ledger (every indicator's history is computed from it), targets and their
status per area."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.paths import path_ids


class Base(DeclarativeBase):
    """Declarative base of the metrics service's tables."""

    metadata = new_metadata()


class AreaProjection(Base):
    """The area hierarchy as the registry published it; ``path`` is ``/city/…/id/``.

    ``valid_to`` is the last day of a retired area; current answers leave retired areas out.
    """

    __tablename__ = "area_projection"

    area_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(200), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    kind: Mapped[str | None] = mapped_column(String(32), default=None)
    household_count: Mapped[int | None] = mapped_column(Integer, default=None)
    valid_from: Mapped[date | None] = mapped_column(Date, default=None)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)
    retire_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    successor_ids: Mapped[str | None] = mapped_column(Text, default=None)

    @property
    def ids(self) -> list[str]:
        """Area ids from the city down to this area."""
        return list(path_ids(self.path))

    def current_on(self, day: date) -> bool:
        """Whether the area exists on ``day``."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


class AreaLineage(Base):
    """A community created by a merge or split, and one of the communities it came from."""

    __tablename__ = "area_lineage"

    area_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    predecessor_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class EntityProjection(Base):
    """The latest known statistical state of one entity (or one fact) of another service.

    ``attributes`` (JSON) are what catalogue filters and sums read; ``since`` is the day the
    current state took effect; ``ended_on`` the first day the entity no longer counts (closed,
    left, died, retired) or None; ``version`` the aggregate version of the state (None for
    kinds without versions, ordered by their dates instead).
    """

    __tablename__ = "entity_projection"

    entity_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200))
    version: Mapped[int | None] = mapped_column(Integer, default=None)
    active: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date, default=None)
    attributes: Mapped[str] = mapped_column(Text)

    def attribute_values(self) -> dict[str, Any]:
        """The attributes, dates parsed back from ISO strings."""
        return decode_attributes(self.attributes)


def decode_attributes(encoded: str) -> dict[str, Any]:
    """An entity's stored attributes (JSON), dates parsed back from ISO strings."""
    values: dict[str, Any] = json.loads(encoded)
    for name in ("opened_on", "appointed_on", "registered_on"):
        if isinstance(values.get(name), str):
            values[name] = date.fromisoformat(values[name])
    return values


class MeasureLedger(Base):
    """Daily change of a measure in an area, in thousandths (see metrics.domain.measures).

    A measure's value in an area on day D is the sum of ``delta`` over days ≤ D (entities) or
    over the period's days (facts).
    """

    __tablename__ = "measure_ledger"

    area_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    measure: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    delta: Mapped[int] = mapped_column(BigInteger)


class MeasureDefinition(Base):
    """A measure the ledger holds, so a catalogue change shows which ones are new."""

    __tablename__ = "measure_definition"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    definition: Mapped[str] = mapped_column(Text)


class TargetRow(Base):
    """A plan target: from the catalogue file (``origin='catalogue'``) or the API."""

    __tablename__ = "target"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    indicator_id: Mapped[str] = mapped_column(String(80))
    scope_area_id: Mapped[str] = mapped_column(String(32))
    comparison: Mapped[str] = mapped_column(String(2))
    target_value: Mapped[float] = mapped_column(Float)
    baseline_value: Mapped[float | None] = mapped_column(Float, default=None)
    baseline_date: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    source_plan: Mapped[str] = mapped_column(String(300))
    origin: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(200), default=None)


class TargetStatusRow(Base):
    """A target's latest evaluation in one area (its scope or an area below it).

    Below the scope of a total (count, sum) target an area only contributes to the scope's
    total: its row has a value and no progress, forecast or status.
    """

    __tablename__ = "target_status"

    target_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    area_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    level: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float, default=None)
    baseline: Mapped[float | None] = mapped_column(Float, default=None)
    progress: Mapped[float | None] = mapped_column(Float, default=None)
    forecast: Mapped[float | None] = mapped_column(Float, default=None)
    forecast_method: Mapped[str | None] = mapped_column(String(16), default=None)
    forecast_from: Mapped[date | None] = mapped_column(Date, default=None)
    forecast_slope: Mapped[float | None] = mapped_column(Float, default=None)
    status: Mapped[str | None] = mapped_column(String(16), default=None)
    evaluated_on: Mapped[date] = mapped_column(Date)
    status_since: Mapped[date | None] = mapped_column(Date, default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When the evaluation last changed (re-evaluating to the same result writes nothing)."""


class ProjectionState(Base):
    """One row: how many events the projections have applied (the dashboard polls it)."""

    __tablename__ = "projection_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
    events_applied: Mapped[int] = mapped_column(BigInteger)
    last_event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
