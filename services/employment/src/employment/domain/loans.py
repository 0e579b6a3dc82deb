"""Micro-loans for self-employment (小额担保贷款).

A seeker applies for an amount (integer fen) over a term in months; a guarantee is recorded;
the loan is approved, then disbursed with a schedule of monthly instalments that add up to the
amount exactly (:func:`schedule`); the interest is paid by the public purse, so the borrower
repays the principal only. Repayments go to the oldest unpaid instalments. An instalment unpaid
after its due date puts the loan in arrears; one unpaid 90 days after its due date puts it in
default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from employment.domain.dates import add_months
from shared.contracts.employment import GuaranteeKind
from shared.errors import Conflict, FieldError, InvalidInput

LoanStatus = Literal[
    "applied", "guaranteed", "approved", "disbursed", "in_arrears", "repaid", "defaulted"
]
MAX_AMOUNT_FEN = 5_000_000
"""At most 50,000 yuan per loan."""
MAX_TERM_MONTHS = 36
DEFAULT_AFTER_DAYS = 90


@dataclass(frozen=True)
class Instalment:
    """One monthly instalment."""

    number: int
    due_on: date
    amount_fen: int
    paid_fen: int = 0

    @property
    def unpaid_fen(self) -> int:
        """What is still owed on it."""
        return self.amount_fen - self.paid_fen


def schedule(amount_fen: int, term_months: int, disbursed_on: date) -> tuple[Instalment, ...]:
    """Equal monthly instalments from a month after disbursement; the fen that do not divide
    evenly go one each to the first instalments, so the sum is exactly the amount."""
    base, remainder = divmod(amount_fen, term_months)
    return tuple(
        Instalment(n, add_months(disbursed_on, n), base + (1 if n <= remainder else 0))
        for n in range(1, term_months + 1)
    )


@dataclass(frozen=True)
class LoanSnapshot:
    """A micro-loan."""

    id: str
    seeker_id: str
    community_id: str
    path: tuple[str, ...]
    amount_fen: int
    term_months: int
    status: LoanStatus
    guarantee: GuaranteeKind | None
    applied_on: date
    approved_on: date | None
    disbursed_on: date | None
    instalments: tuple[Instalment, ...]
    arrears_since: date | None

    @property
    def outstanding_fen(self) -> int:
        """Principal still owed (the whole amount before disbursement)."""
        if not self.instalments:
            return self.amount_fen
        return sum(instalment.unpaid_fen for instalment in self.instalments)

    def overdue(self, today: date) -> tuple[int, date | None]:
        """Amount overdue on ``today`` and the due date of the oldest unpaid instalment."""
        late = [i for i in self.instalments if i.due_on < today and i.unpaid_fen > 0]
        return sum(i.unpaid_fen for i in late), (late[0].due_on if late else None)


@dataclass(frozen=True)
class LoanApplied:
    """Domain event: applied."""

    loan: LoanSnapshot


@dataclass(frozen=True)
class LoanGuaranteed:
    """Domain event: guarantee recorded."""

    loan: LoanSnapshot


@dataclass(frozen=True)
class LoanApproved:
    """Domain event: approved."""

    loan: LoanSnapshot


@dataclass(frozen=True)
class LoanDisbursed:
    """Domain event: paid out."""

    loan: LoanSnapshot


@dataclass(frozen=True)
class LoanRepaid:
    """Domain event: a repayment was received."""

    loan: LoanSnapshot
    paid_fen: int
    paid_on: date


@dataclass(frozen=True)
class LoanInArrears:
    """Domain event: an instalment passed its due date unpaid."""

    loan: LoanSnapshot
    overdue_fen: int


@dataclass(frozen=True)
class LoanDefaulted:
    """Domain event: an instalment stayed unpaid 90 days past due."""

    loan: LoanSnapshot
    on: date


LoanEvent = (
    LoanApplied
    | LoanGuaranteed
    | LoanApproved
    | LoanDisbursed
    | LoanRepaid
    | LoanInArrears
    | LoanDefaulted
)


@dataclass
class Loan:
    """A micro-loan; commands check their rules and record events in ``events``."""

    state: LoanSnapshot
    events: list[LoanEvent] = field(default_factory=list)

    @classmethod
    def apply(
        cls,
        *,
        loan_id: str,
        seeker_id: str,
        community_id: str,
        path: tuple[str, ...],
        amount_fen: int,
        term_months: int,
        today: date,
    ) -> Loan:
        """Apply for ``amount_fen`` over ``term_months``."""
        errors: list[FieldError] = []
        if not 0 < amount_fen <= MAX_AMOUNT_FEN:
            errors.append(FieldError("amount_fen", f"more than 0, at most {MAX_AMOUNT_FEN} fen"))
        if not 1 <= term_months <= MAX_TERM_MONTHS:
            errors.append(FieldError("term_months", f"between 1 and {MAX_TERM_MONTHS}"))
        if errors:
            raise InvalidInput("invalid loan", errors=errors)
        state = LoanSnapshot(
            id=loan_id,
            seeker_id=seeker_id,
            community_id=community_id,
            path=path,
            amount_fen=amount_fen,
            term_months=term_months,
            status="applied",
            guarantee=None,
            applied_on=today,
            approved_on=None,
            disbursed_on=None,
            instalments=(),
            arrears_since=None,
        )
        loan = cls(state)
        loan.events.append(LoanApplied(state))
        return loan

    def _require(self, *statuses: LoanStatus) -> None:
        if self.state.status not in statuses:
            raise Conflict(f"loan {self.state.id} is {self.state.status}")

    def guarantee(self, kind: GuaranteeKind) -> None:
        """Record the guarantee of an application."""
        self._require("applied")
        self.state = replace(self.state, status="guaranteed", guarantee=kind)
        self.events.append(LoanGuaranteed(self.state))

    def approve(self, *, on: date) -> None:
        """Approve a guaranteed application (no approval without a guarantee)."""
        if self.state.status == "applied":
            raise Conflict("a loan is approved only once its guarantee is recorded")
        self._require("guaranteed")
        self.state = replace(self.state, status="approved", approved_on=on)
        self.events.append(LoanApproved(self.state))

    def disburse(self, *, on: date) -> None:
        """Pay out an approved loan and fix its schedule."""
        self._require("approved")
        assert self.state.approved_on is not None
        if on < self.state.approved_on:
            raise InvalidInput(
                "before approval", errors=[FieldError("disbursed_on", "not before approval")]
            )
        self.state = replace(
            self.state,
            status="disbursed",
            disbursed_on=on,
            instalments=schedule(self.state.amount_fen, self.state.term_months, on),
        )
        self.events.append(LoanDisbursed(self.state))

    def repay(self, *, amount_fen: int, on: date) -> None:
        """Receive a repayment; it pays the oldest unpaid instalments first."""
        self._require("disbursed", "in_arrears", "defaulted")
        if not 0 < amount_fen <= self.state.outstanding_fen:
            raise InvalidInput(
                "invalid repayment",
                errors=[
                    FieldError(
                        "amount_fen", f"more than 0, at most the {self.state.outstanding_fen} owed"
                    )
                ],
            )
        left = amount_fen
        paid: list[Instalment] = []
        for instalment in self.state.instalments:
            take = min(left, instalment.unpaid_fen)
            left -= take
            paid.append(replace(instalment, paid_fen=instalment.paid_fen + take))
        state = replace(self.state, instalments=tuple(paid))
        overdue, _ = state.overdue(on)
        status: LoanStatus = state.status
        if state.outstanding_fen == 0:
            status = "repaid"
        elif status == "in_arrears" and overdue == 0:
            status = "disbursed"
        self.state = replace(
            state,
            status=status,
            arrears_since=None if status != "in_arrears" else state.arrears_since,
        )
        self.events.append(LoanRepaid(self.state, amount_fen, on))

    def review(self, today: date) -> bool:
        """Put the loan in arrears or default as ``today`` requires; whether it changed."""
        if self.state.status not in ("disbursed", "in_arrears"):
            return False
        overdue, since = self.state.overdue(today)
        if since is None:
            return False
        if today >= since + timedelta(days=DEFAULT_AFTER_DAYS):
            self.state = replace(self.state, status="defaulted", arrears_since=since)
            self.events.append(LoanDefaulted(self.state, today))
            return True
        if self.state.status == "disbursed":
            self.state = replace(self.state, status="in_arrears", arrears_since=since)
            self.events.append(LoanInArrears(self.state, overdue))
            return True
        return False
