"""Compiled indicators: the measures the projections keep per area, and how an indicator's
value follows from them on a day.

A *measure* (entity kind + filter + count or sum) is kept as a daily ledger per area: each
change of an entity adds, for every area on its path (city, district, street, community), the
difference of its contribution on the day the change takes effect. A measure's value in an area
on day D is then the sum of the ledger up to D (entities), or over the period ending on D
(facts). Values are kept in thousandths as integers, so sums are exact and independent of the
order in which events arrive.

Everything here is pure: :func:`compile_catalogue` turns validated definitions into
:class:`Indicator` objects, :meth:`Indicator.compute` turns prefetched sums into a value.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from metrics.domain.catalogue import (
    AverageIndicator,
    CatalogueError,
    CountIndicator,
    IndicatorDef,
    Match,
    Measure,
    RateIndicator,
    RatioIndicator,
    ShareIndicator,
    SumIndicator,
    TargetDef,
    is_absolute,
    period_start,
)
from metrics.domain.sources import AGE, NUMERIC, ORDERED, Source, Sources

SCALE = 1000
"""Ledger values are thousandths: 1 entity = 1000, 12.5 m² = 12500."""

Attributes = Mapping[str, Any]


def to_milli(value: float) -> int:
    """A value in the ledger's integer thousandths."""
    return round(value * SCALE)


@dataclass(frozen=True)
class Condition:
    """One operator on one attribute, with the value already of the attribute's type."""

    attribute: str
    op: str
    value: Any

    def holds(self, attributes: Attributes) -> bool:
        """Whether the attribute's value satisfies the condition (a missing value never does,
        except for ``ne``/``not_in``)."""
        actual = attributes.get(self.attribute)
        match self.op:
            case "eq":
                return bool(actual == self.value)
            case "ne":
                return bool(actual != self.value)
            case "in":
                return actual in self.value
            case "not_in":
                return actual not in self.value
            case "contains":
                return isinstance(actual, list | tuple) and self.value in actual
        if actual is None:
            return False
        match self.op:
            case "gt":
                return bool(actual > self.value)
            case "gte":
                return bool(actual >= self.value)
            case "lt":
                return bool(actual < self.value)
            case _:
                return bool(actual <= self.value)


@dataclass(frozen=True)
class CompiledMeasure:
    """A measure ready to apply: its ledger key, kind, conditions and summed attributes."""

    key: str
    entity: str
    flow: bool
    conditions: tuple[Condition, ...]
    fields: tuple[str, ...]
    definition: Mapping[str, Any] = field(compare=False, hash=False)
    ages: tuple[Condition, ...] = ()
    """Conditions on the age on the evaluation day: the ledger then keeps the measure per
    year of birth (:meth:`ledger_key`) and an evaluation sums the years that qualify."""

    def contribution(self, attributes: Attributes) -> int:
        """The entity's contribution in thousandths: 0 unless every condition holds (the age
        conditions are applied when evaluating)."""
        if not all(c.holds(attributes) for c in self.conditions):
            return 0
        if not self.fields:
            return SCALE
        return sum(to_milli(float(attributes.get(f) or 0)) for f in self.fields)

    def ledger_key(self, attributes: Attributes) -> str | None:
        """The ledger key an entity contributes to: the measure's, or with age conditions
        ``<key>@<birth year>`` (None without a birth year)."""
        if not self.ages:
            return self.key
        born = attributes.get("birth_year")
        return f"{self.key}{BORN}{born}" if isinstance(born, int) else None

    def birth_years(self, day: date) -> list[int]:
        """The years of birth whose age on ``day`` meets every age condition."""
        return [
            year
            for year in range(FIRST_BIRTH_YEAR, day.year + 1)
            if all(c.holds({AGE: day.year - year}) for c in self.ages)
        ]

    def ledger_keys(self, until: date) -> list[str]:
        """Every ledger key the measure may have up to ``until``."""
        if not self.ages:
            return [self.key]
        return [f"{self.key}{BORN}{year}" for year in range(FIRST_BIRTH_YEAR, until.year + 1)]


BORN = "@"
"""Separates a measure's key from the year of birth in the ledger keys of age measures."""

FIRST_BIRTH_YEAR = 1900
"""The earliest year of birth an age condition considers."""


def measure_key(ledger_key: str) -> str:
    """The measure a ledger key belongs to."""
    return ledger_key.split(BORN, 1)[0]


@dataclass(frozen=True)
class Requirement:
    """A measure's value needed for an evaluation: up to the day, from ``start`` (facts) or
    from the beginning (None)."""

    measure: str
    start: date | None


@dataclass(frozen=True)
class CommunityValue:
    """One community's inputs to a share: its measure and its registered households."""

    community_id: str
    value: float
    household_count: int | None


@dataclass(frozen=True)
class Value:
    """An indicator's value in an area on a day, with the parts it is computed from."""

    value: float | None
    numerator: float | None = None
    denominator: float | None = None


Sums = Callable[[Requirement], float]


def _round(value: float) -> float:
    return round(value, 6)


@dataclass(frozen=True)
class Indicator:
    """A compiled indicator: its definition, the measures it reads and how to compute it."""

    definition: IndicatorDef
    measures: tuple[CompiledMeasure, ...]
    awaiting: str | None = None

    @property
    def id(self) -> str:
        """The indicator's id."""
        return self.definition.id

    @property
    def kind(self) -> str:
        """count, sum, ratio, rate, share or average."""
        return self.definition.kind

    @property
    def absolute(self) -> bool:
        """A total for an area (count, sum) rather than a relative figure."""
        return is_absolute(self.definition)

    @property
    def percent(self) -> bool:
        """Whether the value is a percentage (0–100)."""
        return self.definition.unit == "percent"

    @property
    def share_measure(self) -> CompiledMeasure | None:
        """The per-community measure of a share indicator."""
        return self.measures[0] if isinstance(self.definition, ShareIndicator) else None

    def requirements(self, day: date) -> list[Requirement]:
        """The ledger sums :meth:`compute` needs for ``day`` (share: besides communities)."""
        if isinstance(self.definition, ShareIndicator):
            return []
        start = period_start(self.definition.period, day)
        return [Requirement(m.key, start if m.flow else None) for m in self.measures]

    def compute(self, day: date, sums: Sums, communities: Sequence[CommunityValue] = ()) -> Value:
        """The value on ``day`` from the area's sums (and, for a share, its communities)."""
        if self.awaiting is not None:
            return Value(None)
        d = self.definition
        need = {r.measure: r for r in self.requirements(day)}

        def get(measure: CompiledMeasure) -> float:
            return sums(need[measure.key])

        match d:
            case CountIndicator() | SumIndicator():
                total = get(self.measures[0])
                return Value(_round(total), numerator=_round(total))
            case RatioIndicator() | RateIndicator():
                numerator, denominator = get(self.measures[0]), get(self.measures[1])
                if denominator == 0:
                    return Value(None, numerator=numerator, denominator=denominator)
                return Value(
                    _round(d.scale * numerator / denominator),
                    numerator=_round(numerator),
                    denominator=_round(denominator),
                )
            case AverageIndicator():
                total, count = get(self.measures[0]), get(self.measures[1])
                if count == 0:
                    return Value(None, numerator=total, denominator=0.0)
                mean = total / count
                value = day.year - mean if d.field == AGE else mean
                return Value(_round(value), numerator=_round(total), denominator=_round(count))
            case ShareIndicator():
                return share_value(d, communities)
        raise AssertionError(f"unhandled indicator kind {d.kind}")  # pragma: no cover


def share_value(definition: ShareIndicator, communities: Iterable[CommunityValue]) -> Value:
    """Communities meeting the threshold per 100 assessed communities (None without any)."""
    assessed = meeting = 0
    for community in communities:
        required = definition.threshold.required(community.household_count)
        if required is None:
            continue
        assessed += 1
        if round(community.value, 3) >= required:
            meeting += 1
    return share_of(meeting, assessed)


def share_of(meeting: int, assessed: int) -> Value:
    """A share's value from its counts of meeting and assessed communities."""
    if assessed == 0:
        return Value(None, numerator=0.0, denominator=0.0)
    return Value(
        _round(100.0 * meeting / assessed), numerator=float(meeting), denominator=float(assessed)
    )


# -- compiling ---------------------------------------------------------------------------


def _coerce(kind: str, value: Any, where: str) -> Any:
    """A filter value converted to the attribute's type, or CatalogueError."""
    ok: bool
    match kind:
        case "date":
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = date.fromisoformat(value)
            ok = isinstance(value, date)
        case "int" | "float":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        case "bool":
            ok = isinstance(value, bool)
        case _:
            ok = isinstance(value, str)
    if not ok:
        raise CatalogueError(f"{where}: {value!r} is not a {kind}")
    return value


def _conditions(source: Source, where: Mapping[str, Match], at: str) -> tuple[Condition, ...]:
    found: list[Condition] = []
    for attribute, match in sorted(where.items()):
        kind = source.attribute(attribute)
        place = f"{at}.where.{attribute}"
        if kind is None:
            known = ", ".join(sorted(source.attributes)) or "none"
            raise CatalogueError(f"{place}: {source.name} has no attribute {attribute} ({known})")
        for op, value in match.conditions():
            if op in ("gt", "gte", "lt", "lte") and kind not in ORDERED:
                raise CatalogueError(f"{place}: {op} needs a number or a date, not a {kind}")
            if op == "contains":
                if kind != "list":
                    raise CatalogueError(f"{place}: contains needs a list attribute")
                found.append(Condition(attribute, op, value))
                continue
            if kind == "list":
                raise CatalogueError(f"{place}: a list attribute only supports contains")
            if op in ("in", "not_in"):
                value = tuple(_coerce(kind, v, place) for v in value)
            else:
                value = _coerce(kind, value, place)
            found.append(Condition(attribute, op, value))
    return tuple(found)


def _definition_json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_definition_json(v) for v in value]
    return value


def compile_measure(
    sources: Sources,
    measure: Measure,
    *,
    at: str,
    sum_fields: Sequence[str] | None = None,
    allow_age: bool = False,
) -> CompiledMeasure:
    """A measure checked against ``sources``; its key is a hash of what it computes, so the
    same measure in two indicators is kept once."""
    source = sources.get(measure.entity)
    if source is None:
        raise CatalogueError(
            f"{at}.entity: unknown kind {measure.entity!r} ({', '.join(sorted(sources.kinds))})"
        )
    conditions = _conditions(source, measure.where, at)
    if source.flow and any(c.attribute == AGE for c in conditions):
        raise CatalogueError(f"{at}.where.{AGE}: facts are counted on their day, not by age")
    fields = tuple(sum_fields if sum_fields is not None else (measure.sum or ()))
    for name in fields:
        kind = source.attribute(name) if allow_age else source.attributes.get(name)
        if kind not in NUMERIC:
            raise CatalogueError(f"{at}.sum: {name} is not a numeric attribute of {source.name}")
    stored = tuple("birth_year" if name == AGE else name for name in fields)
    definition = {
        "entity": source.name,
        "where": [[c.attribute, c.op, _definition_json(c.value)] for c in conditions],
        "sum": list(stored),
    }
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return CompiledMeasure(
        key=f"{source.name}.{digest[:12]}",
        entity=source.name,
        flow=source.flow,
        conditions=tuple(c for c in conditions if c.attribute != AGE),
        fields=stored,
        definition=definition,
        ages=tuple(c for c in conditions if c.attribute == AGE),
    )


def compile_indicator(sources: Sources, d: IndicatorDef, at: str) -> Indicator:
    """Check one definition against the sources and compile its measures."""
    measures: list[CompiledMeasure]
    match d:
        case CountIndicator():
            measures = [compile_measure(sources, Measure(entity=d.entity, where=d.where), at=at)]
        case SumIndicator():
            m = Measure(entity=d.entity, where=d.where, sum=d.sum)
            measures = [compile_measure(sources, m, at=at)]
        case RatioIndicator() | RateIndicator():
            measures = [
                compile_measure(sources, d.numerator, at=f"{at}.numerator"),
                compile_measure(sources, d.denominator, at=f"{at}.denominator"),
            ]
            if isinstance(d, RateIndicator) and not all(m.flow for m in measures):
                raise CatalogueError(f"{at}: a rate divides facts (events) by facts")
        case ShareIndicator():
            measures = [compile_measure(sources, d.measure, at=f"{at}.measure")]
            if measures[0].flow:
                raise CatalogueError(f"{at}.measure: a share is over entities, not facts")
        case AverageIndicator():
            base = Measure(entity=d.entity, where=d.where)
            measures = [
                compile_measure(sources, base, at=at, sum_fields=[d.field], allow_age=True),
                compile_measure(sources, base, at=at),
            ]
    flows = any(m.flow for m in measures)
    if flows and d.period is None:
        raise CatalogueError(f"{at}.period: facts are counted over a period; give one")
    if not flows and d.period is not None:
        raise CatalogueError(f"{at}.period: only indicators on facts take a period")
    awaiting = [s.awaiting for m in measures if (s := sources.get(m.entity)) and s.awaiting]
    return Indicator(
        definition=d, measures=tuple(measures), awaiting=awaiting[0] if awaiting else None
    )


@dataclass(frozen=True)
class Catalogue:
    """Every compiled indicator and target definition, and the measures they need."""

    indicators: Mapping[str, Indicator]
    targets: Sequence[TargetDef] = ()
    sources: Sources = field(default_factory=Sources)

    @property
    def measures(self) -> dict[str, CompiledMeasure]:
        """Every measure of every indicator, by key."""
        return {m.key: m for i in self.indicators.values() for m in i.measures}

    def measures_of(self, entity: str) -> list[CompiledMeasure]:
        """The measures kept for entities (or facts) of one kind."""
        return [m for m in self.measures.values() if m.entity == entity]

    def indicators_using(self, measure_keys: Iterable[str]) -> list[Indicator]:
        """Indicators whose value depends on any of ``measure_keys``."""
        keys = set(measure_keys)
        return [i for i in self.indicators.values() if keys & {m.key for m in i.measures}]

    def share_indicators(self) -> list[Indicator]:
        """The indicators whose value depends on which communities exist."""
        return [i for i in self.indicators.values() if i.kind == "share"]

    def indicator(self, indicator_id: str) -> Indicator | None:
        """An indicator by id."""
        return self.indicators.get(indicator_id)


def compile_catalogue(
    sources: Sources, definitions: Sequence[IndicatorDef], targets: Sequence[TargetDef] = ()
) -> Catalogue:
    """Compile and cross-check the catalogue; CatalogueError names every problem found."""
    problems: list[str] = []
    compiled: dict[str, Indicator] = {}
    for index, d in enumerate(definitions):
        try:
            compiled[d.id] = compile_indicator(sources, d, f"indicators[{index}] ({d.id})")
        except CatalogueError as exc:
            problems.append(str(exc))
    for index, t in enumerate(targets):
        if t.indicator not in compiled and not any(d.id == t.indicator for d in definitions):
            problems.append(f"targets[{index}] ({t.id}).indicator: no indicator {t.indicator}")
    if problems:
        raise CatalogueError("catalogue invalid:\n  " + "\n  ".join(problems))
    return Catalogue(indicators=compiled, targets=tuple(targets), sources=sources)
