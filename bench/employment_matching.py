"""Benchmark: matching on PostgreSQL. The best 20 seekers for one vacancy among 100,000 seekers
and the best 20 vacancies for one seeker among 10,000 vacancies, each through the service's
own matcher (``employment.matcher``) with every term scored, beside a same-run baseline: a plain
indexed query returning 20 rows (the 20 first seekers, or vacancies, holding one skill, by
primary key) on the same connection pool.

Run with ``make bench`` (or ``uv run python bench/employment_matching.py [--seekers N]
[--vacancies N]``). The data are generated with a fixed seed: 100 communities in 10 streets
in 2 districts, skills drawn from the taxonomy's 34 specific skills with a skew (a few skills
are common, as cleaning and cooking are), 40 % of seekers in one or two priority groups, 10 %
of vacancies public-welfare posts. Rows are written as the service writes them (the seeker and
vacancy rows and their matching-index rows), in bulk (``COPY``). Each query runs for 101
vacancies (seekers) drawn at random, after 10 warm-up queries; the median and 95th percentile
are reported. Three queries each way are checked against a full scan of every seeker or
vacancy in Python: the top 20 must be the same. Results go to
``bench/results/employment_matching.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import figures
from sqlalchemy import select, text

from employment import matcher
from employment.adapters import store
from employment.adapters.paths import path_text
from employment.adapters.tables import SeekerRow, SeekerSkillRow, VacancyRow, VacancySkillRow
from employment.domain import matching
from employment.domain.taxonomy import taxonomy
from shared.auth import Principal
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.testing.postgres import create_database, drop_database

RESULTS = Path(__file__).parent / "results" / "employment_matching.json"
EVERYONE = Principal("bench", frozenset())
TODAY = date(2026, 6, 1)
RUNS, WARM_UP, TOP = 101, 10, 20
BUDGET_MS = 200.0
GROUPS = ["laid_off", "age_4050", "disabled", "migrant_worker", "long_term_unemployed", "graduate"]
HOURS = ["full_time", "part_time", "flexible"]


def communities() -> list[tuple[str, ...]]:
    return [
        ("b", f"b{d}", f"b{d}s{s}", f"b{d}s{s}m{m}")
        for d in range(2)
        for s in range(5)
        for m in range(10)
    ]


def skills_and_weights() -> tuple[list[str], list[float]]:
    leaves = sorted(code for code, skill in taxonomy().skills.items() if skill.parent)
    return leaves, [1.0 / (rank + 1) ** 0.8 for rank in range(len(leaves))]


def draw(rng: random.Random, population: list[str], weights: list[float], k: int) -> list[str]:
    chosen: set[str] = set()
    while len(chosen) < k:
        chosen.add(rng.choices(population, weights)[0])
    return sorted(chosen)


def seeker_records(
    rng: random.Random, count: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    places, (leaves, weights) = communities(), skills_and_weights()
    now = datetime.now(UTC)
    seekers, index = [], []
    for number in range(count):
        path = rng.choice(places)
        groups = rng.sample(GROUPS, rng.choice([0, 0, 0, 1, 2])) if rng.random() < 0.67 else []
        held = draw(rng, leaves, weights, rng.randint(1, 4))
        hours = sorted(rng.sample(HOURS, rng.randint(1, 2)))
        max_hours = rng.choice([30, 40, 44, 48])
        wage = rng.choice([None, 150_000, 220_000, 300_000, 400_000])
        seeker_id = f"s{number:06d}"
        stored_path = path_text(path)
        seekers.append(
            (
                seeker_id,
                f"r{number:06d}",
                path[-1],
                stored_path,
                json.dumps(sorted(groups)),
                "[]",
                json.dumps(held),
                "senior_middle",
                json.dumps(hours),
                max_hours,
                wage,
                "[]",
                "[]",
                "seeking",
                "none",
                None,
                None,
                TODAY,
                1,
                now,
            )
        )
        mask = store.hours_mask(hours)
        index.extend(
            (code, seeker_id, len(groups), stored_path, len(path), mask, max_hours, wage, "")
            for code in sorted(taxonomy().covered(held))
        )
    return seekers, index


def vacancy_records(
    rng: random.Random, count: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    places, (leaves, weights) = communities(), skills_and_weights()
    now = datetime.now(UTC)
    vacancies, index = [], []
    for number in range(count):
        named = draw(rng, leaves, weights, rng.randint(1, 4))
        split = rng.randint(1, min(3, len(named)))
        required, nice = named[:split], named[split:]
        kind = (
            "public_welfare"
            if rng.random() < 0.1
            else rng.choice(["enterprise", "enterprise", "convenience_service"])
        )
        path = rng.choice(places)[: rng.choice([3, 4, 4])]
        hours = rng.choice(HOURS)
        per_week = rng.choice([20, 30, 40, 44, 48])
        wage = rng.choice([150_000, 200_000, 260_000, 350_000])
        partner = rng.random() < 0.2
        vacancy_id = f"v{number:06d}"
        vacancies.append(
            (
                vacancy_id,
                "bench-employer",
                kind,
                path[-1],
                path_text(path),
                "Bench post",
                json.dumps(required),
                json.dumps(nice),
                hours,
                per_week,
                wage,
                rng.randint(1, 5),
                0,
                36 if kind == "public_welfare" else None,
                "open",
                partner,
                1,
                now,
            )
        )
        stored_path, mask = path_text(path), store.hours_mask([hours])
        index.extend(
            (
                code,
                vacancy_id,
                code in required,
                len(required),
                len(nice),
                kind,
                stored_path,
                len(path),
                mask,
                per_week,
                wage,
                partner,
            )
            for code in named
        )
    return vacancies, index


async def load(url: str, seekers: int, vacancies: int) -> dict[str, float]:
    rng = random.Random(2026)
    started = time.perf_counter()
    seeker_rows, seeker_index = seeker_records(rng, seekers)
    vacancy_rows, vacancy_index = vacancy_records(rng, vacancies)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(
            "INSERT INTO employer VALUES ('bench-employer', 'Bench', 'enterprise', 'b0s0m0',"
            " '/b/b0/b0s0/b0s0m0/', false)"
        )
        for table, rows in (
            ("seeker", seeker_rows),
            ("seeker_skill", seeker_index),
            ("vacancy", vacancy_rows),
            ("vacancy_skill", vacancy_index),
        ):
            columns = [c.name for c in TABLES[table].columns]
            await connection.copy_records_to_table(table, records=rows, columns=columns)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "seeker_skill_rows": len(seeker_index),
        "vacancy_skill_rows": len(vacancy_index),
    }


TABLES = {
    "seeker": SeekerRow.__table__,
    "seeker_skill": SeekerSkillRow.__table__,
    "vacancy": VacancyRow.__table__,
    "vacancy_skill": VacancySkillRow.__table__,
}


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
    }


async def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call
    return (time.perf_counter() - started) * 1000, result


async def measure(url: str, seekers: int, vacancies: int) -> dict[str, Any]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    rng = random.Random(11)
    vacancy_ids = [f"v{rng.randrange(vacancies):06d}" for _ in range(RUNS + WARM_UP)]
    seeker_ids = [f"s{rng.randrange(seekers):06d}" for _ in range(RUNS + WARM_UP)]
    leaves, _ = skills_and_weights()
    codes = [rng.choice(leaves) for _ in range(RUNS + WARM_UP)]
    results: dict[str, Any] = {}
    try:
        async with sessions() as session:
            times, scored, prefiltered = [], [], []
            for number, vacancy_id in enumerate(vacancy_ids):
                elapsed, (_, ranking) = await timed(
                    matcher.seekers_for_vacancy(
                        session, principal=EVERYONE, vacancy_id=vacancy_id, limit=TOP, today=TODAY
                    )
                )
                if number >= WARM_UP:
                    times.append(elapsed)
                    scored.append(ranking.scored)
                    prefiltered.append(ranking.prefiltered)
            results["best_seekers_for_a_vacancy"] = {
                **summary(times),
                "median_candidates_prefiltered": statistics.median(prefiltered),
                "median_candidates_scored": statistics.median(scored),
            }
            times = []
            for number, code in enumerate(codes):
                elapsed, _ = await timed(
                    session.execute(
                        select(SeekerRow).where(
                            SeekerRow.id.in_(
                                select(SeekerSkillRow.seeker_id)
                                .where(SeekerSkillRow.skill == code)
                                .order_by(SeekerSkillRow.seeker_id)
                                .limit(TOP)
                            )
                        )
                    )
                )
                if number >= WARM_UP:
                    times.append(elapsed)
            results["baseline_20_seekers_of_one_skill"] = summary(times)

            times, scored, prefiltered = [], [], []
            for number, seeker_id in enumerate(seeker_ids):
                elapsed, (_, ranking) = await timed(
                    matcher.vacancies_for_seeker(
                        session, principal=EVERYONE, seeker_id=seeker_id, limit=TOP, today=TODAY
                    )
                )
                if number >= WARM_UP:
                    times.append(elapsed)
                    scored.append(ranking.scored)
                    prefiltered.append(ranking.prefiltered)
            results["best_vacancies_for_a_seeker"] = {
                **summary(times),
                "median_candidates_prefiltered": statistics.median(prefiltered),
                "median_candidates_scored": statistics.median(scored),
            }
            times = []
            for number, code in enumerate(codes):
                elapsed, _ = await timed(
                    session.execute(
                        select(VacancyRow).where(
                            VacancyRow.id.in_(
                                select(VacancySkillRow.vacancy_id)
                                .where(VacancySkillRow.skill == code)
                                .order_by(VacancySkillRow.vacancy_id)
                                .limit(TOP)
                            )
                        )
                    )
                )
                if number >= WARM_UP:
                    times.append(elapsed)
            results["baseline_20_vacancies_of_one_skill"] = summary(times)
            results["exact_against_a_full_scan"] = await check_exact(
                session, vacancy_ids[:3], seeker_ids[:3]
            )
    finally:
        await engine.dispose()
    return results


async def check_exact(session: Any, vacancy_ids: list[str], seeker_ids: list[str]) -> bool:
    """The matcher's top 20 equal a full scan of every eligible candidate's (sharing a skill
    or not), for a few queries each way."""
    people = [
        matcher.seeker_profile(store.seeker_snapshot(row))
        for row in (await session.scalars(select(SeekerRow))).all()
    ]
    offers = [
        matcher.vacancy_profile(store.vacancy_snapshot(row))
        for row in (await session.scalars(select(VacancyRow))).all()
    ]
    for vacancy_id in vacancy_ids:
        offer = next(o for o in offers if o.vacancy_id == vacancy_id)
        full = sorted(
            (matching.seeker_rank(matching.score(p, offer).total, p), p.seeker_id)
            for p in people
            if matching.eligible(p, offer)
        )[:TOP]
        _, ranking = await matcher.seekers_for_vacancy(
            session, principal=EVERYONE, vacancy_id=vacancy_id, limit=TOP, today=TODAY
        )
        if [c.id for c in ranking.candidates] != [ident for _, ident in full]:
            return False
    for seeker_id in seeker_ids:
        person = next(p for p in people if p.seeker_id == seeker_id)
        full = sorted(
            (matching.vacancy_rank(matching.score(person, o).total, o), o.vacancy_id)
            for o in offers
            if matching.eligible(person, o)
        )[:TOP]
        _, ranking = await matcher.vacancies_for_seeker(
            session, principal=EVERYONE, seeker_id=seeker_id, limit=TOP, today=TODAY
        )
        if [c.id for c in ranking.candidates] != [ident for _, ident in full]:
            return False
    return True


async def run(seekers: int, vacancies: int) -> dict[str, Any]:
    url = create_database("shequ_bench_matching")
    try:
        await asyncio.to_thread(upgrade, "employment", url)
        loaded = await load(url, seekers, vacancies)
        async with create_engine(url, pooled=False).connect() as connection:
            await connection.execute(text("SELECT 1"))
        measured = await measure(url, seekers, vacancies)
    finally:
        drop_database(url)
    within = all(
        measured[name]["median_ms"] < BUDGET_MS
        for name in ("best_seekers_for_a_vacancy", "best_vacancies_for_a_seeker")
    )
    return {
        "benchmark": "employment matching on PostgreSQL: best 20 of each side, every term scored",
        "seekers": seekers,
        "vacancies": vacancies,
        "load": loaded,
        **measured,
        "budget_median_ms": BUDGET_MS,
        "within_budget": within,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seekers", type=int, default=100_000)
    parser.add_argument("--vacancies", type=int, default=10_000)
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    result = asyncio.run(run(args.seekers, args.vacancies))
    print(json.dumps(result, indent=2))
    if not args.no_save:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        figures.record("employment_matching", figures_of(result))


def figures_of(result: dict[str, Any]) -> list[figures.Figure]:
    """The run's figures for the benchmark table (bench/run.py): median top-20 latency beside
    a plain indexed look-up of 20 rows of one skill."""
    seekers, vacancies = result["seekers"], result["vacancies"]
    best_seekers = result["best_seekers_for_a_vacancy"]
    best_vacancies = result["best_vacancies_for_a_seeker"]
    return [
        figures.Figure(
            f"matching: top 20 of {seekers:,} seekers for a vacancy (median)",
            "ms",
            best_seekers["median_ms"],
            result["baseline_20_seekers_of_one_skill"]["median_ms"],
            "20 seekers of one skill, indexed",
            lower_is_better=True,
            aim=f"<= {result['budget_median_ms']:.0f} ms",
        ),
        figures.Figure(
            f"matching: top 20 of {vacancies:,} vacancies for a seeker (median)",
            "ms",
            best_vacancies["median_ms"],
            result["baseline_20_vacancies_of_one_skill"]["median_ms"],
            "20 vacancies of one skill, indexed",
            lower_is_better=True,
            aim=f"<= {result['budget_median_ms']:.0f} ms",
        ),
    ]


if __name__ == "__main__":
    main()
