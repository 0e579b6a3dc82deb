"""Matching seekers and vacancies: a score explained term by term.

A match's score is the sum of six terms, each returned with its points and a reason:

====================  =====================================================================
term                  points
====================  =====================================================================
``skill_coverage``    40 × (required covered + ½ nice-to-have covered) / (required + ½ nice)
``missing_required``  −15 for every required skill the seeker does not cover
``distance``          15 × (1 − d / 6), at least 0: d is the number of steps between the
                      seeker's community and the place of work in the area tree (same
                      community 15, same street 10, same district 5); 15 when the place lies
                      in one of the seeker's preferred areas
``hours``             10 when the vacancy's working time is one the seeker accepts and its
                      hours fit the seeker's weekly maximum, 0.5 less per hour over it;
                      0 for a working time the seeker does not accept
``wage``              10 when the wage meets the expectation (or there is none); else
                      10 × (1 − 2 × shortfall / expectation), at least 0
``priority``          10 for a seeker in a priority group, 2.5 more per further group, at
                      most 15
====================  =====================================================================

A seeker *covers* a skill they hold or a broader one above it (:mod:`.taxonomy`). Among equal
scores a seeker in a priority group ranks first (then more groups first, then id); among
vacancies of equal score, those of employers that take part in reemployment training rank
first. Public-welfare posts go only to seekers in a priority group. A match that misses one or
two required skills is a *near miss*: training that teaches the missing skills is recommended.

Every term except the skills is bounded (:data:`OTHER_TERMS_MAX`), which lets the matcher rank
candidates by an upper bound computed from skill counts alone and stop scoring once no
remaining candidate can beat the twentieth best (:func:`upper_bound`, :class:`TopK`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from shared.contracts.employment import Hours, PriorityGroup, VacancyKind

TermName = Literal["skill_coverage", "missing_required", "distance", "hours", "wage", "priority"]

SKILL_COVERAGE_MAX = 40.0
NICE_WEIGHT = 0.5
MISSING_REQUIRED_PENALTY = 15.0
DISTANCE_MAX = 15.0
DISTANCE_ZERO_AT = 6
HOURS_MAX = 10.0
HOURS_PENALTY_PER_HOUR = 0.5
WAGE_MAX = 10.0
PRIORITY_POINTS = 10.0
PRIORITY_PER_FURTHER_GROUP = 2.5
PRIORITY_MAX = 15.0
OTHER_TERMS_MAX = DISTANCE_MAX + HOURS_MAX + WAGE_MAX
"""The most the distance, hours and wage terms can add together."""
NEAR_MISS_MAX_MISSING = 2
"""A match missing at most this many required skills (and at least one) is a near miss."""


@dataclass(frozen=True)
class SeekerProfile:
    """What matching needs to know of a seeker."""

    seeker_id: str
    path: tuple[str, ...]
    covered: frozenset[str]
    hours: frozenset[Hours]
    max_hours_per_week: int
    wage_expectation_fen: int | None
    priority_groups: frozenset[PriorityGroup]
    preferred_paths: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class VacancyProfile:
    """What matching needs to know of a vacancy."""

    vacancy_id: str
    kind: VacancyKind
    path: tuple[str, ...]
    required: frozenset[str]
    nice: frozenset[str]
    hours: Hours
    hours_per_week: int
    wage_fen: int
    training_partner: bool = False


@dataclass(frozen=True)
class Term:
    """One term of a score: its points and why."""

    term: TermName
    points: float
    reason: str


@dataclass(frozen=True)
class Score:
    """A seeker's score for a vacancy, term by term."""

    total: float
    terms: tuple[Term, ...]
    missing_required: tuple[str, ...]

    @property
    def near_miss(self) -> bool:
        """Misses between one and :data:`NEAR_MISS_MAX_MISSING` required skills."""
        return 1 <= len(self.missing_required) <= NEAR_MISS_MAX_MISSING


def _points(value: float) -> float:
    return round(value, 2)


def skill_terms(
    *, required: int, required_covered: int, nice: int, nice_covered: int
) -> tuple[float, float]:
    """Points of the skill coverage and missing-required terms from skill counts."""
    weight = required + NICE_WEIGHT * nice
    coverage = 1.0 if weight == 0 else (required_covered + NICE_WEIGHT * nice_covered) / weight
    return (
        _points(SKILL_COVERAGE_MAX * coverage),
        _points(-MISSING_REQUIRED_PENALTY * (required - required_covered)),
    )


def tree_distance(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Steps between two areas in the area tree (through their nearest common ancestor)."""
    common = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        common += 1
    return len(a) + len(b) - 2 * common


def distance_term(seeker: SeekerProfile, place: tuple[str, ...]) -> Term:
    """Points for how near the place of work is to the seeker."""
    for preferred in seeker.preferred_paths:
        if place[: len(preferred)] == preferred:
            return Term("distance", DISTANCE_MAX, f"in preferred area {preferred[-1]}")
    steps = tree_distance(seeker.path, place)
    points = max(0.0, DISTANCE_MAX * (1 - steps / DISTANCE_ZERO_AT))
    return Term("distance", _points(points), f"{steps} steps apart in the area tree")


def hours_term(seeker: SeekerProfile, hours: Hours, hours_per_week: int) -> Term:
    """Points for how the working time fits the seeker's."""
    if hours not in seeker.hours:
        return Term("hours", 0.0, f"{hours} not accepted (accepts {sorted(seeker.hours)})")
    over = max(0, hours_per_week - seeker.max_hours_per_week)
    points = max(0.0, HOURS_MAX - HOURS_PENALTY_PER_HOUR * over)
    if over == 0:
        reason = f"{hours}, {hours_per_week} h a week within {seeker.max_hours_per_week} h"
    else:
        reason = f"{hours}, {hours_per_week} h a week: {over} h over {seeker.max_hours_per_week} h"
    return Term("hours", _points(points), reason)


def wage_term(expectation_fen: int | None, wage_fen: int) -> Term:
    """Points for how the wage meets the seeker's expectation."""
    if expectation_fen is None or wage_fen >= expectation_fen:
        return Term("wage", WAGE_MAX, "meets the expectation")
    shortfall = expectation_fen - wage_fen
    points = max(0.0, WAGE_MAX * (1 - 2 * shortfall / expectation_fen))
    return Term("wage", _points(points), f"{shortfall} fen a month below the expectation")


def priority_points(groups: int) -> float:
    """Points of the priority term for a seeker in ``groups`` priority groups."""
    if groups == 0:
        return 0.0
    return min(PRIORITY_MAX, PRIORITY_POINTS + PRIORITY_PER_FURTHER_GROUP * (groups - 1))


def priority_term(groups: frozenset[PriorityGroup]) -> Term:
    """Points for the seeker's priority groups."""
    if not groups:
        return Term("priority", 0.0, "in no priority group")
    return Term("priority", priority_points(len(groups)), "groups: " + ", ".join(sorted(groups)))


def eligible(seeker: SeekerProfile, vacancy: VacancyProfile) -> bool:
    """Public-welfare posts go only to seekers in a priority group; other posts to anyone."""
    return vacancy.kind != "public_welfare" or bool(seeker.priority_groups)


def score(seeker: SeekerProfile, vacancy: VacancyProfile) -> Score:
    """The seeker's score for the vacancy, term by term."""
    covered_required = vacancy.required & seeker.covered
    covered_nice = vacancy.nice & seeker.covered
    missing = tuple(sorted(vacancy.required - seeker.covered))
    coverage, penalty = skill_terms(
        required=len(vacancy.required),
        required_covered=len(covered_required),
        nice=len(vacancy.nice),
        nice_covered=len(covered_nice),
    )
    terms = (
        Term(
            "skill_coverage",
            coverage,
            f"{len(covered_required)} of {len(vacancy.required)} required and "
            f"{len(covered_nice)} of {len(vacancy.nice)} nice-to-have skills",
        ),
        Term(
            "missing_required",
            penalty,
            "none missing" if not missing else "missing: " + ", ".join(missing),
        ),
        distance_term(seeker, vacancy.path),
        hours_term(seeker, vacancy.hours, vacancy.hours_per_week),
        wage_term(seeker.wage_expectation_fen, vacancy.wage_fen),
        priority_term(seeker.priority_groups),
    )
    return Score(_points(sum(term.points for term in terms)), terms, missing)


def total_from_counts(
    *,
    seeker: SeekerProfile,
    vacancy: VacancyProfile,
    required: int,
    required_covered: int,
    nice: int,
    nice_covered: int,
    groups: int,
) -> float:
    """The total :func:`score` gives, from skill and group counts (the other terms from the
    profiles): the same terms, rounded and summed in the same order, so ranks agree exactly."""
    coverage, penalty = skill_terms(
        required=required, required_covered=required_covered, nice=nice, nice_covered=nice_covered
    )
    points = (
        coverage,
        penalty,
        distance_term(seeker, vacancy.path).points,
        hours_term(seeker, vacancy.hours, vacancy.hours_per_week).points,
        wage_term(seeker.wage_expectation_fen, vacancy.wage_fen).points,
        priority_points(groups),
    )
    return _points(sum(points))


def upper_bound(
    *, required: int, required_covered: int, nice: int, nice_covered: int, groups: int | None
) -> float:
    """The most a candidate can score knowing only its skill counts (and, when given, how many
    priority groups the seeker is in)."""
    coverage, penalty = skill_terms(
        required=required, required_covered=required_covered, nice=nice, nice_covered=nice_covered
    )
    priority = PRIORITY_MAX if groups is None else priority_points(groups)
    return coverage + penalty + OTHER_TERMS_MAX + priority


def seeker_rank(total: float, seeker: SeekerProfile) -> tuple[float, int, int, str]:
    """Sort key of seekers for a vacancy: score, then priority group, more groups, id."""
    groups = len(seeker.priority_groups)
    return (-total, 0 if groups else 1, -groups, seeker.seeker_id)


def vacancy_rank(total: float, vacancy: VacancyProfile) -> tuple[float, int, int, str]:
    """Sort key of vacancies for a seeker: score, then training-partner employers, id."""
    return (-total, 0 if vacancy.training_partner else 1, 0, vacancy.vacancy_id)


RankKey = tuple[float, int, int, str]


class TopK:
    """The best ``k`` items by rank key (smallest key first): offers are gathered and pruned
    to the best ``k`` whenever twice that many are held."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._held: list[tuple[RankKey, object]] = []

    def offer(self, key: RankKey, item: object) -> None:
        """Consider ``item`` ranked by ``key``."""
        self._held.append((key, item))
        if len(self._held) >= 2 * self.k + 64:
            self._prune()

    def _prune(self) -> None:
        self._held = heapq.nsmallest(self.k, self._held, key=lambda entry: entry[0])

    def threshold(self) -> float:
        """The score of the k-th best item (−inf while fewer than ``k`` are held)."""
        self._prune()
        if len(self._held) < self.k:
            return float("-inf")
        return -self._held[-1][0][0]

    def best(self) -> list[object]:
        """The best ``k`` items, best first."""
        self._prune()
        return [item for _, item in self._held]


def best_of(candidates: Iterable[tuple[RankKey, object]], k: int) -> list[object]:
    """The best ``k`` items of ``candidates`` (key, item) by rank key."""
    top = TopK(k)
    for key, item in candidates:
        top.offer(key, item)
    return top.best()
