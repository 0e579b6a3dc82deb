"""Age entitlements: rules kept as data, proposals, staff decisions and the monthly ledger.

A rule (:class:`EntitlementRule`, loaded from ``eldercare/data/entitlements.yaml``) says at
which age an entitlement falls due and whether it pays monthly. The daily job proposes every
entitlement whose day has come (the day the elder reached its age, exact once the registry's
age milestones told it) for every enrolled elder that has none of that kind yet; one
entitlement per elder and kind (a unique key), so a job that ran late catches up and one that
runs twice proposes nothing twice. Staff grant or decline a proposal; a granted
subsidy pays its monthly amount for every month from the month it fell due until the month
the elder's roster entry ended (:func:`months_payable`), each month once (another unique key).
Amounts are integer fen.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal, get_args

from shared.contracts.eldercare import EntitlementKind
from shared.errors import Conflict, FieldError, InvalidInput

EntitlementStatus = Literal["proposed", "granted", "declined"]
KINDS: frozenset[str] = frozenset(get_args(EntitlementKind))


@dataclass(frozen=True)
class EntitlementRule:
    """One age entitlement: its kind, the age it falls due, whether it pays monthly."""

    kind: EntitlementKind
    age: int
    monthly: bool = False
    title: str = ""
    title_zh: str = ""


def parse_rules(raw: Iterable[Mapping[str, Any]]) -> tuple[EntitlementRule, ...]:
    """Rules from their data form (a list of mappings); a wrong rule is a ``ValueError``."""
    rules: list[EntitlementRule] = []
    for entry in raw:
        kind, age = entry.get("kind"), entry.get("age")
        if kind not in KINDS:
            raise ValueError(f"unknown entitlement kind {kind!r}")
        if not isinstance(age, int) or not 0 < age < 150:
            raise ValueError(f"entitlement {kind}: age must be a whole number of years")
        rules.append(
            EntitlementRule(
                kind=kind,
                age=age,
                monthly=bool(entry.get("monthly", False)),
                title=str(entry.get("title", "")),
                title_zh=str(entry.get("title_zh", "")),
            )
        )
    if len({rule.kind for rule in rules}) != len(rules):
        raise ValueError("an entitlement kind appears twice")
    return tuple(rules)


def latest_birth_year_due(rule: EntitlementRule, today: date) -> int:
    """Only residents born in this year or earlier can have ``rule`` due by ``today``."""
    return today.year - rule.age


@dataclass(frozen=True)
class EntitlementSnapshot:
    """One elder's entitlement of one kind."""

    id: str
    resident_id: str
    community_id: str
    path: tuple[str, ...]
    kind: EntitlementKind
    age: int
    due_on: date
    proposed_on: date
    status: EntitlementStatus
    decided_on: date | None = None
    decided_by: str | None = None
    reason: str | None = None
    monthly_amount_fen: int | None = None


@dataclass(frozen=True)
class EntitlementProposed:
    """The job proposed an entitlement that fell due."""

    entitlement: EntitlementSnapshot


@dataclass(frozen=True)
class EntitlementGranted:
    """Staff granted it."""

    entitlement: EntitlementSnapshot


@dataclass(frozen=True)
class EntitlementDeclined:
    """Staff declined it."""

    entitlement: EntitlementSnapshot


@dataclass
class Entitlement:
    """An entitlement proposal and its decision; records its domain events."""

    state: EntitlementSnapshot
    events: list[Any] = field(default_factory=list)

    @classmethod
    def propose(
        cls,
        rule: EntitlementRule,
        *,
        resident_id: str,
        community_id: str,
        path: tuple[str, ...],
        due_on: date,
        today: date,
    ) -> Entitlement:
        """Propose ``rule``'s entitlement, due on ``due_on``, the day the elder reached its
        age (:meth:`eldercare.domain.roster.ElderSnapshot.day_reached`)."""
        entitlement = cls(
            EntitlementSnapshot(
                id=str(uuid.uuid4()),
                resident_id=resident_id,
                community_id=community_id,
                path=path,
                kind=rule.kind,
                age=rule.age,
                due_on=due_on,
                proposed_on=today,
                status="proposed",
            )
        )
        entitlement.events.append(EntitlementProposed(entitlement.state))
        return entitlement

    def _decide(self) -> None:
        if self.state.status != "proposed":
            raise Conflict(
                f"entitlement already {self.state.status}",
                errors=[FieldError("entitlement_id", f"already {self.state.status}")],
            )

    def grant(
        self, *, rule: EntitlementRule, today: date, by: str, monthly_amount_fen: int
    ) -> None:
        """Grant a proposal; a monthly rule fixes its amount now (409 when decided)."""
        self._decide()
        if rule.monthly and monthly_amount_fen <= 0:
            raise InvalidInput(
                "no subsidy amount configured",
                errors=[FieldError("monthly_amount_fen", "must be more than 0")],
            )
        self.state = replace(
            self.state,
            status="granted",
            decided_on=today,
            decided_by=by,
            monthly_amount_fen=monthly_amount_fen if rule.monthly else None,
        )
        self.events.append(EntitlementGranted(self.state))

    def decline(self, *, reason: str, today: date, by: str) -> None:
        """Decline a proposal with a reason code (409 when decided)."""
        self._decide()
        self.state = replace(
            self.state, status="declined", decided_on=today, decided_by=by, reason=reason
        )
        self.events.append(EntitlementDeclined(self.state))


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after ``month``."""
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def months_payable(
    *, due: date, today: date, ended_on: date | None, paid: Iterable[date] = ()
) -> list[date]:
    """The months (first days) a granted subsidy still owes: from the month it fell due to
    today's month, not after the month the roster entry ended, less those ``paid``."""
    last = month_start(today if ended_on is None else min(today, ended_on))
    done = set(paid)
    months: list[date] = []
    month = month_start(due)
    while month <= last:
        if month not in done:
            months.append(month)
        month = next_month(month)
    return months


@dataclass(frozen=True)
class SubsidyPaid:
    """One month of a granted subsidy was written to the ledger."""

    payment_id: str
    entitlement: EntitlementSnapshot
    month: date
    amount_fen: int
    paid_on: date


HARDSHIP_MEDICAL_MATTER = "elder_hardship_medical_subsidy"
"""The casework matter whose approvals eldercare pays (困难老人医疗补助)."""


@dataclass(frozen=True)
class HardshipSubsidyPaid:
    """A hardship medical subsidy casework approved was written to the ledger (once per case)."""

    payment_id: str
    case_id: str
    resident_id: str
    community_id: str
    path: tuple[str, ...]
    amount_fen: int
    decided_on: date
    paid_on: date

    @property
    def month(self) -> date:
        """The month of the decision."""
        return month_start(self.decided_on)
