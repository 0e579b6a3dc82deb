"""Indicator values per area on one or many days, computed from the ledger and the area
projection. One computation serves every reader (values API, history, snapshots, targets).

The ledger rows the days need are read once (what lies before the earliest day as one sum
per area and measure, the rows from there on as they are) and every (indicator, area, day) is
then computed in memory from running integer sums, so evaluating a thousand days costs two
queries, not a thousand.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from sqlalchemy.ext.asyncio import AsyncSession

from metrics.adapters import store
from metrics.adapters.tables import AreaProjection
from metrics.domain.catalogue import ShareIndicator
from metrics.domain.measures import (
    BORN,
    SCALE,
    CommunityValue,
    CompiledMeasure,
    Indicator,
    Requirement,
    Value,
    share_of,
)
from metrics.domain.sources import AGE
from shared.paths import path_ids, path_text

ONE_DAY = timedelta(days=1)

Triple = tuple[str, str, date]
"""(indicator id, area id, day)."""


@dataclass(frozen=True, slots=True)
class Community:
    """What a share reads of a community (a plain copy: ORM attributes are slow to read in
    the loops over communities and days)."""

    area_id: str
    path: str
    household_count: int | None
    valid_from: date | None
    valid_to: date | None

    def current_on(self, day: date) -> bool:
        """Whether the community exists on ``day``."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


_COMMUNITIES = "metrics.communities"
"""Key of the transaction's community copies in ``session.info``."""


async def _communities(session: AsyncSession, areas: Sequence[AreaProjection]) -> list[Community]:
    """The communities ever under ``areas``, read once per transaction and set of areas."""
    cache: dict[tuple[str, ...], list[Community]] = session.info.setdefault(_COMMUNITIES, {})
    key = tuple(sorted({a.path for a in areas}))
    if key not in cache:
        cache[key] = [
            Community(c.area_id, c.path, c.household_count, c.valid_from, c.valid_to)
            for c in await store.communities_under(session, areas)
        ]
    return cache[key]


def _by_prefix(communities: Sequence[Community]) -> dict[str, list[Community]]:
    """The communities in the subtree of each stored path (an area's, by its ``path``)."""
    found: dict[str, list[Community]] = defaultdict(list)
    for community in communities:
        ids = path_ids(community.path)
        for depth in range(1, len(ids) + 1):
            found[path_text(ids[:depth])].append(community)
    return found


class Series:
    """A measure's ledger in one area: running totals (thousandths) by day."""

    __slots__ = ("base", "days", "totals")

    def __init__(self, base: int, rows: Sequence[tuple[date, int]]) -> None:
        self.base = base
        self.days = [day for day, _ in rows]
        self.totals = list(accumulate((delta for _, delta in rows), initial=base))

    def upto(self, day: date) -> int:
        """The sum of the deltas up to ``day`` (inclusive)."""
        return self.totals[bisect_right(self.days, day)]

    def between(self, start: date | None, day: date) -> float:
        """The measure's value on ``day``, counted from ``start`` (None: the beginning)."""
        total = self.upto(day) - (self.upto(start - ONE_DAY) if start is not None else 0)
        return total / SCALE


_EMPTY = Series(0, ())


CUTS = 8
"""Up to this many distinct days, sums are taken per day in one aggregate pass; beyond, the
rows are read once and summed in memory."""


async def _series(
    session: AsyncSession,
    *,
    area_ids: Iterable[str],
    measures: Iterable[str],
    cuts: set[date],
) -> dict[tuple[str, str], Series]:
    """The series of each (area, measure), exact on every day of ``cuts``."""
    ordered = sorted(cuts)
    if len(ordered) <= CUTS:
        sums = await store.ledger_cut_sums(
            session, area_ids=area_ids, measures=measures, cuts=ordered
        )
        return {
            key: Series(
                0,
                [
                    (cut, total - (totals[i - 1] if i else 0))
                    for i, (cut, total) in enumerate(zip(ordered, totals, strict=True))
                ],
            )
            for key, totals in sums.items()
        }
    base, rows = await store.ledger_rows(
        session, area_ids=area_ids, measures=measures, floor=ordered[0], until=ordered[-1]
    )
    keys = set(base) | set(rows)
    return {key: Series(base.get(key, 0), rows.get(key, ())) for key in keys}


def _cuts(indicators: Iterable[Indicator], days: Iterable[date]) -> set[date]:
    """The days whose running totals the evaluations read: each day, and the day before
    each period's start."""
    found: set[date] = set()
    for day in days:
        found.add(day)
        for indicator in indicators:
            found |= {r.start - ONE_DAY for r in indicator.requirements(day) if r.start}
    return found


async def evaluate_many(
    session: AsyncSession,
    *,
    indicators: Mapping[str, Indicator],
    wanted: Iterable[Triple],
) -> dict[Triple, Value]:
    """The value of each wanted (indicator, area, day).

    Totals and ratios read the areas' own ledger sums; a share counts the communities of each
    area's subtree existing on the day, from their own sums (an area unknown to the projection
    has no communities).
    """
    triples = sorted(set(wanted))
    results: dict[Triple, Value] = {}
    if not triples:
        return results
    plain = [t for t in triples if indicators[t[0]].kind != "share"]
    shares = [t for t in triples if indicators[t[0]].kind == "share"]
    if plain:
        used = [indicators[i] for i in {i for i, _, _ in plain}]
        days = {d for _, _, d in plain}
        compiled = {m.key: m for i in used for m in i.measures}
        series = await _series(
            session,
            area_ids={a for _, a, _ in plain},
            measures={k for m in compiled.values() for k in m.ledger_keys(max(days))},
            cuts=_cuts(used, days),
        )
        for indicator_id, area, day in plain:
            indicator = indicators[indicator_id]

            def get(requirement: Requirement, area: str = area, day: date = day) -> float:
                return _measured(
                    series, area, compiled[requirement.measure], requirement.start, day
                )

            results[(indicator_id, area, day)] = indicator.compute(day, get)
    if shares:
        known = await store.areas_by_id(session, {a for _, a, _ in shares})
        communities = await _communities(session, list(known.values()))
        days = {d for _, _, d in shares}
        measures = {
            k
            for i in {i for i, _, _ in shares}
            if (m := indicators[i].share_measure)
            for k in m.ledger_keys(max(days))
        }
        series = await _series(
            session,
            area_ids=[c.area_id for c in communities],
            measures=measures,
            cuts=days,
        )
        under = _by_prefix(communities)
        inside = {area_id: under.get(row.path, []) for area_id, row in known.items()}
        asked: dict[str, dict[str, list[date]]] = defaultdict(lambda: defaultdict(list))
        for indicator_id, area, day in shares:
            asked[indicator_id][area].append(day)
        for indicator_id, by_area in asked.items():
            swept = _shares(indicators[indicator_id], by_area, inside, series)
            for area, values in swept.items():
                for day, value in values.items():
                    results[(indicator_id, area, day)] = value
    return results


Steps = tuple[tuple[int, int], dict[date, list[int]]]
"""A community's (assessed, meeting) on a first day, and the changes of both after it."""


def _shares(
    indicator: Indicator,
    by_area: Mapping[str, Sequence[date]],
    inside: Mapping[str, Sequence[Community]],
    series: Mapping[tuple[str, str], Series],
) -> dict[str, dict[date, Value]]:
    """A share's value in each area of ``by_area`` on its days. Each community's states are
    followed once over all the days asked (not once per area above it); an area adds up the
    steps of its communities."""
    measure = indicator.share_measure
    assert measure is not None
    if indicator.awaiting is not None or measure.ages:
        return {
            area: _share_sweep(indicator, inside.get(area, []), series, sorted(set(days)))
            for area, days in by_area.items()
        }
    every = sorted({day for days in by_area.values() for day in days})
    first, last = every[0], every[-1]
    steps: dict[str, Steps | None] = {}
    found: dict[str, dict[date, Value]] = {}
    for area, days in by_area.items():
        assessed = meeting = 0
        changes: dict[date, list[int]] = defaultdict(lambda: [0, 0])
        for community in inside.get(area, ()):
            if community.area_id not in steps:
                steps[community.area_id] = _community_steps(
                    indicator, community, series, first, last
                )
            step = steps[community.area_id]
            if step is None:
                continue
            (now_assessed, now_meeting), moves = step
            assessed += now_assessed
            meeting += now_meeting
            for day, (more_assessed, more_meeting) in moves.items():
                change = changes[day]
                change[0] += more_assessed
                change[1] += more_meeting
        pending = sorted(changes.items())
        index = 0
        values: dict[date, Value] = {}
        for day in sorted(set(days)):
            while index < len(pending) and pending[index][0] <= day:
                assessed += pending[index][1][0]
                meeting += pending[index][1][1]
                index += 1
            values[day] = share_of(meeting, assessed)
        found[area] = values
    return found


def _community_steps(
    indicator: Indicator,
    community: Community,
    series: Mapping[tuple[str, str], Series],
    first: date,
    last: date,
) -> Steps | None:
    """Whether a community is assessed and meets the bar on ``first``, and the days in
    (first, last] either changes (None: never assessed, no household count)."""
    measure = indicator.share_measure
    assert measure is not None
    assert isinstance(indicator.definition, ShareIndicator)
    required = indicator.definition.threshold.required(community.household_count)
    if required is None:
        return None
    line = series.get((community.area_id, measure.key), _EMPTY)

    def state(day: date) -> tuple[int, int]:
        if not community.current_on(day):
            return 0, 0
        return 1, int(round(line.upto(day) / SCALE, 3) >= required)

    now = start = state(first)
    points = {d for d in line.days if first < d <= last}
    if community.valid_from is not None and first < community.valid_from <= last:
        points.add(community.valid_from)
    if community.valid_to is not None and first < community.valid_to + ONE_DAY <= last:
        points.add(community.valid_to + ONE_DAY)
    moves: dict[date, list[int]] = {}
    for point in sorted(points):
        after = state(point)
        if after != now:
            moves[point] = [after[0] - now[0], after[1] - now[1]]
            now = after
    return start, moves


def _share_sweep(
    indicator: Indicator,
    communities: Sequence[Community],
    series: Mapping[tuple[str, str], Series],
    days: Sequence[date],
) -> dict[date, Value]:
    """A share's value on each of ``days`` (sorted) in an area with ``communities``, when
    the measure moves with the calendar (each day on its own) or the indicator awaits its
    source (no value)."""
    measure = indicator.share_measure
    assert measure is not None
    if indicator.awaiting is not None:
        return dict.fromkeys(days, Value(None))
    found = {}
    for day in days:
        values = [
            CommunityValue(
                c.area_id, _measured(series, c.area_id, measure, None, day), c.household_count
            )
            for c in communities
            if c.current_on(day)
        ]
        found[day] = indicator.compute(day, _no_sums, values)
    return found


def _measured(
    series: Mapping[tuple[str, str], Series],
    area: str,
    measure: CompiledMeasure,
    start: date | None,
    day: date,
) -> float:
    """A measure's value in an area on ``day`` (from ``start``); with age conditions, the sum
    over the years of birth whose age on ``day`` qualifies."""
    if not measure.ages:
        return series.get((area, measure.key), _EMPTY).between(start, day)
    return sum(
        series.get((area, f"{measure.key}{BORN}{year}"), _EMPTY).between(start, day)
        for year in measure.birth_years(day)
    )


async def evaluate(
    session: AsyncSession,
    *,
    indicators: Sequence[Indicator],
    area_ids: Iterable[str],
    day: date,
) -> dict[tuple[str, str], Value]:
    """The value of each indicator in each area on ``day``, keyed by (indicator id, area id)."""
    areas = sorted(set(area_ids))
    found = await evaluate_many(
        session,
        indicators={i.id: i for i in indicators},
        wanted=[(i.id, a, day) for i in indicators for a in areas],
    )
    return {(i, a): value for (i, a, _), value in found.items()}


HistoryRequest = tuple[Indicator, Sequence[str], date, date]
"""(indicator, area ids, first day, last day) of a history."""

Points = dict[str, list[tuple[date, float | None]]]
"""Per area, the (day, value) points of a history."""


async def history(
    session: AsyncSession,
    *,
    indicator: Indicator,
    area_ids: Iterable[str],
    start: date,
    end: date,
) -> Points:
    """Each area's values from ``start`` to ``end`` as a step function: a point on ``start``
    (the value holding that day), one on every later day the value changes, and one on
    ``end``. Computed by :func:`evaluate_many` on every day the value can change (the
    ledger's days, the days communities come and go, period and year boundaries), so the
    history, the values API and the targets read one computation."""
    (found,) = await histories(session, [(indicator, sorted(set(area_ids)), start, end)])
    return found


def _stepped(indicator: Indicator) -> bool:
    """Whether a share's history is built from its communities' steps alone (its measure
    does not move with the calendar and its source is there)."""
    measure = indicator.share_measure
    return measure is not None and not measure.ages and indicator.awaiting is None


async def histories(session: AsyncSession, requests: Sequence[HistoryRequest]) -> list[Points]:
    """Several :func:`history` answers: their change days read in one ledger query per kind
    of indicator, their values computed in one :func:`evaluate_many`; a share's history is
    its communities' steps added up (:func:`_share_histories`)."""
    requests = [(i, sorted(set(areas)), start, end) for i, areas, start, end in requests]
    stepped = [n for n, (i, _, start, end) in enumerate(requests) if _stepped(i) and start <= end]
    if stepped:
        answers: list[Points | None] = [None] * len(requests)
        for n, answer in zip(
            stepped, await _share_histories(session, [requests[n] for n in stepped]), strict=True
        ):
            answers[n] = answer
        others = [n for n in range(len(requests)) if answers[n] is None]
        for n, answer in zip(
            others, await histories(session, [requests[n] for n in others]), strict=True
        ):
            answers[n] = answer
        return [answer for answer in answers if answer is not None]
    days_of = await changes(session, requests)
    wanted: set[Triple] = set()
    for (indicator, _, _, _), days in zip(requests, days_of, strict=True):
        wanted |= {(indicator.id, a, d) for a, area_days in days.items() for d in area_days}
    values = await evaluate_many(
        session, indicators={i.id: i for i, _, _, _ in requests}, wanted=wanted
    )
    plain: list[Points] = []
    for (indicator, _, _, end), days in zip(requests, days_of, strict=True):
        found: Points = {}
        for area, area_days in days.items():
            points: list[tuple[date, float | None]] = []
            for day in sorted(area_days):
                value = values[(indicator.id, area, day)].value
                if not points or points[-1][1] != value or day == end:
                    points.append((day, value))
            found[area] = points
        plain.append(found)
    return plain


async def _share_histories(
    session: AsyncSession, requests: Sequence[HistoryRequest]
) -> list[Points]:
    """:func:`history` of shares whose measure does not move with the calendar: each
    community's state on the first day and the days it changes (from its ledger rows and
    the days it comes and goes), added up per area; the points are the days an area's value
    changes, the first day and the last (the same step function as evaluating every day)."""
    known = await store.areas_by_id(session, {a for _, areas, _, _ in requests for a in areas})
    communities = await _communities(session, list(known.values()))
    under = _by_prefix(communities)
    measures = set()
    for indicator, _, _, end in requests:
        measure = indicator.share_measure
        assert measure is not None
        measures |= set(measure.ledger_keys(end))
    base, rows = await store.ledger_rows(
        session,
        area_ids=[c.area_id for c in communities],
        measures=measures,
        floor=min(start for _, _, start, _ in requests),
        until=max(end for _, _, _, end in requests),
    )
    series = {key: Series(base.get(key, 0), rows.get(key, ())) for key in set(base) | set(rows)}
    answers: list[Points] = []
    for indicator, area_ids, start, end in requests:
        steps: dict[str, Steps | None] = {}
        found: Points = {}
        for area in area_ids:
            row = known.get(area)
            assessed = meeting = 0
            changes: dict[date, list[int]] = defaultdict(lambda: [0, 0])
            for community in under.get(row.path, ()) if row is not None else ():
                if community.area_id not in steps:
                    steps[community.area_id] = _community_steps(
                        indicator, community, series, start, end
                    )
                step = steps[community.area_id]
                if step is None:
                    continue
                assessed += step[0][0]
                meeting += step[0][1]
                for day, (more_assessed, more_meeting) in step[1].items():
                    change = changes[day]
                    change[0] += more_assessed
                    change[1] += more_meeting
            points = [(start, share_of(meeting, assessed).value)]
            for day, (more_assessed, more_meeting) in sorted(changes.items()):
                assessed += more_assessed
                meeting += more_meeting
                value = share_of(meeting, assessed).value
                if value != points[-1][1] or day == end:
                    points.append((day, value))
            if points[-1][0] != end:
                points.append((end, points[-1][1]))
            found[area] = points
        answers.append(found)
    return answers


async def change_days(
    session: AsyncSession, *, indicator: Indicator, area_ids: Sequence[str], start: date, end: date
) -> dict[str, set[date]]:
    """Per area, ``start``, ``end`` and every day between on which the indicator's value
    may change."""
    (found,) = await changes(session, [(indicator, area_ids, start, end)])
    return found


async def changes(
    session: AsyncSession, requests: Sequence[HistoryRequest]
) -> list[dict[str, set[date]]]:
    """:func:`change_days` of each request; the ledger days of all of them are read at once
    (one query for totals and ratios, one for shares)."""
    found: list[dict[str, set[date]]] = []
    for indicator, area_ids, start, end in requests:
        days_of = {area: {start, end} for area in area_ids}
        if end > start:
            calendar = _calendar_days(indicator, start, end)
            for days in days_of.values():
                days |= calendar
        found.append(days_of)
    live = [n for n, (_, _, start, end) in enumerate(requests) if end > start]
    plain = [n for n in live if requests[n][0].kind != "share"]
    shares = [n for n in live if requests[n][0].kind == "share"]
    if plain:
        await _ledger_changes(session, [requests[n] for n in plain], [found[n] for n in plain])
    if shares:
        await _share_changes(session, [requests[n] for n in shares], [found[n] for n in shares])
    return found


async def _ledger_changes(
    session: AsyncSession, requests: Sequence[HistoryRequest], found: Sequence[dict[str, set[date]]]
) -> None:
    """Add the days a total's or ratio's own ledger rows change it (a rolling period's also
    when a row leaves the period)."""
    keys = [{k for m in i.measures for k in m.ledger_keys(end)} for i, _, _, end in requests]
    lags = [_rolling_days(i.definition.period) for i, _, _, _ in requests]
    ledger = await store.ledger_change_days(
        session,
        area_ids={a for _, areas, _, _ in requests for a in areas},
        measures=set().union(*keys),
        after=min(
            start - timedelta(days=lag)
            for (_, _, start, _), lag in zip(requests, lags, strict=True)
        ),
        until=max(end for _, _, _, end in requests),
    )
    for (_, _, start, end), measures, lag, days_of in zip(requests, keys, lags, found, strict=True):
        after = start - timedelta(days=lag)
        for area, area_days in days_of.items():
            for measure, days in ledger.get(area, {}).items():
                if measure not in measures:
                    continue
                for day in days:
                    if not after < day <= end:
                        continue
                    for moved in (day, day + timedelta(days=lag)) if lag else (day,):
                        if start < moved <= end:
                            area_days.add(moved)


async def _share_changes(
    session: AsyncSession, requests: Sequence[HistoryRequest], found: Sequence[dict[str, set[date]]]
) -> None:
    """Add the days a share changes: its communities' ledger days and the days communities
    come and go."""
    known = await store.areas_by_id(session, {a for _, areas, _, _ in requests for a in areas})
    communities = await _communities(session, list(known.values()))
    under = _by_prefix(communities)
    keys = []
    for indicator, _, _, end in requests:
        measure = indicator.share_measure
        assert measure is not None
        keys.append(set(measure.ledger_keys(end)))
    ledger = await store.ledger_change_days(
        session,
        area_ids=[c.area_id for c in communities],
        measures=set().union(*keys),
        after=min(start for _, _, start, _ in requests),
        until=max(end for _, _, _, end in requests),
    )
    for (_, _, start, end), measures, days_of in zip(requests, keys, found, strict=True):
        moved: dict[str, set[date]] = {}
        for community in communities:
            days = {
                day
                for measure, measure_days in ledger.get(community.area_id, {}).items()
                if measure in measures
                for day in measure_days
            }
            if community.valid_from is not None:
                days.add(community.valid_from)
            if community.valid_to is not None:
                days.add(community.valid_to + ONE_DAY)
            moved[community.area_id] = {day for day in days if start < day <= end}
        for area_id, area_days in days_of.items():
            row = known.get(area_id)
            for community in under.get(row.path, ()) if row is not None else ():
                area_days |= moved[community.area_id]


def _rolling_days(period: str | None) -> int:
    """The length of a rolling ``<n>d`` period (0 for calendar periods or none)."""
    return int(period[:-1]) if period and period.endswith("d") else 0


def _calendar_days(indicator: Indicator, start: date, end: date) -> set[date]:
    """Days in (start, end] on which the calendar alone changes the value: the first day of
    each period (facts), of each year (an average age)."""
    d = indicator.definition
    step = {"year": 12, "quarter": 3, "month": 1}.get(d.period or "")
    by_age = getattr(d, "field", None) == AGE or any(m.ages for m in indicator.measures)
    if step is None and by_age:
        step = 12
    if step is None:
        return set()
    found = set()
    month = date(start.year, 1, 1)
    while month <= end:
        if start < month and (month.month - 1) % step == 0:
            found.add(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return found


def _no_sums(_requirement: Requirement) -> float:
    raise AssertionError("a share reads its communities, not sums")
