"""Target statuses, kept up to date as events are applied.

After a batch of events, every target on an indicator the batch changed is re-evaluated today,
once, in the changed areas under its scope (its forecast reads the indicator's history,
computed from the ledger by :func:`metrics.evaluation.history`); a changed status is recorded
as a domain event in the caller's unit of work, which publishes it through the outbox
(``metrics.target.status_changed``) when it commits.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import evaluation
from metrics.adapters import store
from metrics.adapters.tables import AreaProjection, TargetRow, TargetStatusRow
from metrics.domain import targets as rules
from metrics.domain.measures import Catalogue, Indicator, Value
from metrics.projection import Effects
from shared.db import dialect_insert
from shared.paths import path_ids
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
    def of(cls, row: TargetStatusRow | StoredStatus, target: TargetRow) -> StatusView:
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


@dataclass(slots=True)
class StoredStatus:
    """A ``target_status`` row as the tracker reads and writes it: a plain object, read and
    written with one statement per batch (ORM instances of hundreds of rows cost more than
    evaluating them)."""

    target_id: str
    area_id: str
    level: str = ""
    path: str = ""
    value: float | None = None
    baseline: float | None = None
    progress: float | None = None
    forecast: float | None = None
    forecast_method: str | None = None
    forecast_from: date | None = None
    forecast_slope: float | None = None
    status: str | None = None
    evaluated_on: date | None = None
    status_since: date | None = None
    updated_at: datetime | None = None


_STATUS_COLUMNS = tuple(f.name for f in fields(StoredStatus))


async def _write_statuses(session: AsyncSession, rows: Sequence[StoredStatus]) -> None:
    """Insert or update the given status rows in one statement."""
    if not rows:
        return
    table = TargetStatusRow.__table__
    statement = dialect_insert(session, table)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_update(
        index_elements=["target_id", "area_id"],
        set_={name: statement.excluded[name] for name in _STATUS_COLUMNS[2:]},
    )
    await session.execute(
        statement, [{name: getattr(row, name) for name in _STATUS_COLUMNS} for row in rows]
    )


def cumulative(indicator: Indicator) -> bool:
    """A total that no period restarts (a count or sum of entities, or of facts over
    ``all``): its forecast is never below its current value."""
    return indicator.absolute and indicator.definition.period in (None, "all")


def within(area: AreaProjection, scope_path: str) -> bool:
    """Whether ``area`` lies in the subtree whose root has ``scope_path``."""
    return area.path.startswith(scope_path)


def _outcome(row: StoredStatus) -> tuple[object, ...]:
    """What an evaluation stored in a row, without the moment it was written."""
    return (
        row.level,
        row.path,
        row.value,
        row.baseline,
        row.progress,
        row.forecast,
        row.forecast_method,
        row.forecast_from,
        row.forecast_slope,
        row.status,
        row.evaluated_on,
        row.status_since,
    )


class Tracker:
    """Evaluates targets for a catalogue.

    ``publish`` off (replays) evaluates without recording status changes; ``deferred`` (a
    replay, which evaluates every target once at its end) leaves the targets alone after each
    batch; ``clock`` gives today's date (the service's time zone by default); ``listeners``
    hear every evaluation once its unit of work has committed (the Prometheus gauges).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        zone: ZoneInfo,
        window_days: int,
        publish: bool = True,
        deferred: bool = False,
        clock: Callable[[], date] | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.zone = zone
        self.window_days = window_days
        self.publish = publish
        self.deferred = deferred
        self._clock = clock
        self.listeners: list[StatusListener] = []

    def today(self) -> date:
        """Today in the service's time zone."""
        return self._clock() if self._clock else datetime.now(self.zone).date()

    # -- after an event ----------------------------------------------------------------------

    async def after_batch(self, uow: UnitOfWork, effects: Effects) -> None:
        """Re-evaluate the targets a batch of applied events affects, each once, in the areas
        it touched (unless ``deferred``)."""
        session = uow.session
        if effects.retired_areas:
            await session.execute(
                delete(TargetStatusRow).where(
                    TargetStatusRow.area_id.in_(sorted(effects.retired_areas))
                )
            )
        if self.deferred:
            return
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
        touched_by: dict[str, set[str]] = defaultdict(set)
        for indicator_id, area in effects.touched:
            touched_by[indicator_id].add(area)
        plan: list[tuple[TargetRow, AreaProjection, list[AreaProjection]]] = []
        for target in targets:
            scope = scopes.get(target.scope_area_id)
            if scope is None or self.catalogue.indicator(target.indicator_id) is None:
                continue
            wanted = touched_by[target.indicator_id] | effects.created_areas
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
        days = [day for touched in effects.touched.values() for day in touched]
        since = None if effects.created_areas or effects.created_targets or not days else min(days)
        await self._evaluate_plan(uow, plan, changed_from=since)

    async def _evaluate_plan(
        self,
        uow: UnitOfWork,
        plan: Sequence[tuple[TargetRow, AreaProjection, Sequence[AreaProjection]]],
        *,
        changed_from: date | None,
    ) -> list[StatusView]:
        """Evaluate each (target, scope, areas) of ``plan``: their values, stored rows and
        forecast histories read once for all of them."""
        session = uow.session
        today = self.today()
        needed = {
            triple
            for target, _, selected in plan
            for triple in self._needed(target, selected, today)
        }
        values = await evaluation.evaluate_many(
            session, indicators=self.catalogue.indicators, wanted=needed
        )
        stored: dict[str, dict[str, StoredStatus]] = defaultdict(dict)
        pairs = {(t.id, a.area_id) for t, _, selected in plan for a in selected}
        for (target_id, area_id), row in (await self._locked_rows(session, pairs)).items():
            stored[target_id][area_id] = row
        ahead = [(t, selected) for t, _, selected in plan if t.deadline > today]
        fitted = await evaluation.histories(
            session, [self._window(target, selected, today) for target, selected in ahead]
        )
        windows = {target.id: found for (target, _), found in zip(ahead, fitted, strict=True)}
        views: list[StatusView] = []
        changed: list[StoredStatus] = []
        for target, scope, selected in plan:
            views += await self.evaluate_target(
                uow,
                target,
                scope=scope,
                areas=selected,
                values=values,
                changed_from=changed_from,
                existing=stored[target.id],
                histories=windows.get(target.id),
                changed=changed,
            )
        await _write_statuses(session, changed)
        return views

    def _window(
        self, target: TargetRow, areas: Sequence[AreaProjection], today: date
    ) -> evaluation.HistoryRequest:
        """The history a forecast of ``target`` reads: its graded areas over the window."""
        indicator = self.catalogue.indicators[target.indicator_id]
        graded = [a.area_id for a in areas if self._graded(indicator, target, a)]
        start = max(target.baseline_date, today - timedelta(days=self.window_days - 1))
        return indicator, graded, start, today

    async def _locked_rows(
        self, session: AsyncSession, pairs: set[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredStatus]:
        """The stored evaluations of (target, area) pairs, locked in one order (no deadlocks)
        and read in one query per 500 areas."""
        targets = sorted({t for t, _ in pairs})
        areas = sorted({a for _, a in pairs})
        found: dict[tuple[str, str], StoredStatus] = {}
        columns = [getattr(TargetStatusRow, name) for name in _STATUS_COLUMNS]
        for start in range(0, len(areas), 500):
            rows = await session.execute(
                select(*columns)
                .where(
                    TargetStatusRow.target_id.in_(targets),
                    TargetStatusRow.area_id.in_(areas[start : start + 500]),
                )
                .order_by(TargetStatusRow.target_id, TargetStatusRow.area_id)
                .with_for_update()
            )
            for row in rows:
                if (row[0], row[1]) in pairs:
                    found[(row[0], row[1])] = StoredStatus(*row)
        return found

    def _needed(
        self, target: TargetRow, areas: Sequence[AreaProjection], today: date
    ) -> list[evaluation.Triple]:
        """The values evaluating ``target`` in ``areas`` may read: today's everywhere, and in
        the graded areas the baseline date's and (once passed) the deadline's."""
        indicator = self.catalogue.indicators[target.indicator_id]
        found = [(indicator.id, a.area_id, today) for a in areas]
        for area in areas:
            if self._graded(indicator, target, area):
                found.append((indicator.id, area.area_id, target.baseline_date))
                if target.deadline <= today:
                    found.append((indicator.id, area.area_id, target.deadline))
        return found

    # -- targets -----------------------------------------------------------------------------

    async def evaluate_target(
        self,
        uow: UnitOfWork,
        target: TargetRow,
        *,
        scope: AreaProjection,
        areas: Sequence[AreaProjection],
        values: Mapping[evaluation.Triple, Value] | None = None,
        changed_from: date | None = None,
        existing: Mapping[str, StoredStatus] | None = None,
        histories: evaluation.Points | None = None,
        changed: list[StoredStatus] | None = None,
    ) -> list[StatusView]:
        """Evaluate ``target`` today in ``areas`` (under its scope), store the results and record
        a :class:`~metrics.domain.targets.TargetStatusChanged` for each change.

        ``existing`` may hold the area's stored rows, already locked; ``histories`` the
        forecast's window of history per graded area; ``values`` may hold the
        values already computed (by (indicator, area, day): today's,
        the baseline date's, the deadline's); ``changed_from`` (the earliest
        day the inputs changed, None: unknown) lets an area keep its stored baseline and
        deadline value when the change came after those days. The new and changed rows
        are added to ``changed`` (written by the caller), or written here when it is None.
        """
        indicator = self.catalogue.indicator(target.indicator_id)
        if indicator is None:
            return []
        session = uow.session
        today = self.today()
        ids = [a.area_id for a in areas]
        graded = [a.area_id for a in areas if self._graded(indicator, target, a)]
        if existing is None:
            locked = await self._locked_rows(session, {(target.id, a) for a in ids})
            existing = {a: row for (_, a), row in locked.items()}
        given: Mapping[evaluation.Triple, Value] = values or {}
        missing = [t for t in self._needed(target, areas, today) if t not in given]
        more = (
            await evaluation.evaluate_many(
                session, indicators={indicator.id: indicator}, wanted=missing
            )
            if missing
            else {}
        )

        def value_on(area_id: str, day: date) -> float | None:
            triple = (indicator.id, area_id, day)
            found = given.get(triple)
            return (found if found is not None else more[triple]).value

        def stored(area_id: str, after: date) -> StoredStatus | None:
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
        for area_id in unknown:
            fixed = area_id == target.scope_area_id and target.baseline_value is not None
            baselines[area_id] = (
                target.baseline_value if fixed else value_on(area_id, target.baseline_date)
            )
        at_deadline: dict[str, float | None] = {}
        if target.deadline <= today:
            for area_id in graded:
                kept = stored(area_id, target.deadline)
                at_deadline[area_id] = (
                    kept.forecast if kept is not None else value_on(area_id, target.deadline)
                )
        if histories is None:
            histories = {}
            if target.deadline > today:
                (histories,) = await evaluation.histories(
                    session, [self._window(target, areas, today)]
                )
        views: list[StatusView] = []
        writes: list[StoredStatus] = [] if changed is None else changed
        now = datetime.now(UTC)
        comparison = cast(rules.Comparison, target.comparison)
        for area in areas:
            value = value_on(area.area_id, today)
            row = existing.get(area.area_id)
            before = None
            if row is None:
                row = StoredStatus(target_id=target.id, area_id=area.area_id)
            else:
                before = _outcome(row)
            previous = row.status
            row.level, row.path, row.value = area.level, area.path, value
            row.evaluated_on = today
            if area.area_id in graded:
                baseline = baselines.get(area.area_id)
                projected = rules.project(
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
                    cumulative=cumulative(indicator),
                )
                predicted = projected.value
                row.baseline, row.forecast = baseline, predicted
                row.forecast_method = projected.method
                row.forecast_from = projected.fitted_from
                row.forecast_slope = projected.slope_per_day
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
                row.forecast_method = row.forecast_from = row.forecast_slope = None
            if row.status != previous or row.status_since is None:
                row.status_since = today if row.status is not None else None
            if before is None or _outcome(row) != before:
                row.updated_at = now  # an unchanged row is not written again
                writes.append(row)
            if previous is not None and row.status is not None and row.status != previous:
                self._announce(uow, target, area, row, previous)
            views.append(StatusView.of(row, target))
        if changed is None:
            await _write_statuses(session, writes)
        self._notify_after_commit(uow, views)
        return views

    def _graded(self, indicator: Indicator, target: TargetRow, area: AreaProjection) -> bool:
        """Whether the area has its own status: relative indicators everywhere under the
        scope, totals only in the scope itself."""
        return not indicator.absolute or area.area_id == target.scope_area_id

    def _announce(
        self,
        uow: UnitOfWork,
        target: TargetRow,
        area: AreaProjection,
        row: StoredStatus,
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
                evaluated_on=row.evaluated_on or self.today(),
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
        targets = list(await session.scalars(query))
        scopes = await store.areas_by_id(session, {t.scope_area_id for t in targets})
        within_scope: dict[str, list[AreaProjection]] = {}
        plan: list[tuple[TargetRow, AreaProjection, Sequence[AreaProjection]]] = []
        for target in targets:
            scope = scopes.get(target.scope_area_id)
            if scope is None or scope.valid_to is not None:
                continue
            if scope.area_id not in within_scope:
                within_scope[scope.area_id] = await store.areas_within(session, scope)
            areas = within_scope[scope.area_id]
            keep = {a.area_id for a in areas}
            await session.execute(
                delete(TargetStatusRow).where(
                    TargetStatusRow.target_id == target.id,
                    TargetStatusRow.area_id.not_in(sorted(keep)),
                )
            )
            if self.catalogue.indicator(target.indicator_id) is not None:
                plan.append((target, scope, areas))
        return await self._evaluate_plan(uow, plan, changed_from=None)
