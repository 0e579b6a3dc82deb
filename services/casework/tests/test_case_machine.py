"""The case life cycle as a state machine: rules of each step, and hypothesis properties that
no sequence of actions reaches an illegal state, every refusal is a problem naming the
transition, and the clock, hops and history stay consistent."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.catalogue_service import shipped_catalogue
from casework.domain import cases
from casework.domain.calendar import WorkingCalendar
from casework.domain.cases import Case, IllegalTransition
from casework.views import CHINA
from shared.errors import InvalidInput, Problem

CALENDAR = WorkingCalendar()
MATTERS = shipped_catalogue().by_code()
START = datetime(2026, 11, 2, 9, 0, tzinfo=CHINA)  # a Monday
PATH = ("140500", "140502", "140502001", "140502001001")


def new_case(code: str = "reemployment_concession_card", *, complete: bool = True) -> Case:
    matter = MATTERS[code]
    documents = matter.required_documents if complete else matter.required_documents[:1]
    return Case.submit(
        case_id=f"case-{code}",
        number="20261102000001",
        visit_id="visit-1",
        matter=matter,
        resident_id="r-1",
        community_id=PATH[-1],
        path=PATH,
        documents=documents,
        parties=[cases.Party("applicant", "r-1")] if matter.kind == "mediation" else [],
        at=START,
    )


def kinds(case: Case) -> list[str]:
    return [type(event).__name__ for event in case.events]


# -- rules -------------------------------------------------------------------------------------


def test_an_agency_case_from_submission_to_rating() -> None:
    case = new_case()
    at = START
    case.accept(CALENDAR, actor_id="clerk", at=at)
    case.delegate("agent-7", actor_id="clerk", at=at + timedelta(hours=1))
    case.forward(actor_id="clerk", at=at + timedelta(days=1))
    case.record_hop("received_by_department", actor_id="dept", at=at + timedelta(days=1))
    case.decide(CALENDAR, "approved", None, actor_id="dept", at=at + timedelta(days=7))
    case.record_hop("result_carried_back", actor_id="agent-7", at=at + timedelta(days=8))
    case.close(actor_id="clerk", at=at + timedelta(days=8))
    case.rate(5, "quick", actor_id="clerk", at=at + timedelta(days=8))
    assert case.state == "closed"
    assert [hop.kind for hop in case.hops] == list(cases.HOP_ORDER)
    assert case.hops[0].actor_id == "agent-7"
    assert case.hops[0].at == at + timedelta(hours=1)
    assert case.within_time_limit is True
    assert case.clock.used_days == 5  # 2–9 November: Tuesday to Friday and Monday
    assert kinds(case) == [
        "CaseSubmitted",
        "CaseAccepted",
        "CaseDelegated",
        "CaseHopRecorded",
        "CaseForwarded",
        "CaseHopRecorded",
        "CaseHopRecorded",
        "CaseDecided",
        "CaseHopRecorded",
        "CaseClosed",
        "CaseRated",
    ]


def test_an_illegal_transition_names_the_action_and_the_states() -> None:
    case = new_case()
    with pytest.raises(IllegalTransition) as refused:
        case.close(actor_id="clerk", at=START)
    problem = refused.value
    assert problem.status == 409
    assert problem.code == "illegal-transition"
    assert problem.extra == {
        "action": "close",
        "state": "submitted",
        "allowed_from": ["decided", "settled"],
    }
    assert "cannot close a case that is submitted" in problem.detail


def test_missing_documents_return_the_application_and_resubmission_accepts_it() -> None:
    case = new_case(complete=False)
    with pytest.raises(IllegalTransition) as refused:
        case.accept(CALENDAR, actor_id="clerk", at=START)
    assert refused.value.extra["missing_documents"] == list(case.missing_documents)
    case.return_for_documents(case.missing_documents, actor_id="clerk", at=START)
    assert case.state == "returned"
    case.resubmit(
        MATTERS["reemployment_concession_card"].required_documents, actor_id="c", at=START
    )
    case.accept(CALENDAR, actor_id="clerk", at=START)
    assert case.state == "accepted"
    assert case.missing_documents == ()


def test_only_on_the_spot_matters_are_settled_at_the_window() -> None:
    case = new_case()
    case.accept(CALENDAR, actor_id="clerk", at=START)
    with pytest.raises(IllegalTransition, match="cannot be settled on the spot"):
        case.settle(CALENDAR, "approved", None, actor_id="clerk", at=START)
    spot = new_case("unemployment_registration")
    spot.accept(CALENDAR, actor_id="clerk", at=START)
    spot.settle(CALENDAR, "approved", None, actor_id="clerk", at=START)
    assert spot.state == "settled"
    assert spot.clock.used_days == 0
    assert spot.within_time_limit


def test_a_denial_needs_a_reason_and_the_agent_must_bring_the_result_back() -> None:
    case = new_case()
    case.accept(CALENDAR, actor_id="clerk", at=START)
    case.delegate("agent-7", actor_id="clerk", at=START)
    case.forward(actor_id="clerk", at=START)
    with pytest.raises(IllegalTransition, match="receipt"):
        case.decide(CALENDAR, "approved", None, actor_id="dept", at=START)
    case.record_hop("received_by_department", actor_id="dept", at=START)
    with pytest.raises(InvalidInput):
        case.decide(CALENDAR, "denied", " ", actor_id="dept", at=START)
    case.decide(CALENDAR, "denied", "income above the line", actor_id="dept", at=START)
    with pytest.raises(IllegalTransition, match="carried the result back"):
        case.close(actor_id="clerk", at=START)


def test_suspension_blocks_everything_but_resume_withdraw_extend() -> None:
    case = new_case()
    case.accept(CALENDAR, actor_id="clerk", at=START)
    case.forward(actor_id="clerk", at=START)
    case.suspend(CALENDAR, actor_id="clerk", at=START + timedelta(days=1))
    with pytest.raises(IllegalTransition, match="suspended"):
        case.decide(CALENDAR, "approved", None, actor_id="dept", at=START + timedelta(days=2))
    case.extend(CALENDAR, 3, "waiting for the applicant", actor_id="dept", at=START)
    case.resume(CALENDAR, actor_id="clerk", at=START + timedelta(days=10))
    # 3 November counted before the suspension; 4–12 November did not count.
    assert case.clock.used(CALENDAR, (START + timedelta(days=10)).date()) == 1
    assert case.clock.allowed_days == 18


def test_reopen_once_within_fifteen_days() -> None:
    case = new_case("unemployment_registration")
    case.accept(CALENDAR, actor_id="clerk", at=START)
    case.settle(CALENDAR, "approved", None, actor_id="clerk", at=START)
    case.close(actor_id="clerk", at=START)
    late = new_case("unemployment_registration")
    late.accept(CALENDAR, actor_id="clerk", at=START)
    late.settle(CALENDAR, "approved", None, actor_id="clerk", at=START)
    late.close(actor_id="clerk", at=START)
    with pytest.raises(IllegalTransition, match="within 15 days"):
        late.reopen(CALENDAR, actor_id="clerk", at=START + timedelta(days=16))
    case.reopen(CALENDAR, actor_id="clerk", at=START + timedelta(days=15))
    assert case.state == "accepted"
    assert case.clock.running
    assert case.rating is None
    case.settle(CALENDAR, "approved", None, actor_id="clerk", at=START + timedelta(days=15))
    case.close(actor_id="clerk", at=START + timedelta(days=15))
    with pytest.raises(IllegalTransition, match="only once"):
        case.reopen(CALENDAR, actor_id="clerk", at=START + timedelta(days=16))


def test_the_sweep_raises_due_soon_overdue_and_escalation_once() -> None:
    case = new_case("temporary_relief")  # 10 working days
    case.accept(CALENDAR, actor_id="clerk", at=START)
    case.forward(actor_id="clerk", at=START)
    case.events.clear()
    assert not case.check_deadline(CALENDAR, date(2026, 11, 3), due_soon_days=2)
    assert case.check_deadline(CALENDAR, date(2026, 11, 12), due_soon_days=2)  # 2 left
    assert not case.check_deadline(CALENDAR, date(2026, 11, 13), due_soon_days=2)
    assert case.check_deadline(CALENDAR, date(2026, 11, 17), due_soon_days=2)  # 1 over
    assert not case.check_deadline(CALENDAR, date(2026, 11, 30), due_soon_days=2)
    assert kinds(case) == ["CaseDueSoon", "CaseOverdue", "CaseEscalated"]
    escalated = case.events[-1]
    assert isinstance(escalated, cases.CaseEscalated)
    assert escalated.street_id == "140502001"
    assert escalated.due_on == date(2026, 11, 16)


def test_an_unanswered_petition_is_escalated_as_a_petition() -> None:
    case = new_case("petition")
    case.link(["case-other"], actor_id="clerk", at=START)
    case.accept(CALENDAR, actor_id="clerk", at=START)
    case.events.clear()
    case.check_deadline(CALENDAR, date(2026, 12, 31), due_soon_days=2)
    assert kinds(case) == ["CaseOverdue", "PetitionEscalated"]
    escalated = case.events[-1]
    assert isinstance(escalated, cases.PetitionEscalated)
    assert escalated.related_case_ids == ("case-other",)


def test_mediation_sessions_agreement_and_follow_up() -> None:
    case = new_case("dispute_mediation")
    case.accept(CALENDAR, actor_id="clerk", at=START)
    with pytest.raises(IllegalTransition, match="session first"):
        case.conclude_mediation(CALENDAR, agreement=True, terms="x", actor_id="m", at=START)
    case.hold_session(START.date(), "mediator-1", actor_id="m", at=START)
    case.hold_session(
        START.date() + timedelta(days=2), "mediator-1", actor_id="m", at=START + timedelta(days=2)
    )
    case.conclude_mediation(
        CALENDAR,
        agreement=True,
        terms="repair the wall by May",
        actor_id="m",
        at=START + timedelta(days=3),
    )
    assert case.state == "decided"
    assert case.outcome == "approved"
    assert case.mediation is not None
    assert case.mediation.follow_up_on == START.date() + timedelta(days=33)
    assert kinds(case)[-3:] == ["MediationSessionHeld", "CaseDecided", "MediationAgreementReached"]
    case.record_follow_up(
        START.date() + timedelta(days=3), actor_id="m", at=START + timedelta(days=40)
    )
    assert case.mediation.followed_up_on == START.date() + timedelta(days=3)


# -- properties --------------------------------------------------------------------------------

ACTIONS = [
    "accept",
    "return",
    "resubmit",
    "settle",
    "delegate",
    "forward",
    "receipt",
    "carry_back",
    "decide",
    "deny",
    "close",
    "withdraw",
    "reopen",
    "suspend",
    "resume",
    "extend",
    "rate",
    "session",
    "conclude",
    "sweep",
]


def act(case: Case, action: str, at: datetime) -> None:
    required = case.matter.required_documents
    match action:
        case "accept":
            case.accept(CALENDAR, actor_id="u", at=at)
        case "return":
            case.return_for_documents(required[:1], actor_id="u", at=at)
        case "resubmit":
            case.resubmit(required, actor_id="u", at=at)
        case "settle":
            case.settle(CALENDAR, "approved", None, actor_id="u", at=at)
        case "delegate":
            case.delegate("agent", actor_id="u", at=at)
        case "forward":
            case.forward(actor_id="u", at=at)
        case "receipt":
            case.record_hop("received_by_department", actor_id="u", at=at)
        case "carry_back":
            case.record_hop("result_carried_back", actor_id="u", at=at)
        case "decide":
            case.decide(CALENDAR, "approved", None, actor_id="u", at=at)
        case "deny":
            case.decide(CALENDAR, "denied", "reason", actor_id="u", at=at)
        case "close":
            case.close(actor_id="u", at=at)
        case "withdraw":
            case.withdraw(CALENDAR, actor_id="u", at=at)
        case "reopen":
            case.reopen(CALENDAR, actor_id="u", at=at)
        case "suspend":
            case.suspend(CALENDAR, actor_id="u", at=at)
        case "resume":
            case.resume(CALENDAR, actor_id="u", at=at)
        case "extend":
            case.extend(CALENDAR, 2, "because", actor_id="u", at=at)
        case "rate":
            case.rate(4, None, actor_id="u", at=at)
        case "session":
            case.hold_session(at.date(), "m", actor_id="u", at=at)
        case "conclude":
            case.conclude_mediation(CALENDAR, agreement=True, terms="t", actor_id="u", at=at)
        case "sweep":
            case.check_deadline(CALENDAR, at.date(), due_soon_days=2)


LEGAL_MOVES = {
    (source, transition.target)
    for transition in cases.TRANSITIONS.values()
    for source in transition.sources
}


def check_invariants(case: Case) -> None:
    assert case.state in cases.STATES
    assert not case.suspended or case.state in cases.IN_PROGRESS
    if case.state in cases.IN_PROGRESS:
        assert case.clock.running != case.suspended
    else:
        assert not case.clock.running
    assert [hop.kind for hop in case.hops] == list(cases.HOP_ORDER[: len(case.hops)])
    assert case.delegated == bool(case.hops)
    if case.state in ("settled", "decided", "closed"):
        assert case.outcome is not None
        assert case.within_time_limit is not None
        assert case.clock.stopped
    if case.state == "closed" and case.delegated and case.outcome is not None:
        assert case.hop_done("result_carried_back") or case.history[-1].from_state == "settled"
    assert case.rating is None or case.state == "closed"
    assert case.reopen_count <= 1
    assert case.missing_documents == () or case.state in ("submitted", "returned", "withdrawn")
    for earlier, later in zip(case.history, case.history[1:], strict=False):
        assert earlier.to_state == later.from_state
    for entry in case.history:
        assert (
            entry.from_state == entry.to_state or (entry.from_state, entry.to_state) in LEGAL_MOVES
        )


STATE_ACTIONS: dict[str, cases.Action] = {
    "accept": "accept",
    "return": "return",
    "resubmit": "resubmit",
    "settle": "settle",
    "delegate": "delegate",
    "forward": "forward",
    "decide": "decide",
    "deny": "decide",
    "close": "close",
    "withdraw": "withdraw",
    "reopen": "reopen",
}


def plausible(case: Case) -> list[str]:
    """Actions the table allows from the case's state, plus every action that keeps it (so
    that most steps go somewhere and long lives are explored)."""
    return [
        action
        for action in ACTIONS
        if action not in STATE_ACTIONS
        or case.state in cases.TRANSITIONS[STATE_ACTIONS[action]].sources
    ]


@settings(max_examples=500, deadline=None)
@given(
    code=st.sampled_from(sorted(MATTERS)),
    complete=st.booleans(),
    steps=st.integers(min_value=0, max_value=40),
    data=st.data(),
)
def test_no_sequence_of_actions_reaches_an_illegal_state(
    code: str, complete: bool, steps: int, data: st.DataObject
) -> None:
    case = new_case(code, complete=complete)
    at = START
    check_invariants(case)
    for _ in range(steps):
        pool = plausible(case) if data.draw(st.integers(0, 9)) else ACTIONS
        action = data.draw(st.sampled_from(pool))
        at += timedelta(days=data.draw(st.integers(min_value=0, max_value=6)))
        before_state, before_version, before_events = case.state, case.version, len(case.events)
        refusal: Problem | None = None
        try:
            act(case, action, at)
        except Problem as refused:
            refusal = refused
        if refusal is None:
            if action != "sweep":
                assert case.version > before_version
                assert len(case.events) > before_events
        else:
            assert refusal.status in (409, 422)
            if isinstance(refusal, IllegalTransition):
                assert refusal.extra["state"] == before_state
                assert refusal.extra["action"]
            assert case.state == before_state
            assert case.version == before_version
            assert len(case.events) == before_events
        check_invariants(case)
