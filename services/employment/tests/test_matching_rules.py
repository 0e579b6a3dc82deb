"""The scoring rules of matching: each term, the priority tie-break, public-welfare
eligibility, near misses, and the bound the matcher stops on."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from employment.domain import matching
from employment.domain.matching import SeekerProfile, VacancyProfile
from employment.domain.taxonomy import taxonomy

HOME = ("c", "d1", "s1", "m1")


def seeker(**changes: object) -> SeekerProfile:
    base = SeekerProfile(
        seeker_id="s-1",
        path=HOME,
        covered=taxonomy().covered(["catering.cook", "care.housekeeping"]),
        hours=frozenset({"full_time"}),
        max_hours_per_week=44,
        wage_expectation_fen=200_000,
        priority_groups=frozenset(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def vacancy(**changes: object) -> VacancyProfile:
    base = VacancyProfile(
        vacancy_id="v-1",
        kind="enterprise",
        path=HOME,
        required=frozenset({"catering.cook"}),
        nice=frozenset(),
        hours="full_time",
        hours_per_week=40,
        wage_fen=250_000,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def term(score: matching.Score, name: str) -> float:
    return next(t.points for t in score.terms if t.term == name)


def test_a_perfect_match_scores_every_term_in_full() -> None:
    found = matching.score(seeker(), vacancy())
    assert [t.term for t in found.terms] == [
        "skill_coverage",
        "missing_required",
        "distance",
        "hours",
        "wage",
        "priority",
    ]
    assert found.total == 40 + 0 + 15 + 10 + 10 + 0
    assert found.missing_required == ()
    assert all(t.reason for t in found.terms)


def test_skill_coverage_counts_nice_to_have_skills_half() -> None:
    wanted = vacancy(
        required=frozenset({"catering.cook", "repair.plumbing"}),
        nice=frozenset({"care.housekeeping", "retail.sales"}),
    )
    found = matching.score(seeker(), wanted)
    # (1 required + ½ × 1 nice) / (2 + ½ × 2) = 1.5 / 3
    assert term(found, "skill_coverage") == 20.0
    assert term(found, "missing_required") == -15.0
    assert found.missing_required == ("repair.plumbing",)


def test_a_narrower_skill_covers_a_broader_requirement_but_not_the_reverse() -> None:
    assert (
        term(matching.score(seeker(), vacancy(required=frozenset({"catering"}))), "skill_coverage")
        == 40
    )
    broad = seeker(covered=taxonomy().covered(["catering"]))
    found = matching.score(broad, vacancy())
    assert term(found, "skill_coverage") == 0.0
    assert term(found, "missing_required") == -15.0


def test_each_missing_required_skill_costs_fifteen_points() -> None:
    wanted = vacancy(required=frozenset({"repair.plumbing", "repair.welding", "retail.sales"}))
    assert term(matching.score(seeker(), wanted), "missing_required") == -45.0


@pytest.mark.parametrize(
    ("place", "points"),
    [
        (HOME, 15.0),  # same community
        (("c", "d1", "s1", "m2"), 10.0),  # same street
        (("c", "d1", "s1"), 12.5),  # the street itself
        (("c", "d1", "s2", "m3"), 5.0),  # same district
        (("c", "d2", "s3", "m4"), 0.0),  # another district
    ],
)
def test_distance_in_the_area_tree(place: tuple[str, ...], points: float) -> None:
    assert term(matching.score(seeker(), vacancy(path=place)), "distance") == points


def test_a_place_in_a_preferred_area_scores_as_near() -> None:
    far = vacancy(path=("c", "d2", "s3", "m4"))
    assert term(matching.score(seeker(preferred_paths=(("c", "d2"),)), far), "distance") == 15.0


def test_hours_fit_overrun_and_unaccepted_working_time() -> None:
    assert term(matching.score(seeker(), vacancy(hours_per_week=44)), "hours") == 10.0
    assert term(matching.score(seeker(), vacancy(hours_per_week=50)), "hours") == 7.0
    assert term(matching.score(seeker(), vacancy(hours="part_time")), "hours") == 0.0


def test_wage_fit() -> None:
    assert term(matching.score(seeker(), vacancy(wage_fen=200_000)), "wage") == 10.0
    assert term(matching.score(seeker(), vacancy(wage_fen=180_000)), "wage") == 8.0
    assert term(matching.score(seeker(), vacancy(wage_fen=90_000)), "wage") == 0.0
    assert (
        term(matching.score(seeker(wage_expectation_fen=None), vacancy(wage_fen=1)), "wage") == 10
    )


def test_priority_group_weight() -> None:
    def points(*groups: str) -> float:
        return term(
            matching.score(seeker(priority_groups=frozenset(groups)), vacancy()), "priority"
        )

    assert points() == 0.0
    assert points("laid_off") == 10.0
    assert points("laid_off", "age_4050") == 12.5
    assert points("laid_off", "age_4050", "disabled", "graduate") == 15.0


def test_equal_scores_rank_the_priority_group_seeker_first() -> None:
    plain = seeker(seeker_id="a-plain", wage_expectation_fen=None)
    # the laid-off seeker loses exactly the 10 priority points on wage: equal totals
    laid_off = seeker(
        seeker_id="z-laid-off",
        priority_groups=frozenset({"laid_off"}),
        wage_expectation_fen=500_000,
    )
    offer = vacancy(wage_fen=250_000)
    plain_score, laid_off_score = matching.score(plain, offer), matching.score(laid_off, offer)
    assert plain_score.total == laid_off_score.total
    ranked = matching.best_of(
        [
            (matching.seeker_rank(plain_score.total, plain), plain.seeker_id),
            (matching.seeker_rank(laid_off_score.total, laid_off), laid_off.seeker_id),
        ],
        2,
    )
    assert ranked == ["z-laid-off", "a-plain"]


def test_equal_vacancies_rank_training_partner_employers_first() -> None:
    plain, partner = vacancy(vacancy_id="a"), vacancy(vacancy_id="b", training_partner=True)
    keys = [(matching.vacancy_rank(50.0, v), v.vacancy_id) for v in (plain, partner)]
    assert matching.best_of(keys, 2) == ["b", "a"]


def test_public_welfare_posts_go_only_to_priority_groups() -> None:
    welfare = vacancy(kind="public_welfare")
    assert not matching.eligible(seeker(), welfare)
    assert matching.eligible(seeker(priority_groups=frozenset({"disabled"})), welfare)
    assert matching.eligible(seeker(), vacancy(kind="convenience_service"))


def test_a_near_miss_lacks_one_or_two_required_skills() -> None:
    def missing(count: int) -> matching.Score:
        codes = ["repair.plumbing", "repair.welding", "retail.sales"][:count]
        return matching.score(seeker(), vacancy(required=frozenset({"catering.cook", *codes})))

    assert [missing(n).near_miss for n in range(4)] == [False, True, True, False]


@given(
    required=st.integers(1, 5),
    nice=st.integers(0, 4),
    held=st.sets(st.sampled_from(sorted(taxonomy().skills)), max_size=6),
    groups=st.sets(st.sampled_from(["laid_off", "age_4050", "disabled", "graduate"])),
    hours=st.integers(1, 84),
    wage=st.integers(1, 1_000_000),
    place=st.sampled_from([HOME, ("c", "d1"), ("c", "d2", "s3", "m4")]),
)
def test_the_bound_is_never_below_the_exact_score(
    required: int,
    nice: int,
    held: set[str],
    groups: set[str],
    hours: int,
    wage: int,
    place: tuple[str, ...],
) -> None:
    codes = sorted(taxonomy().skills)
    wanted = vacancy(
        required=frozenset(codes[:required]),
        nice=frozenset(codes[required : required + nice]),
        hours_per_week=hours,
        wage_fen=wage,
        path=place,
    )
    person = seeker(covered=taxonomy().covered(held), priority_groups=frozenset(groups))
    exact = matching.score(person, wanted)
    bound = matching.upper_bound(
        required=required,
        required_covered=len(wanted.required & person.covered),
        nice=nice,
        nice_covered=len(wanted.nice & person.covered),
        groups=len(groups),
    )
    assert exact.total <= bound + 1e-9


def test_top_k_keeps_the_best_in_rank_order() -> None:
    keys = [
        ((-float(score), flag, 0, ident), ident)
        for score, flag, ident in itertools.product(range(5), (0, 1), "abc")
    ]
    top = matching.TopK(4)
    for key, item in reversed(keys):
        top.offer(key, item)
    assert top.best() == [item for _, item in sorted(keys)[:4]]
    assert top.threshold() == 4.0
