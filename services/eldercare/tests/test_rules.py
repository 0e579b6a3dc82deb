"""Unit tests of the eldercare rules: Barthel scoring and care levels, waiting-list order,
the roster's enrolment and updates, entitlement rules and the subsidy months owed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from eldercare.domain import assessment, entitlements, placements, roster, visits
from eldercare.rules import load_rules
from shared.errors import Conflict, InvalidInput

FULL = {name: max(allowed) for name, allowed in assessment.BARTHEL_ITEMS.items()}
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_barthel_maxima_add_up_to_100_and_minima_to_0() -> None:
    instrument = assessment.instrument(None)
    assert instrument.barthel_score(FULL) == 100
    assert instrument.barthel_score({n: 0 for n in assessment.BARTHEL_ITEMS}) == 0


def test_barthel_scores_a_typical_elder() -> None:
    items = {**FULL, "bathing": 0, "stairs": 5, "mobility": 10, "transfers": 10, "dressing": 5}
    assert assessment.instrument("barthel-iadl-1").barthel_score(items) == 75


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bathing": 10}, "barthel.bathing"),  # bathing allows 0 or 5 only
        ({"transfers": 7}, "barthel.transfers"),
        ({"walking": 5}, "barthel.walking"),
    ],
)
def test_barthel_refuses_scores_an_item_does_not_allow(change: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        assessment.instrument(None).barthel_score({**FULL, **change})
    assert [e.field for e in raised.value.errors] == [field]


def test_barthel_names_every_missing_item() -> None:
    items = dict(FULL)
    del items["feeding"], items["stairs"]
    with pytest.raises(InvalidInput) as raised:
        assessment.instrument(None).barthel_score(items)
    assert {e.field for e in raised.value.errors} == {"barthel.feeding", "barthel.stairs"}


@pytest.mark.parametrize(
    ("score", "iadl", "level"),
    [
        (100, 0, 0),
        (100, 1, 0),
        (100, 2, 1),
        (99, 0, 1),
        (61, 0, 1),
        (60, 0, 2),
        (41, 8, 2),
        (40, 0, 3),
        (0, 8, 3),
    ],
)
def test_care_level_bands(score: int, iadl: int, level: int) -> None:
    assert assessment.care_level(score, iadl) == level


def test_assessment_scores_sets_level_and_reassessment_date() -> None:
    moderate = {**FULL, "stairs": 0, "bathing": 0, "mobility": 5, "transfers": 5}
    moderate |= {"dressing": 5, "toilet_use": 5}
    snapshot, event = assessment.assess(
        resident_id="r1",
        community_id="m1",
        path=("c", "d", "s", "m1"),
        version=None,
        barthel=moderate,
        iadl_dependent=["shopping", "laundry"],
        assessed_on=date(2026, 8, 31),
        today=date(2026, 9, 1),
        assessor="nurse",
    )
    assert (snapshot.barthel_score, snapshot.care_level) == (55, 2)
    assert snapshot.reassess_on == date(2027, 2, 28)  # six months on, clamped to February
    assert event.assessment is snapshot


def test_iadl_refuses_unknown_and_repeated_activities() -> None:
    with pytest.raises(InvalidInput):
        assessment.instrument(None).iadl_dependent(["flying"])
    with pytest.raises(InvalidInput):
        assessment.instrument(None).iadl_dependent(["shopping", "shopping"])


def test_an_unknown_instrument_version_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        assessment.instrument("barthel-0")
    assert raised.value.errors[0].field == "instrument"


def _waiting(
    pid: str, *, level: int, vulnerable: bool, born: int, minute: int
) -> placements.Placement:
    return placements.Placement(
        placements.PlacementSnapshot(
            id=pid,
            resident_id=f"r-{pid}",
            community_id="m1",
            path=("c", "m1"),
            kind="day_care",
            centre_id="centre",
            status="waiting",
            requested_on=NOW.date(),
            requested_at=NOW + timedelta(minutes=minute),
            care_level=level,
            vulnerable=vulnerable,
            birth_year=born,
        )
    )


def test_waiting_list_order_is_level_then_alone_then_age_then_request_time() -> None:
    waiting = [
        _waiting("early-mild", level=1, vulnerable=False, born=1940, minute=0),
        _waiting("severe", level=3, vulnerable=False, born=1955, minute=9),
        _waiting("moderate-old", level=2, vulnerable=False, born=1930, minute=5),
        _waiting("moderate-alone", level=2, vulnerable=True, born=1950, minute=8),
        _waiting("moderate-young", level=2, vulnerable=False, born=1950, minute=1),
        _waiting("moderate-young-later", level=2, vulnerable=False, born=1950, minute=2),
    ]
    assert [p.state.id for p in placements.rank(waiting)] == [
        "severe",
        "moderate-alone",
        "moderate-old",
        "moderate-young",
        "moderate-young-later",
        "early-mild",
    ]


def test_settle_starts_the_heads_and_renumbers_the_rest_recording_moves_once() -> None:
    first = [
        _waiting("a", level=1, vulnerable=False, born=1940, minute=0),
        _waiting("b", level=1, vulnerable=False, born=1941, minute=1),
        _waiting("c", level=1, vulnerable=False, born=1942, minute=2),
    ]
    placements.settle(first, free_places=0, today=NOW.date(), previous={})
    assert [p.state.position for p in first] == [1, 2, 3]
    assert all(not p.events for p in first)  # first numbering: no "changed" events
    started = placements.settle(first, free_places=1, today=NOW.date(), previous={"r-a": "old"})
    assert [p.state.id for p in started] == ["a"]
    assert first[0].state.status == "active"
    assert isinstance(first[0].events[0], placements.PlacementStarted)
    assert first[0].events[0].previous_id == "old"
    moved = [(p.state.id, p.state.position) for p in first[1:]]
    assert moved == [("b", 1), ("c", 2)]
    assert [type(e) for e in first[1].events] == [placements.WaitingPositionChanged]


def _facts(version: int = 1, born: int = 1961, **changes: object) -> roster.ResidentFacts:
    base: dict[str, object] = {
        "resident_id": "r1",
        "community_id": "m1",
        "path": ("c", "d", "s", "m1"),
        "sex": "female",
        "birth_year": born,
        "disabled": False,
        "flags": frozenset(),
        "version": version,
    }
    return roster.ResidentFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_a_resident_under_the_threshold_joins_on_reaching_it() -> None:
    elder = roster.Elder.first_seen(_facts(born=1967), today=date(2026, 11, 30), threshold=60)
    assert elder.state.status == "younger"
    assert not elder.events
    assert not elder.enrol_if_due(today=date(2026, 12, 31), threshold=60)
    assert elder.enrol_if_due(today=date(2027, 1, 3), threshold=60)
    assert elder.state.enrolled_on == date(2027, 1, 1)
    assert isinstance(elder.events[0], roster.ElderEnrolled)
    assert not elder.enrol_if_due(today=date(2027, 1, 4), threshold=60)


def test_a_stale_state_is_ignored_and_a_move_is_recorded() -> None:
    elder = roster.Elder.first_seen(_facts(version=2), today=date(2026, 11, 30), threshold=60)
    elder.events.clear()
    assert not elder.apply(
        _facts(version=1, community_id="m9"), today=date(2026, 12, 1), threshold=60
    )
    moved = _facts(version=3, community_id="m2", path=("c", "d", "s", "m2"))
    assert elder.apply(moved, today=date(2026, 12, 1), threshold=60)
    assert isinstance(elder.events[0], roster.ElderUpdated)
    assert elder.events[0].changed == ("community_id", "path")


def test_death_ends_the_entry_once() -> None:
    elder = roster.Elder.first_seen(_facts(), today=date(2026, 11, 30), threshold=60)
    assert elder.end(
        _facts(version=2), status="deceased", on=date(2026, 12, 5), today=date(2026, 12, 6)
    )
    assert not elder.end(
        _facts(version=3), status="deceased", on=date(2026, 12, 5), today=date(2026, 12, 6)
    )
    assert elder.state.status == "deceased"
    assert not elder.apply(_facts(version=4), today=date(2026, 12, 7), threshold=60)


def test_packaged_rules_are_the_domain_ages() -> None:
    rules = {rule.kind: rule for rule in load_rules()}
    assert {k: r.age for k, r in rules.items()} == {
        "preferential_card": 65,
        "longevity_certificate": 70,
        "pension_qualification_check": 70,
        "longevity_subsidy": 90,
    }
    assert [k for k, r in rules.items() if r.monthly] == ["longevity_subsidy"]


def test_rules_refuse_unknown_kinds_and_duplicates() -> None:
    with pytest.raises(ValueError, match="unknown"):
        entitlements.parse_rules([{"kind": "free_bus", "age": 65}])
    with pytest.raises(ValueError, match="twice"):
        entitlements.parse_rules([{"kind": "preferential_card", "age": 65}] * 2)


def test_a_decision_is_final() -> None:
    rule = entitlements.EntitlementRule("longevity_subsidy", 90, monthly=True)
    entitlement = entitlements.Entitlement.propose(
        rule,
        resident_id="r1",
        community_id="m1",
        path=("m1",),
        due_on=date(2026, 1, 1),
        today=NOW.date(),
    )
    assert entitlement.state.due_on == date(2026, 1, 1)
    entitlement.grant(rule=rule, today=NOW.date(), by="clerk", monthly_amount_fen=10_000)
    assert entitlement.state.monthly_amount_fen == 10_000
    with pytest.raises(Conflict):
        entitlement.decline(reason="late", today=NOW.date(), by="clerk")


def test_months_payable_from_the_due_month_to_the_end_less_those_paid() -> None:
    due = date(2026, 1, 1)
    owed = entitlements.months_payable(due=due, today=date(2026, 4, 15), ended_on=None)
    assert owed == [date(2026, m, 1) for m in (1, 2, 3, 4)]
    paid = [date(2026, 1, 1), date(2026, 2, 1)]
    assert entitlements.months_payable(
        due=due, today=date(2026, 4, 15), ended_on=None, paid=paid
    ) == [
        date(2026, 3, 1),
        date(2026, 4, 1),
    ]
    ended = entitlements.months_payable(due=due, today=date(2026, 9, 1), ended_on=date(2026, 2, 20))
    assert ended == [date(2026, 1, 1), date(2026, 2, 1)]


def test_a_visit_is_missed_once_after_its_window() -> None:
    order = visits.Order.create(
        resident_id="r1", community_id="m1", path=("m1",), service="bathing", today=NOW.date()
    )
    order.assign(kind="carer", assignee_id="carer-1")
    visit = visits.Visit.schedule(order.state, start=NOW, end=NOW + timedelta(hours=2))
    assert not visit.miss(now=NOW + timedelta(hours=1))
    assert visit.miss(now=NOW + timedelta(hours=3))
    assert not visit.miss(now=NOW + timedelta(hours=4))
    assert [type(e) for e in visit.events] == [visits.VisitMissed]


def test_a_visit_needs_an_assigned_open_order() -> None:
    order = visits.Order.create(
        resident_id="r1", community_id="m1", path=("m1",), service="bathing", today=NOW.date()
    )
    with pytest.raises(Conflict):
        visits.Visit.schedule(order.state, start=NOW, end=NOW + timedelta(hours=1))
