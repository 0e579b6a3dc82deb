"""The matcher's early-stopping search returns exactly the top k of a full scan, on PostgreSQL,
both ways, with area confinement and public-welfare eligibility."""

from __future__ import annotations

import asyncio
import random
from datetime import date

import pytest

from employment import matcher
from employment.adapters import store
from employment.adapters.paths import path_text
from employment.adapters.tables import AreaRow
from employment.domain import matching
from employment.domain.seekers import Preferences, Seeker, SeekerSnapshot
from employment.domain.taxonomy import taxonomy
from employment.domain.vacancies import EmployerSnapshot, Vacancy, VacancyTerms
from shared.auth import Principal
from shared.db import create_engine, session_factory
from shared.migrations import upgrade

pytestmark = pytest.mark.integration

TODAY = date(2026, 6, 1)
EVERYONE = Principal("test", frozenset())
COMMUNITIES = [
    ("c", f"d{d}", f"d{d}s{s}", f"d{d}s{s}m{m}") for d in (1, 2) for s in (1, 2) for m in (1, 2)
]
LEAVES = sorted(code for code, skill in taxonomy().skills.items() if skill.parent)[:12]
EMPLOYER = EmployerSnapshot("e", "E", "public_body", "m", COMMUNITIES[0], False)
GROUPS = ["laid_off", "age_4050", "disabled", "graduate"]


def seekers(rng: random.Random, count: int) -> list[Seeker]:
    found = []
    for number in range(count):
        path = rng.choice(COMMUNITIES)
        state = SeekerSnapshot(
            id=f"s{number:05d}",
            resident_id=f"r{number:05d}",
            community_id=path[-1],
            path=path,
            derived_groups=frozenset(rng.sample(GROUPS, rng.choice([0, 0, 1, 2]))),  # type: ignore[arg-type]
            recorded_groups=frozenset(),
            skills=tuple(sorted(rng.sample(LEAVES, rng.randint(1, 3)))),
            education="senior_middle",
            preferences=Preferences(
                frozenset(rng.sample(["full_time", "part_time", "flexible"], rng.randint(1, 2))),  # type: ignore[arg-type]
                rng.choice([30, 40, 44]),
                rng.choice([None, 150_000, 250_000, 350_000]),
                *rng.choice(
                    [((), ()), (("d2",), (("c", "d2"),)), (("d1s2m1",), (COMMUNITIES[3],))]
                ),
            ),
            status="seeking",
            card="none",
            card_changed_on=None,
            card_revocation=None,
            registered_on=TODAY,
            version=1,
        )
        found.append(Seeker(state))
    return found


def vacancies(rng: random.Random, count: int) -> list[Vacancy]:
    found = []
    for number in range(count):
        skills = rng.sample([*LEAVES, "repair", "care"], rng.randint(1, 4))
        required = rng.randint(1, len(skills))
        kind = rng.choice(["enterprise", "enterprise", "public_welfare", "convenience_service"])
        found.append(
            Vacancy.post(
                vacancy_id=f"v{number:05d}",
                employer=EMPLOYER,
                kind=kind,  # type: ignore[arg-type]
                community_id="x",
                path=rng.choice(COMMUNITIES)[: rng.choice([3, 4])],
                terms=VacancyTerms(
                    title="t",
                    required_skills=tuple(sorted(skills[:required])),
                    nice_skills=tuple(sorted(skills[required:])),
                    hours=rng.choice(["full_time", "part_time", "flexible"]),  # type: ignore[arg-type]
                    hours_per_week=rng.choice([20, 40, 48]),
                    wage_fen=rng.choice([120_000, 200_000, 300_000]),
                    posts=1,
                    max_tenure_months=None,
                ),
            )
        )
    return found


async def test_top_k_equals_a_full_scan(fresh_postgres_url: str) -> None:
    await asyncio.to_thread(upgrade, "employment", fresh_postgres_url)
    engine = create_engine(fresh_postgres_url, pooled=False)
    sessions = session_factory(engine)
    rng = random.Random(7)
    people, offers = seekers(rng, 1500), vacancies(rng, 400)
    try:
        async with sessions() as session, session.begin():
            session.add(AreaRow(id="c", level="city", path=path_text(["c"]), retired=False))
            for seeker in people:
                await store.save_seeker(session, seeker)
            await store.save_employer(session, EMPLOYER)
            await session.flush()
            for vacancy in offers:
                await store.save_vacancy(session, vacancy)
        async with sessions() as session:
            for vacancy in offers[:25]:
                _, ranking = await matcher.seekers_for_vacancy(
                    session, principal=EVERYONE, vacancy_id=vacancy.state.id, limit=20, today=TODAY
                )
                assert [c.id for c in ranking.candidates] == full_scan_seekers(
                    people, vacancy, area=None
                )
                assert ranking.scored <= ranking.prefiltered
            confined = Principal("test", frozenset(), area="d1s2")
            for vacancy in offers[25:35]:
                _, ranking = await matcher.seekers_for_vacancy(
                    session, principal=confined, vacancy_id=vacancy.state.id, limit=10, today=TODAY
                )
                assert [c.id for c in ranking.candidates] == full_scan_seekers(
                    people, vacancy, area="d1s2", k=10
                )
            for seeker in people[:25]:
                _, ranking = await matcher.vacancies_for_seeker(
                    session, principal=EVERYONE, seeker_id=seeker.state.id, limit=20, today=TODAY
                )
                assert [c.id for c in ranking.candidates] == full_scan_vacancies(offers, seeker)
    finally:
        await engine.dispose()


def full_scan_seekers(
    people: list[Seeker], vacancy: Vacancy, *, area: str | None, k: int = 20
) -> list[str]:
    offer = matcher.vacancy_profile(vacancy.state)
    scored = []
    for seeker in people:
        profile = matcher.seeker_profile(seeker.state)
        if area is not None and area not in seeker.state.path:
            continue
        shares = (offer.required | offer.nice) & profile.covered
        if not shares or not matching.eligible(profile, offer):
            continue
        total = matching.score(profile, offer).total
        scored.append((matching.seeker_rank(total, profile), profile.seeker_id))
    return [ident for _, ident in sorted(scored)[:k]]


def full_scan_vacancies(offers: list[Vacancy], seeker: Seeker) -> list[str]:
    profile = matcher.seeker_profile(seeker.state)
    scored = []
    for vacancy in offers:
        offer = matcher.vacancy_profile(vacancy.state)
        shares = (offer.required | offer.nice) & profile.covered
        if not shares or not matching.eligible(profile, offer):
            continue
        total = matching.score(profile, offer).total
        scored.append((matching.vacancy_rank(total, offer), offer.vacancy_id))
    return [ident for _, ident in sorted(scored)[:20]]
