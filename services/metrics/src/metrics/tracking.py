"""Daily indicator snapshots and target statuses, kept up to date as events are applied.

After an event, every (indicator, area) whose inputs it changed gets its snapshot recorded on
each day the change took effect, and the snapshots already recorded on later days are
recomputed (a late event changes the history after its day). Then every target on a changed
indicator is re-evaluated today in the changed areas under its scope; a changed status is
recorded as a domain event in the caller's unit of work, which publishes it through the outbox
(``metrics.target.status_changed``) when it commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import evaluation
from metrics.adapters import store
from metrics.adapters.tables import AreaProjection, TargetRow, TargetStatusRow, path_ids
from metrics.domain import targets as rules
from metrics.domain.measures import Catalogue, Indicator, Value
from metrics.projection import Effects
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

StatusListener = Callable[[Sequence["StatusView"]], None]


@dataclass(frozen=True)
class StatusView:
    """A target's evaluation in one area, as the gauges and the API need it."""

    target_id: str
    area_id: str
    level: str
    is_scope: bool
    value: float | None
    progress: float | None
    forecast: float | None
    status: str | None

    @classmethod
    def of(cls, row: TargetStatusRow, target: TargetRow) -> StatusView:
        """The view of a stored row."""
        return cls(
            target_id=row.target_id,
            area_id=row.area_id,
            level=row.level,
            is_scope=row.area_id == target.scope_area_id,
            value=row.value,
            progress=row.progress,
            forecast=row.forecast,
            status=row.status,
        )


def within(area: AreaProjection, scope_path: str) -> bool:
    """Whether ``area`` lies in the subtree whose root has ``scope_path``."""
    return area.path.startswith(scope_path)


class Tracker:
    """Records snapshots and evaluates targets for a catalogue.

    ``publish`` off (replays) evaluates without recording status changes; ``clock`` gives
    today's date (the service's time zone by default); ``listeners`` hear every evaluation
    once its unit of work has committed (the Prometheus gauges).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        zone: ZoneInfo,
        window_days: int,
        publish: bool = True,
        clock: Callable[[], date] | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.zone = zone
        self.window_days = window_days
        self.publish = publish
        self._clock = clock
        self.listeners: list[StatusListener] = []

    def today(self) -> date:
        """Today in the service's time zone."""
        return self._clock() if self._clock else datetime.now(self.zone).date()

    # -- after an event ----------------------------------------------------------------------

    async def after_batch(self, uow: UnitOfWork, effects: Effects) -> None:
        """Record the snapshots and re-evaluate the targets a batch of applied events
        affects, each once."""
        session = uow.session
        await self.refresh_snapshots(session, effects.touched)
        if effects.retired_areas:
            await session.execute(
                delete(TargetStatusRow).where(
                    TargetStatusRow.area_id.in_(sorted(effects.retired_areas))
                )
            )
        targets = list(await session.scalars(select(TargetRow).order_by(TargetRow.id)))
        if not targets:
            return
        touched_areas = {area for _, area in effects.touched} | effects.created_areas
        areas = {
            a.area_id: a
            for a in (await store.areas_by_id(session, touched_areas)).values()
            if a.valid_to is None
        }
        scopes = await store.areas_by_id(session, {t.scope_area_id for t in targets})
        plan: list[tuple[TargetRow, AreaProjection, list[AreaProjection]]] = []
        for target in targets:
            scope = scopes.get(target.scope_area_id)
            if scope is None or self.catalogue.indicator(target.indicator_id) is None:
                continue
            wanted = {
                area
                for (indicator_id, area) in effects.touched
                if indicator_id == target.indicator_id
            } | effects.created_areas
            if target.id in effects.created_targets or scope.area_id in effects.created_areas:
                # a new target, or its scope arriving after the areas below it
                selected = await store.areas_within(session, scope)
            else:
                selected = [
                    areas[a] for a in sorted(wanted) if a in areas and within(areas[a], scope.path)
                ]
            if selected:
                plan.append((target, scope, selected))
        if not plan:
            return
        indicators = {t.indicator_id: self.catalogue.indicators[t.indicator_id] for t, _, _ in plan}
        current = await evaluation.evaluate(
            session,
            indicators=list(indicators.values()),
            area_ids={a.area_id for _, _, selected in plan for a in selected},
            day=self.today(),
        )
        days = [day for touched in effects.touched.values() for day in touched]
        since = None if effects.created_areas or effects.created_targets or not days else min(days)
        for target, scope, selected in plan:
            await self.evaluate_target(
                uow, target, scope=scope, areas=selected, current=current, changed_from=since
            )

    async def refresh_snapshots(
        self, session: AsyncSession, touched: Mapping[tuple[str, str], set[date]]
    ) -> None:
        """Record each touched (indicator, area) on its days and recompute its later records."""
        pairs = {pair: days for pair, days in touched.items() if days}
        if not pairs:
            return
        wanted = {(i, a, day) for (i, a), days in pairs.items() for day in days}
        later = await store.snapshot_days(
            session,
            indicator_ids={i for i, _ in pairs},
            area_ids={a for _, a in pairs},
            since=min(min(days) for days in pairs.values()),
        )
        for indicator_id, area_id, day in later:
            touched_days = pairs.get((indicator_id, area_id))
            if touched_days and day > min(touched_days):
                wanted.add((indicator_id, area_id, day))
        values = await evaluation.evaluate_many(
            session, indicators=self.catalogue.indicators, wanted=wanted
        )
        rows = [
            {
                "indicator_id": indicator_id,
                "area_id": area_id,
                "day": day,
                "value": value.value,
                "numerator": value.numerator,
                "denominator": value.denominator,
            }
            for (indicator_id, area_id, day), value in values.items()
        ]
        await store.upsert_snapshots(session, rows)

    # -- targets -----------------------------------------------------------------------------

    async def evaluate_target(
        self,
        uow: UnitOfWork,
        target: TargetRow,
        *,
        scope: AreaProjection,
        areas: Sequence[AreaProjection],
        current: Mapping[tuple[str, str], Value] | None = None,
        changed_from: date | None = None,
    ) -> list[StatusView]:
        """Evaluate ``target`` today in ``areas`` (under its scope), store the results and record
        a :class:`~metrics.domain.targets.TargetStatusChanged` for each change.

        ``current`` may hold today's values already computed; ``changed_from`` (the earliest
        day the inputs changed, None: unknown) lets an area keep its stored baseline and
        deadline value when the change came after those days.
        """
        indicator = self.catalogue.indicator(target.indicator_id)
        if indicator is None:
            return []
        session = uow.session
        today = self.today()
        ids = [a.area_id for a in areas]
        graded = [a.area_id for a in areas if self._graded(indicator, target, a)]
        existing = {
            row.area_id: row
            for row in await session.scalars(
                select(TargetStatusRow)
                .where(TargetStatusRow.target_id == target.id, TargetStatusRow.area_id.in_(ids))
                .order_by(TargetStatusRow.area_id)  # one locking order: no deadlocks
                .with_for_update()
            )
        }
        if current is None or any((indicator.id, a) not in current for a in ids):
            current = await evaluation.evaluate(
                session, indicators=[indicator], area_ids=ids, day=today
            )

        def stored(area_id: str, after: date) -> TargetStatusRow | None:
            row = existing.get(area_id)
            known = row is not None and row.status is not None and row.evaluated_on == today
            fresh = changed_from is not None and changed_from > after
            return row if known and fresh else None

        baselines: dict[str, float | None] = {}
        unknown = []
        for area_id in graded:
            kept = stored(area_id, target.baseline_date)
            if kept is not None:
                baselines[area_id] = kept.baseline
            else:
                unknown.append(area_id)
        baselines.update(await self._baselines(session, indicator, target, unknown))
        at_deadline: dict[str, float | None] = {}
        if target.deadline <= today and graded:
            missing = []
            for area_id in graded:
                kept = stored(area_id, target.deadline)
                if kept is not None:
                    at_deadline[area_id] = kept.forecast
                else:
                    missing.append(area_id)
            if missing:
                values = await evaluation.evaluate(
                    session, indicators=[indicator], area_ids=missing, day=target.deadline
                )
                at_deadline.update({a: values[(indicator.id, a)].value for a in missing})
        window_start = max(target.baseline_date, today - timedelta(days=self.window_days - 1))
        histories: dict[str, list[tuple[date, float | None]]] = {}
        if target.deadline > today:
            histories = await store.history(
                session, indicator_id=indicator.id, area_ids=graded, start=window_start, end=today
            )
        views: list[StatusView] = []
        now = datetime.now(UTC)
        comparison = cast(rules.Comparison, target.comparison)
        for area in areas:
            value = current[(indicator.id, area.area_id)].value
            row = existing.get(area.area_id)
            if row is None:
                row = TargetStatusRow(target_id=target.id, area_id=area.area_id)
                session.add(row)
            previous = row.status
            row.level, row.path, row.value = area.level, area.path, value
            row.evaluated_on, row.updated_at = today, now
            if area.area_id in graded:
                baseline = baselines.get(area.area_id)
                predicted = rules.forecast(
                    history=[
                        rules.Point(day, v)
                        for day, v in histories.get(area.area_id, [])
                        if v is not None
                    ],
                    today=today,
                    value=value,
                    value_at_deadline=at_deadline.get(area.area_id),
                    baseline=baseline,
                    baseline_date=target.baseline_date,
                    deadline=target.deadline,
                    window_days=self.window_days,
                    percent=indicator.percent,
                )
                row.baseline, row.forecast = baseline, predicted
                row.progress = rules.progress(
                    value, baseline=baseline, target=target.target_value, comparison=comparison
                )
                row.status = rules.status(
                    value=value,
                    forecast_value=predicted,
                    target=target.target_value,
                    comparison=comparison,
                    deadline=target.deadline,
                    today=today,
                )
            else:
                row.baseline = row.progress = row.forecast = row.status = None
            if row.status != previous or row.status_since is None:
                row.status_since = today if row.status is not None else None
            if previous is not None and row.status is not None and row.status != previous:
                self._announce(uow, target, area, row, previous)
            views.append(StatusView.of(row, target))
        self._notify_after_commit(uow, views)
        return views

    def _graded(self, indicator: Indicator, target: TargetRow, area: AreaProjection) -> bool:
        """Whether the area has its own status: relative indicators everywhere under the
        scope, totals only in the scope itself."""
        return not indicator.absolute or area.area_id == target.scope_area_id

    async def _baselines(
        self, session: AsyncSession, indicator: Indicator, target: TargetRow, area_ids: list[str]
    ) -> dict[str, float | None]:
        """The baseline per area: the target's own for its scope if given, else the value
        measured on the baseline date."""
        found: dict[str, float | None] = {}
        measured = [
            a
            for a in area_ids
            if not (a == target.scope_area_id and target.baseline_value is not None)
        ]
        if target.scope_area_id in area_ids and target.baseline_value is not None:
            found[target.scope_area_id] = target.baseline_value
        if measured:
            values = await evaluation.evaluate(
                session, indicators=[indicator], area_ids=measured, day=target.baseline_date
            )
            for area in measured:
                found[area] = values[(indicator.id, area)].value
        return found

    def _announce(
        self,
        uow: UnitOfWork,
        target: TargetRow,
        area: AreaProjection,
        row: TargetStatusRow,
        previous: str,
    ) -> None:
        if not self.publish:
            return
        uow.record(
            rules.TargetStatusChanged(
                target_id=target.id,
                indicator_id=target.indicator_id,
                area_id=area.area_id,
                area_level=area.level,
                path=tuple(path_ids(area.path)),
                previous_status=cast(rules.Status, previous),
                status=cast(rules.Status, row.status),
                value=row.value,
                target_value=target.target_value,
                comparison=cast(rules.Comparison, target.comparison),
                progress=row.progress,
                forecast=row.forecast,
                deadline=target.deadline,
                evaluated_on=row.evaluated_on,
            )
        )
        log.info(
            "target status changed",
            extra={
                "target": target.id,
                "area": area.area_id,
                "previous_status": previous,
                "status": row.status,
            },
        )

    def _notify_after_commit(self, uow: UnitOfWork, views: list[StatusView]) -> None:
        if not self.listeners or not views:
            return
        listeners = list(self.listeners)

        def committed() -> None:
            for listener in listeners:
                listener(views)

        uow.after_commit(committed)

    # -- every target ------------------------------------------------------------------------

    async def evaluate_all(
        self, uow: UnitOfWork, *, target_ids: Iterable[str] | None = None
    ) -> list[StatusView]:
        """Re-evaluate targets (all, or ``target_ids``) in every current area under their
        scope; rows of areas no longer current are removed."""
        session = uow.session
        query = select(TargetRow).order_by(TargetRow.id)
        if target_ids is not None:
            query = query.where(TargetRow.id.in_(sorted(set(target_ids))))
        views: list[StatusView] = []
        for target in list(await session.scalars(query)):
            scope = await session.get(AreaProjection, target.scope_area_id)
            if scope is None or scope.valid_to is not None:
                continue
            areas = await store.areas_within(session, scope)
            keep = {a.area_id for a in areas}
            await session.execute(
                delete(TargetStatusRow).where(
                    TargetStatusRow.target_id == target.id,
                    TargetStatusRow.area_id.not_in(sorted(keep)),
                )
            )
            views += await self.evaluate_target(uow, target, scope=scope, areas=areas)
        return views
