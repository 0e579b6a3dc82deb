"""Prometheus gauges per target and district, with bounded labels.

Labels are ``target`` (a target id) and ``district`` (a district id under the target's scope,
or ``all`` for the target's whole scope); ``shequ_target_status`` adds ``status`` (one of the
four). No street, community or resident ever becomes a label, so the series count is at most
targets × (districts + 1) × 4.

Every replica exports every target: the gauges are reloaded from the database every
``gauge_refresh_interval_s`` and set at once when this process evaluates a target.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metrics.adapters.tables import TargetRow, TargetStatusRow
from metrics.domain.targets import STATUSES
from metrics.tracking import StatusView

log = logging.getLogger(__name__)

WHOLE_SCOPE = "all"

TARGET_VALUE = Gauge(
    "shequ_target_value",
    "Current value of a target's indicator in its scope (district=all) or a district.",
    ["target", "district"],
)
TARGET_PROGRESS = Gauge(
    "shequ_target_progress",
    "Progress from baseline to target, 0..1.",
    ["target", "district"],
)
TARGET_FORECAST = Gauge(
    "shequ_target_forecast",
    "Value forecast for the target's deadline.",
    ["target", "district"],
)
TARGET_STATUS = Gauge(
    "shequ_target_status",
    "1 for the target's current status in the scope or district, 0 for the others.",
    ["target", "district", "status"],
)

_NUMBERS = (TARGET_VALUE, TARGET_PROGRESS, TARGET_FORECAST)


def label_of(view: StatusView) -> str | None:
    """The district label of an evaluation, or None if it is not exported."""
    if view.is_scope:
        return WHOLE_SCOPE
    if view.level == "district":
        return view.area_id
    return None


class TargetGauges:
    """Keeps the gauges equal to the stored evaluations of scopes and districts."""

    def __init__(self) -> None:
        self._exported: set[tuple[str, str]] = set()

    def update(self, views: Iterable[StatusView]) -> None:
        """Set the gauges of the exported evaluations among ``views``."""
        for view in views:
            district = label_of(view)
            if district is None:
                continue
            self._set(view, district)
            self._exported.add((view.target_id, district))

    def _set(self, view: StatusView, district: str) -> None:
        labels = {"target": view.target_id, "district": district}
        for gauge, value in zip(_NUMBERS, (view.value, view.progress, view.forecast), strict=True):
            if value is None:
                _remove(gauge, labels)
            else:
                gauge.labels(**labels).set(value)
        for status in STATUSES:
            if view.status is None:
                _remove(TARGET_STATUS, {**labels, "status": status})
            else:
                TARGET_STATUS.labels(**labels, status=status).set(1 if view.status == status else 0)

    def replace_all(self, views: Sequence[StatusView]) -> None:
        """Export exactly ``views`` (dropping series of targets or districts that are gone)."""
        wanted = {(v.target_id, d) for v in views if (d := label_of(v)) is not None}
        for target, district in self._exported - wanted:
            labels = {"target": target, "district": district}
            for gauge in _NUMBERS:
                _remove(gauge, labels)
            for status in STATUSES:
                _remove(TARGET_STATUS, {**labels, "status": status})
        self._exported = set()
        self.update(views)

    async def reload(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Reload every exported evaluation from the database."""
        async with sessions() as session:
            targets = {t.id: t for t in await session.scalars(select(TargetRow))}
            rows = await session.scalars(
                select(TargetStatusRow).where(TargetStatusRow.level.in_(("city", "district")))
            )
            views = [
                StatusView.of(row, targets[row.target_id])
                for row in rows
                if row.target_id in targets
            ]
            scope_rows = await session.scalars(
                select(TargetStatusRow).where(TargetStatusRow.level.in_(("street", "community")))
            )
            views += [
                StatusView.of(row, targets[row.target_id])
                for row in scope_rows
                if row.target_id in targets and row.area_id == targets[row.target_id].scope_area_id
            ]
        self.replace_all(views)

    async def run(
        self, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event, interval_s: float
    ) -> None:
        """Reload every ``interval_s`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.reload(sessions)
            except Exception as exc:  # the database may be away; try again later
                log.warning("reloading target gauges failed: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)


def _remove(gauge: Gauge, labels: dict[str, str]) -> None:
    with contextlib.suppress(KeyError):
        gauge.remove(*labels.values())
