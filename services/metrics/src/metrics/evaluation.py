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
from datetime import date, timedelta
from itertools import accumulate

from sqlalchemy.ext.asyncio import AsyncSession

from metrics.adapters import store
from metrics.adapters.tables import AreaProjection
from metrics.domain.measures import SCALE, CommunityValue, Indicator, Requirement, Value

ONE_DAY = timedelta(days=1)

Triple = tuple[str, str, date]
"""(indicator id, area id, day)."""


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


async def _series(
    session: AsyncSession,
    *,
    area_ids: Iterable[str],
    measures: Iterable[str],
    floor: date,
    until: date,
) -> dict[tuple[str, str], Series]:
    """The series of each (area, measure), exact from ``floor - 1 day`` to ``until``."""
    base, rows = await store.ledger_rows(
        session, area_ids=area_ids, measures=measures, floor=floor, until=until
    )
    keys = set(base) | set(rows)
    return {key: Series(base.get(key, 0), rows.get(key, ())) for key in keys}


def _floor(indicators: Iterable[Indicator], days: Iterable[date]) -> date:
    """The earliest day whose running total the evaluations need."""
    found = []
    for day in days:
        found.append(day)
        found += [r.start for i in indicators for r in i.requirements(day) if r.start is not None]
    return min(found)


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
        series = await _series(
            session,
            area_ids={a for _, a, _ in plain},
            measures={m.key for i in used for m in i.measures},
            floor=_floor(used, days),
            until=max(days),
        )
        for indicator_id, area, day in plain:
            indicator = indicators[indicator_id]

            def get(requirement: Requirement, area: str = area, day: date = day) -> float:
                return series.get((area, requirement.measure), _EMPTY).between(
                    requirement.start, day
                )

            results[(indicator_id, area, day)] = indicator.compute(day, get)
    if shares:
        known = await store.areas_by_id(session, {a for _, a, _ in shares})
        communities = await store.communities_under(session, list(known.values()))
        measures = {m.key for i, _, _ in shares if (m := indicators[i].share_measure)}
        days = {d for _, _, d in shares}
        series = await _series(
            session,
            area_ids=[c.area_id for c in communities],
            measures=measures,
            floor=min(days),
            until=max(days),
        )
        inside: dict[str, list[AreaProjection]] = defaultdict(list)
        for area_id, row in known.items():
            inside[area_id] = [c for c in communities if c.path.startswith(row.path)]
        for indicator_id, area, day in shares:
            indicator = indicators[indicator_id]
            measure = indicator.share_measure
            assert measure is not None
            values = [
                CommunityValue(
                    community_id=c.area_id,
                    value=series.get((c.area_id, measure.key), _EMPTY).between(None, day),
                    household_count=c.household_count,
                )
                for c in inside.get(area, ())
                if c.current_on(day)
            ]
            results[(indicator_id, area, day)] = indicator.compute(day, _no_sums, values)
    return results


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


def _no_sums(_requirement: Requirement) -> float:
    raise AssertionError("a share reads its communities, not sums")
