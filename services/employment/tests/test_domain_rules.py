"""Rules of seekers (priority groups, the concession card and its revocation), training,
vacancies (public-welfare quota and tenure), placements (retention checks, re-employment) and
micro-loans (exact schedules in fen, arrears, default)."""

from __future__ import annotations

from datetime import date

import pytest

from employment.domain import groups, loans, placements, seekers, training, vacancies
from employment.domain.groups import ResidentFacts
from employment.domain.seekers import Preferences, Seeker, revocation_reason
from shared.errors import Conflict, InvalidInput

TODAY = date(2026, 6, 1)
PATH = ("c", "d", "s", "m")


def resident(**changes: object) -> ResidentFacts:
    facts = {
        "resident_id": "r-1",
        "community_id": "m",
        "path": PATH,
        "sex": "male",
        "birth_year": 1974,
        "employment_status": "laid_off",
        "disabled": False,
        "registration": "registered",
        "flags": (),
    }
    return ResidentFacts(**{**facts, **changes})  # type: ignore[arg-type]


def new_seeker(**changes: object) -> Seeker:
    return Seeker.register(
        seeker_id="s-1",
        resident=resident(**changes),
        recorded_groups=frozenset(),
        skills=["catering.cook"],
        education="senior_middle",
        preferences=Preferences(frozenset({"full_time"}), 44, None, (), ()),
        today=TODAY,
    )


# -- priority groups -----------------------------------------------------------------------


def test_groups_derived_from_registry_facts() -> None:
    assert groups.derive_groups(resident(), on=TODAY) == {"laid_off", "age_4050"}
    assert groups.derive_groups(resident(birth_year=1980), on=TODAY) == {"laid_off"}
    woman = resident(sex="female", birth_year=1984, employment_status="unemployed")
    assert groups.derive_groups(woman, on=TODAY) == {"age_4050"}
    retired_age = resident(sex="female", birth_year=1975, employment_status="unemployed")
    assert groups.derive_groups(retired_age, on=TODAY) == set()
    employed = resident(employment_status="employed", disabled=True, registration="floating")
    assert groups.derive_groups(employed, on=TODAY) == {"disabled", "migrant_worker"}


def test_only_groups_the_registry_cannot_tell_are_recorded() -> None:
    assert groups.recorded_groups(["graduate", "land_losing_farmer"]) == {
        "graduate",
        "land_losing_farmer",
    }
    with pytest.raises(InvalidInput) as refused:
        groups.recorded_groups(["laid_off"])
    assert refused.value.errors[0].field == "recorded_groups"


def test_a_seeker_follows_registry_facts() -> None:
    seeker = new_seeker(employment_status="unemployed", birth_year=1990)
    assert seeker.state.priority_groups == frozenset()
    seeker.events.clear()
    assert seeker.apply_registry_facts(resident(employment_status="laid_off"), today=TODAY)
    assert seeker.state.priority_groups == {"laid_off", "age_4050"}
    assert isinstance(seeker.events[-1], seekers.SeekerUpdated)
    assert seeker.events[-1].changed == ("derived_groups",)


# -- the concession card -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("required", "how", "card", "reason"),
    [
        (True, "refused", "issued", "refused_required_training"),
        (True, "abandoned", "issued", "abandoned_required_training"),
        (False, "refused", "issued", None),
        (False, "abandoned", "issued", None),
        (True, "abandoned", "none", None),
        (True, "refused", "revoked", None),
    ],
)
def test_card_revocation_rule(required: bool, how: str, card: str, reason: str | None) -> None:
    assert revocation_reason(required=required, how=how, card=card) == reason  # type: ignore[arg-type]


def test_card_only_for_priority_groups() -> None:
    plain = new_seeker(employment_status="unemployed", birth_year=1995)
    with pytest.raises(Conflict):
        plain.issue_card(on=TODAY, completed_required_training_since_revocation=True)


def test_a_card_revoked_for_training_returns_only_after_required_training() -> None:
    seeker = new_seeker()
    seeker.issue_card(on=TODAY, completed_required_training_since_revocation=True)
    with pytest.raises(Conflict):
        seeker.issue_card(on=TODAY, completed_required_training_since_revocation=True)
    seeker.revoke_card(reason="abandoned_required_training", on=TODAY, enrolment_id="e-1")
    assert seeker.state.card == "revoked"
    assert isinstance(seeker.events[-1], seekers.CardRevoked)
    with pytest.raises(Conflict):
        seeker.issue_card(on=TODAY, completed_required_training_since_revocation=False)
    seeker.issue_card(on=TODAY, completed_required_training_since_revocation=True)
    assert seeker.state.card == "issued"


# -- training ------------------------------------------------------------------------------


def course(**changes: object) -> training.CourseSnapshot:
    base = {
        "id": "k-1",
        "title": "Care",
        "community_id": "m",
        "path": PATH,
        "skills": ("care.elderly",),
        "starts_on": date(2026, 6, 10),
        "ends_on": date(2026, 6, 20),
        "sessions": 5,
        "capacity": 1,
        "enrolled": 0,
    }
    return training.CourseSnapshot(**{**base, **changes})  # type: ignore[arg-type]


def enrolment() -> training.Enrolment:
    return training.Enrolment.enrol(
        enrolment_id="e-1",
        course=course(),
        seeker_id="s-1",
        seeker_path=PATH,
        required=True,
        today=TODAY,
    )


def test_leaving_before_the_start_is_a_refusal_after_it_an_abandonment() -> None:
    assert enrolment().leave(on=date(2026, 6, 9)) == "refused"
    assert enrolment().leave(on=date(2026, 6, 10)) == "abandoned"


def test_completion_needs_eighty_percent_attendance() -> None:
    taken = enrolment()
    for day in range(10, 13):
        taken.attend(date(2026, 6, day))
    with pytest.raises(Conflict):
        taken.complete(on=date(2026, 6, 20))
    taken.attend(date(2026, 6, 13))
    taken.complete(on=date(2026, 6, 20))
    assert taken.state.status == "completed"
    with pytest.raises(InvalidInput):
        enrolment().attend(date(2026, 6, 21))


def test_a_full_course_takes_nobody_more() -> None:
    with pytest.raises(Conflict):
        training.Enrolment.enrol(
            enrolment_id="e-2",
            course=course(enrolled=1),
            seeker_id="s-2",
            seeker_path=PATH,
            required=False,
            today=TODAY,
        )


# -- public-welfare posts ------------------------------------------------------------------


def test_public_welfare_quota() -> None:
    vacancies.check_welfare_quota(quota=5, in_use=3, adding=2, community_id="m")
    with pytest.raises(Conflict):
        vacancies.check_welfare_quota(quota=5, in_use=4, adding=2, community_id="m")
    with pytest.raises(Conflict):
        vacancies.check_welfare_quota(quota=None, in_use=0, adding=1, community_id="m")


def test_public_welfare_tenure_counts_earlier_posts() -> None:
    start = date(2026, 1, 1)
    assert vacancies.welfare_end(start=start, max_tenure_months=36, served_days=0) == date(
        2028, 12, 31
    )
    # a year already served (2028 is a leap year: 365 days back from 31 December is 1 January)
    assert vacancies.welfare_end(start=start, max_tenure_months=36, served_days=365) == date(
        2028, 1, 1
    )
    with pytest.raises(Conflict):
        vacancies.welfare_end(start=start, max_tenure_months=36, served_days=1200)


# -- placements ----------------------------------------------------------------------------


def placement() -> placements.Placement:
    return placements.Placement.make(
        placement_id="p-1",
        match_id="x-1",
        seeker_id="s-1",
        vacancy_id="v-1",
        employer_id="e-1",
        vacancy_kind="enterprise",
        community_id="m",
        path=PATH,
        priority_groups=frozenset({"laid_off"}),
        started_on=date(2026, 1, 31),
        ends_on=None,
    )


def test_retention_checks_fall_due_at_three_six_and_twelve_months() -> None:
    made = placement()
    assert [c.due_on for c in made.state.checks] == [
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2027, 1, 31),
    ]
    assert made.mark_due(date(2026, 8, 1)) == 2
    assert made.mark_due(date(2026, 8, 1)) == 0
    assert [type(e).__name__ for e in made.events] == [
        "PlacementMade",
        "RetentionCheckDue",
        "RetentionCheckDue",
    ]


def test_re_employed_only_once_the_three_month_check_passes() -> None:
    made = placement()
    with pytest.raises(InvalidInput):
        made.record_check(months=3, passed=True, on=date(2026, 4, 29))
    with pytest.raises(Conflict):
        made.record_check(months=6, passed=True, on=date(2026, 8, 1))
    assert made.record_check(months=3, passed=True, on=date(2026, 4, 30))
    assert made.state.reemployed_on == date(2026, 4, 30)
    assert isinstance(made.events[-1], placements.Reemployed)
    assert not made.record_check(months=6, passed=True, on=date(2026, 8, 1))


def test_a_failed_check_ends_the_placement_without_re_employment() -> None:
    made = placement()
    assert not made.record_check(months=3, passed=False, on=date(2026, 5, 1))
    assert made.state.status == "ended"
    assert made.state.reemployed_on is None
    assert [c.status for c in made.state.checks] == ["failed", "cancelled", "cancelled"]
    assert not any(isinstance(e, placements.Reemployed) for e in made.events)


# -- micro-loans ---------------------------------------------------------------------------


def test_the_schedule_adds_up_to_the_amount_exactly() -> None:
    plan = loans.schedule(1_000_001, 3, date(2026, 1, 31))
    assert [i.amount_fen for i in plan] == [333_334, 333_334, 333_333]
    assert sum(i.amount_fen for i in plan) == 1_000_001
    assert [i.due_on for i in plan] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def disbursed() -> loans.Loan:
    loan = loans.Loan.apply(
        loan_id="l-1",
        seeker_id="s-1",
        community_id="m",
        path=PATH,
        amount_fen=300_000,
        term_months=3,
        today=date(2026, 1, 1),
    )
    with pytest.raises(Conflict):
        loan.approve(on=date(2026, 1, 2))
    loan.guarantee("guarantee_fund")
    loan.approve(on=date(2026, 1, 2))
    loan.disburse(on=date(2026, 1, 5))
    return loan


def test_repayments_pay_the_oldest_instalments_first() -> None:
    loan = disbursed()
    loan.repay(amount_fen=150_000, on=date(2026, 2, 5))
    assert [i.paid_fen for i in loan.state.instalments] == [100_000, 50_000, 0]
    assert loan.state.outstanding_fen == 150_000
    with pytest.raises(InvalidInput):
        loan.repay(amount_fen=150_001, on=date(2026, 3, 5))
    loan.repay(amount_fen=150_000, on=date(2026, 3, 5))
    assert loan.state.status == "repaid"


def test_arrears_then_default_ninety_days_after_the_due_date() -> None:
    loan = disbursed()
    assert not loan.review(date(2026, 2, 5))  # due on 5 February, not late yet
    assert loan.review(date(2026, 2, 6))
    assert loan.state.status == "in_arrears"
    assert isinstance(loan.events[-1], loans.LoanInArrears)
    assert loan.events[-1].overdue_fen == 100_000
    assert not loan.review(date(2026, 3, 1))  # still in arrears: no new event
    loan.repay(amount_fen=100_000, on=date(2026, 3, 1))
    assert loan.state.status == "disbursed"
    assert loan.review(date(2026, 6, 4))  # 5 March instalment unpaid 91 days
    assert loan.state.status == "defaulted"
    assert isinstance(loan.events[-1], loans.LoanDefaulted)
