"""Indicator values per area on a day, computed from the ledger and the area projection in a
few batched queries (whatever the number of areas)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from metrics.adapters import store
from metrics.adapters.tables import AreaProjection
from metrics.domain.measures import CommunityValue, Indicator, Requirement, Value


async def evaluate(
    session: AsyncSession,
    *,
    indicators: Sequence[Indicator],
    area_ids: Iterable[str],
    day: date,
) -> dict[tuple[str, str], Value]:
    """The value of each indicator in each area on ``day``, keyed by (indicator id, area id).

    Totals and ratios read the areas' own ledger sums; a share counts the communities of each
    area's subtree existing on ``day``, from their own sums (an area unknown to the projection
    has no communities).
    """
    areas = sorted(set(area_ids))
    results: dict[tuple[str, str], Value] = {}
    plain = [i for i in indicators if i.kind != "share"]
    shares = [i for i in indicators if i.kind == "share"]
    if plain:
        requirements = {r for i in plain for r in i.requirements(day)}
        sums = await store.ledger_sums(session, area_ids=areas, requirements=requirements, day=day)
        for indicator in plain:
            for area in areas:

                def get(requirement: Requirement, area: str = area) -> float:
                    return sums.get((area, requirement), 0.0)

                results[(indicator.id, area)] = indicator.compute(day, get)
    if shares:
        known = await store.areas_by_id(session, areas)
        communities = await store.communities_within(session, list(known.values()), day)
        measures = {m for i in shares if (m := i.share_measure) is not None}
        sums = await store.ledger_sums(
            session,
            area_ids=[c.area_id for c in communities],
            requirements=[Requirement(m.key, None) for m in measures],
            day=day,
        )
        for indicator in shares:
            measure = indicator.share_measure
            assert measure is not None
            values = {
                c.area_id: CommunityValue(
                    community_id=c.area_id,
                    value=sums.get((c.area_id, Requirement(measure.key, None)), 0.0),
                    household_count=c.household_count,
                )
                for c in communities
            }
            for area in areas:
                row = known.get(area)
                inside = [values[c.area_id] for c in communities if row and _inside(c, row)]
                results[(indicator.id, area)] = indicator.compute(day, _no_sums, inside)
    return results


def _inside(community: AreaProjection, area: AreaProjection) -> bool:
    return community.path.startswith(area.path)


def _no_sums(_requirement: Requirement) -> float:
    raise AssertionError("a share reads its communities, not sums")
