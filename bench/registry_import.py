"""Benchmark: import 100,000 households and 100,000 residents from NDJSON into PostgreSQL,
with their events and history, through the bulk path (one insert per run of rows).

Run with ``make bench`` (or ``uv run python bench/registry_import.py [--residents N]
[--households N]``). Reports rows/s for each import and, as baselines measured in the same run
on the same database, rows/s for a plain multi-row INSERT of the same residents, and of the
same households, into bare tables (no validation, encryption, events, history or indexes):
the ratios import / baseline are what to compare between machines and commits. Results go to
``bench/results/registry_import.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import figures
from sqlalchemy import text

from registry import importer
from registry.adapters.events import translate
from registry.domain.national_id import check_character
from registry.pii import PiiProtector
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.testing.postgres import create_database, drop_database

COMMUNITIES = 50
HOUSEHOLD_SIZE = 4
RESULTS = Path(__file__).parent / "results" / "registry_import.json"
EMPLOYMENT = ["employed", "laid_off", "unemployed", "retired", "student", "not_in_labour_force"]


def write_files(
    folder: Path, residents: int, households: int, seed: int = 11
) -> tuple[Path, Path, Path]:
    """Areas, households and residents NDJSON files (valid, unique id numbers); residents
    live in the first ``residents // HOUSEHOLD_SIZE`` households."""
    rng = random.Random(seed)
    areas = [
        {"type": "area", "id": "b0", "level": "city", "name": "Bench", "valid_from": "2000-01-01"},
        {
            "type": "area",
            "id": "b0d",
            "level": "district",
            "name": "D",
            "parent_id": "b0",
            "valid_from": "2000-01-01",
        },
    ]
    for street in range(5):
        areas.append(
            {
                "type": "area",
                "id": f"b0s{street}",
                "level": "street",
                "name": "S",
                "parent_id": "b0d",
                "valid_from": "2000-01-01",
            }
        )
    for community in range(COMMUNITIES):
        areas.append(
            {
                "type": "area",
                "id": f"b0c{community}",
                "level": "community",
                "name": "C",
                "parent_id": f"b0s{community % 5}",
                "valid_from": "2000-01-01",
                "household_count": 2000,
            }
        )
    homes = max(1, residents // HOUSEHOLD_SIZE)
    paths = (folder / "areas.ndjson", folder / "households.ndjson", folder / "residents.ndjson")
    paths[0].write_text("".join(json.dumps(a) + "\n" for a in areas))
    with paths[1].open("w") as out:
        for number in range(households):
            out.write(
                json.dumps(
                    {
                        "type": "household",
                        "ref": f"H{number}",
                        "community_id": f"b0c{number % COMMUNITIES}",
                        "address": f"{number} Bench Road",
                        "registered_on": "2010-01-01",
                    }
                )
                + "\n"
            )
    start = date(1930, 1, 1)
    with paths[2].open("w") as out:
        for number in range(residents):
            born = start + timedelta(days=number % 27_000)
            sequence = number // 27_000 * 2 + rng.randrange(0, 2)  # unique per date, any sex
            first17 = f"110105{born:%Y%m%d}{sequence:03d}"
            out.write(
                json.dumps(
                    {
                        "type": "resident",
                        "national_id": first17 + check_character(first17),
                        "name": f"Resident {number}",
                        "sex": "male" if sequence % 2 else "female",
                        "birth_date": born.isoformat(),
                        "household_ref": f"H{number % homes}",
                        "employment_status": rng.choice(EMPLOYMENT),
                        "flags": ["empty_nest"] if number % 17 == 0 else [],
                    }
                )
                + "\n"
            )
    return paths


async def lines_of(path: Path) -> AsyncIterator[str]:
    """The file's lines (read as a stream, as the HTTP endpoint does)."""
    with path.open() as source:
        for line in source:
            yield line


async def run(residents: int, households: int) -> dict[str, object]:
    url = create_database("shequ_bench")
    try:
        await asyncio.to_thread(upgrade, "registry", url)
        settings = Settings(database_url=url, environment="development")  # development PII keys
        pii = PiiProtector.from_settings(settings)
        engine = create_engine(url)
        sessions = session_factory(engine)
        with tempfile.TemporaryDirectory() as folder:
            areas, homes, people = write_files(Path(folder), residents, households)
            timings: dict[str, dict[str, float]] = {}
            for name, path in [("areas", areas), ("households", homes), ("residents", people)]:
                started = time.perf_counter()
                report = await importer.import_rows(
                    sessions, translate=translate, pii=pii, lines=lines_of(path), fmt="ndjson"
                )
                seconds = time.perf_counter() - started
                if report.rejected:
                    raise SystemExit(
                        f"{name}: {report.rejected} rows rejected: {report.rejected_rows[:3]}"
                    )
                timings[name] = {
                    "rows": report.rows,
                    "seconds": round(seconds, 3),
                    "rows_per_s": round(report.rows / seconds, 1),
                }
            baseline = await baseline_insert(engine, people)
            household_baseline = await baseline_household_insert(engine, homes)
        async with sessions() as session:
            events = await session.scalar(
                text("SELECT count(*) FROM outbox WHERE event_type LIKE '%resident.registered%'")
            )
        await engine.dispose()
    finally:
        drop_database(url)
    imported = timings["residents"]["rows_per_s"]
    return {
        "benchmark": "registry bulk import of households and residents from NDJSON into PostgreSQL",
        "residents": residents,
        "households": households,
        "resident_events": events,
        "import": timings,
        "baseline_plain_insert_rows_per_s": baseline,
        "ratio_import_to_baseline": round(imported / baseline, 3),
        "baseline_plain_insert_households_rows_per_s": household_baseline,
        "ratio_household_import_to_baseline": round(
            timings["households"]["rows_per_s"] / household_baseline, 3
        ),
        "households_per_row_path_rows_per_s_before": 306.8,
        "target_rows_per_s": 10_000,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


async def baseline_insert(engine: object, people: Path) -> float:
    """Rows/s of a plain multi-row INSERT of the same residents into a bare table."""
    rows = []
    with people.open() as source:
        for line in source:
            record = json.loads(line)
            rows.append(
                {
                    "national_id": record["national_id"],
                    "name": record["name"],
                    "birth_date": date.fromisoformat(record["birth_date"]),
                    "household": record["household_ref"],
                }
            )
    async with engine.begin() as connection:  # type: ignore[attr-defined]
        await connection.execute(
            text(
                "CREATE TABLE bench_plain"
                " (national_id text, name text, birth_date date, household text)"
            )
        )
    started = time.perf_counter()
    for start in range(0, len(rows), 1000):
        async with engine.begin() as connection:  # type: ignore[attr-defined]
            await connection.execute(
                text(
                    "INSERT INTO bench_plain VALUES (:national_id, :name, :birth_date, :household)"
                ),
                rows[start : start + 1000],
            )
    return round(len(rows) / (time.perf_counter() - started), 1)


async def baseline_household_insert(engine: object, homes: Path) -> float:
    """Rows/s of a plain multi-row INSERT of the same households into a bare table."""
    rows = []
    with homes.open() as source:
        for line in source:
            record = json.loads(line)
            rows.append(
                {
                    "ref": record["ref"],
                    "community": record["community_id"],
                    "address": record["address"],
                    "registered_on": date.fromisoformat(record["registered_on"]),
                }
            )
    async with engine.begin() as connection:  # type: ignore[attr-defined]
        await connection.execute(
            text(
                "CREATE TABLE bench_plain_household"
                " (ref text, community text, address text, registered_on date)"
            )
        )
    started = time.perf_counter()
    for start in range(0, len(rows), 1000):
        async with engine.begin() as connection:  # type: ignore[attr-defined]
            await connection.execute(
                text(
                    "INSERT INTO bench_plain_household"
                    " VALUES (:ref, :community, :address, :registered_on)"
                ),
                rows[start : start + 1000],
            )
    return round(len(rows) / (time.perf_counter() - started), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    result = asyncio.run(run(args.residents, args.households))
    print(json.dumps(result, indent=2))
    if not args.no_save:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        figures.record("registry_import", figures_of(result))


def figures_of(result: dict[str, Any]) -> list[figures.Figure]:
    """The run's figures for the benchmark table (bench/run.py)."""
    imported = result["import"]
    return [
        figures.Figure(
            f"registry import: {imported['residents']['rows']:,} residents",
            "rows/s",
            imported["residents"]["rows_per_s"],
            result["baseline_plain_insert_rows_per_s"],
            "plain multi-row INSERT",
            aim=f">= {result['target_rows_per_s']:,} rows/s",
        ),
        figures.Figure(
            f"registry import: {imported['households']['rows']:,} households",
            "rows/s",
            imported["households"]["rows_per_s"],
            result["baseline_plain_insert_households_rows_per_s"],
            "plain multi-row INSERT",
        ),
    ]


if __name__ == "__main__":
    main()
