"""Placements and their retention checks.

An accepted match becomes a placement. Retention checks fall due 3, 6 and 12 months after
the first day of work; a periodic job turns the checks that fell due into follow-up tasks
(:meth:`Placement.mark_due`). A check is recorded in order, on or after its due date. The seeker
counts as re-employed only once the 3-month check passes; a failed check ends the placement
and cancels the later checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from employment.domain.dates import add_months
from shared.contracts.employment import PriorityGroup, VacancyKind
from shared.errors import Conflict, FieldError, InvalidInput

CHECK_MONTHS: tuple[Literal[3, 6, 12], ...] = (3, 6, 12)
CheckStatus = Literal["scheduled", "due", "passed", "failed", "cancelled"]


@dataclass(frozen=True)
class RetentionCheck:
    """One retention check of a placement."""

    months: Literal[3, 6, 12]
    due_on: date
    status: CheckStatus
    checked_on: date | None = None


@dataclass(frozen=True)
class PlacementSnapshot:
    """A placement."""

    id: str
    match_id: str
    seeker_id: str
    vacancy_id: str
    employer_id: str
    vacancy_kind: VacancyKind
    community_id: str
    path: tuple[str, ...]
    priority_groups: frozenset[PriorityGroup]
    started_on: date
    ends_on: date | None
    status: Literal["active", "ended"]
    reemployed_on: date | None
    checks: tuple[RetentionCheck, ...]

    def check(self, months: int) -> RetentionCheck:
        """The check at ``months``."""
        return next(check for check in self.checks if check.months == months)


@dataclass(frozen=True)
class PlacementMade:
    """Domain event: a placement was made."""

    placement: PlacementSnapshot


@dataclass(frozen=True)
class RetentionCheckDue:
    """Domain event: a retention check fell due."""

    placement: PlacementSnapshot
    months: Literal[3, 6, 12]


@dataclass(frozen=True)
class RetentionChecked:
    """Domain event: a retention check was recorded."""

    placement: PlacementSnapshot
    months: Literal[3, 6, 12]


@dataclass(frozen=True)
class Reemployed:
    """Domain event: the 3-month check passed; the seeker counts as re-employed."""

    placement: PlacementSnapshot


PlacementEvent = PlacementMade | RetentionCheckDue | RetentionChecked | Reemployed


@dataclass
class Placement:
    """A placement; commands check their rules and record events in ``events``."""

    state: PlacementSnapshot
    events: list[PlacementEvent] = field(default_factory=list)

    @classmethod
    def make(
        cls,
        *,
        placement_id: str,
        match_id: str,
        seeker_id: str,
        vacancy_id: str,
        employer_id: str,
        vacancy_kind: VacancyKind,
        community_id: str,
        path: tuple[str, ...],
        priority_groups: frozenset[PriorityGroup],
        started_on: date,
        ends_on: date | None,
    ) -> Placement:
        """Place a seeker from ``started_on``; schedule the retention checks."""
        state = PlacementSnapshot(
            id=placement_id,
            match_id=match_id,
            seeker_id=seeker_id,
            vacancy_id=vacancy_id,
            employer_id=employer_id,
            vacancy_kind=vacancy_kind,
            community_id=community_id,
            path=path,
            priority_groups=priority_groups,
            started_on=started_on,
            ends_on=ends_on,
            status="active",
            reemployed_on=None,
            checks=tuple(
                RetentionCheck(months, add_months(started_on, months), "scheduled")
                for months in CHECK_MONTHS
            ),
        )
        placement = cls(state)
        placement.events.append(PlacementMade(state))
        return placement

    def _with_check(self, updated: RetentionCheck) -> None:
        self.state = replace(
            self.state,
            checks=tuple(
                updated if check.months == updated.months else check for check in self.state.checks
            ),
        )

    def mark_due(self, today: date) -> int:
        """Turn scheduled checks due by ``today`` into follow-up tasks; how many."""
        count = 0
        for check in self.state.checks:
            if check.status == "scheduled" and check.due_on <= today:
                self._with_check(replace(check, status="due"))
                self.events.append(RetentionCheckDue(self.state, check.months))
                count += 1
        return count

    def record_check(self, *, months: int, passed: bool, on: date) -> bool:
        """Record the check at ``months``; whether the seeker just became re-employed."""
        if months not in CHECK_MONTHS:
            raise InvalidInput("no such check", errors=[FieldError("months", "3, 6 or 12")])
        check = self.state.check(months)
        if check.status not in ("scheduled", "due"):
            raise Conflict(f"the {months}-month check is {check.status}")
        if on < check.due_on:
            raise InvalidInput(
                "check too early",
                errors=[
                    FieldError("checked_on", f"the {months}-month check is due on {check.due_on}")
                ],
            )
        earlier = [c for c in self.state.checks if c.months < months]
        if any(c.status in ("scheduled", "due") for c in earlier):
            raise Conflict("record the earlier retention checks first")
        self._with_check(replace(check, status="passed" if passed else "failed", checked_on=on))
        if not passed:
            self.state = replace(
                self.state,
                status="ended",
                checks=tuple(
                    replace(c, status="cancelled") if c.status in ("scheduled", "due") else c
                    for c in self.state.checks
                ),
            )
        self.events.append(RetentionChecked(self.state, check.months))
        if passed and months == 3:
            self.state = replace(self.state, reemployed_on=on)
            self.events.append(Reemployed(self.state))
            return True
        return False
