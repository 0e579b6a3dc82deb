"""Benchmark: the synthetic city's households and residents through the registry's bulk import
into PostgreSQL, at 10,000, 100,000 and 1,000,000 residents: how the cost grows with size.

Run with ``make bench`` (or ``uv run python bench/city_import.py [--scales 10000,100000]``).
The scales grow one register: the communities of the ``city``-sized synthetic city
(:mod:`shared.city.plan`, seed 2005) are taken in order, and each scale imports, through
:func:`registry.importer.import_rows` (the code behind ``POST /imports``, without HTTP), the
areas, then the households, then the residents of the communities that take the register from
the scale before (none, for the first) to that many residents, into the database already holding
them. So each rate is the import's at that size, and the rows before it are imported once, not
again per scale. Beside each, in the same run and database, the baseline is a plain multi-row
INSERT of the same rows into a bare table (:func:`registry_import.baseline_insert`). Facilities,
workers and volunteers are not timed (a few hundred rows per community, imported row by row).
``make bench`` goes to a million residents; ``--scales 10000,100000`` stops earlier, and
``--scales 10000,100000,1000000,city`` goes on to the whole ``city`` (1,043 communities, about
5.8 million residents: longer than ``make bench`` may take, so not part of it). Results go to
``bench/results/city_import.json`` and the benchmark table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import figures
from registry_import import baseline_household_insert, baseline_insert, lines_of
from sqlalchemy import text

from registry import importer
from registry.adapters.events import translate
from registry.pii import PiiProtector
from registry.settings import Settings
from shared.city.plan import CITY_ID, SIZES, draw_city, iter_city
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from shared.testing.postgres import create_database, drop_database

RESULTS = Path(__file__).parent / "results" / "city_import.json"
PROFILE = Path(__file__).parent / "results" / "city_import_profile.txt"
SEED = 2005
TODAY = date(2026, 11, 30)
"""Fixed, so every run imports the same rows."""
TARGET_RESIDENTS_PER_S = 10_000
SCALES = (10_000, 100_000, 1_000_000)
"""What ``make bench`` imports: 10,000, then 100,000, then a million residents (about 3 minutes
at 10,000 residents/s, the households and the baselines included)."""
WHOLE_CITY = "city"
"""The ``--scales`` value for every community of the ``city``-sized synthetic city."""


class CityRows:
    """The ``city``-sized synthetic city's rows, drawn once, in order, as the scales need them."""

    def __init__(self) -> None:
        self.plan = draw_city(SIZES["city"], seed=SEED, today=TODAY)
        self.communities = iter_city(self.plan)
        self.taken = 0
        self.residents = 0
        self.areas_written: set[str] = set()

    def write_files(self, folder: Path, residents: int) -> tuple[Path, Path, Path]:
        """Areas, households and residents NDJSON of the next communities, until the register
        holds ``residents`` residents or the city has no more; the areas are those not
        written before."""
        paths = (folder / "areas.ndjson", folder / "households.ndjson", folder / "residents.ndjson")
        first = self.taken
        with paths[1].open("w") as homes, paths[2].open("w") as people:
            while self.residents < residents:
                found = next(self.communities, None)
                if found is None:  # the whole city is in
                    break
                _community, drawn = found
                self.taken += 1
                for row in drawn.rows:
                    if row["type"] == "household":
                        homes.write(json.dumps(row, ensure_ascii=False) + "\n")
                    elif row["type"] == "resident":
                        people.write(json.dumps(row, ensure_ascii=False) + "\n")
                        self.residents += 1
        new = self.plan.communities[first : self.taken]
        wanted = {CITY_ID} | {a for c in new for a in (c.district_id, c.street_id, c.id)}
        with paths[0].open("w") as areas:
            for row in self.plan.area_rows:
                if row["id"] in wanted and row["id"] not in self.areas_written:
                    areas.write(json.dumps(row, ensure_ascii=False) + "\n")
                    self.areas_written.add(row["id"])
        return paths


async def one_scale(
    sessions: Any, engine: Any, pii: PiiProtector, city: CityRows, residents: int
) -> dict[str, Any]:
    """Grow the register to ``residents`` residents, with the baselines of the same rows."""
    before = city.residents
    with tempfile.TemporaryDirectory() as folder:
        areas, homes, people = await asyncio.to_thread(city.write_files, Path(folder), residents)
        timings: dict[str, dict[str, float]] = {}
        for name, path in (("areas", areas), ("households", homes), ("residents", people)):
            started = time.perf_counter()
            report = await importer.import_rows(
                sessions, translate=translate, pii=pii, lines=lines_of(path), fmt="ndjson"
            )
            seconds = time.perf_counter() - started
            if report.rejected:
                raise SystemExit(f"{name}: {report.rejected} rejected: {report.rejected_rows[:3]}")
            timings[name] = {
                "rows": report.rows,
                "seconds": round(seconds, 3),
                "rows_per_s": round(report.rows / seconds, 1),
            }
            label = WHOLE_CITY if residents == sys.maxsize else f"{residents:,}"
            print(f"{label}: {name} {timings[name]}", flush=True)
        async with engine.begin() as connection:  # each scale's baselines in bare new tables
            await connection.execute(
                text("DROP TABLE IF EXISTS bench_plain, bench_plain_household")
            )
        baseline = await baseline_insert(engine, people)
        household_baseline = await baseline_household_insert(engine, homes)
    return {
        "communities": city.taken,
        "residents_before": before,
        "residents_after": city.residents,
        "import": timings,
        "baseline_plain_insert_residents_per_s": baseline,
        "baseline_plain_insert_households_per_s": household_baseline,
    }


async def run(scales: list[int], *, save: bool = False) -> dict[str, Any]:
    """Every scale in turn, smallest first, growing one register; with ``save`` the results
    so far are written after each (so a run stopped during the largest keeps the smaller)."""
    results: dict[str, Any] = {}
    url = create_database("shequ_bench_city")
    try:
        await asyncio.to_thread(upgrade, "registry", url)
        settings = Settings(database_url=url, environment="development")
        pii = PiiProtector.from_settings(settings)
        engine = create_engine(url)
        sessions = session_factory(engine)
        city = CityRows()
        for scale in sorted(scales):
            measured = await one_scale(sessions, engine, pii, city, scale)
            # the whole city is named by its size, as the other scales are
            results[str(measured["residents_after"] if scale == sys.maxsize else scale)] = measured
            if save:
                write(summary(results))
        await engine.dispose()
    finally:
        drop_database(url)
    return summary(results)


def write(result: dict[str, Any]) -> None:
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    figures.record("city_import", figures_of(result))


def summary(results: dict[str, Any]) -> dict[str, Any]:
    return {
        "benchmark": "synthetic city households and residents through the registry bulk import "
        "(PostgreSQL), by size: each scale grows the register of the scale before",
        "seed": SEED,
        "scales": results,
        "target_residents_per_s": TARGET_RESIDENTS_PER_S,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_1_5_15_min_at_end": list(os.getloadavg()),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def figures_of(result: dict[str, Any]) -> list[figures.Figure]:
    """The run's figures for the benchmark table (bench/run.py): per scale, residents/s and
    households/s beside a plain INSERT of the same rows."""
    found = []
    previous = 0
    for scale, measured in result["scales"].items():
        imported = measured["import"]
        size = f"{int(scale):,}" if not previous else f"{previous:,} to {int(scale):,}"
        previous = int(scale)
        found.append(
            figures.Figure(
                f"city import at {size} residents: residents",
                "rows/s",
                imported["residents"]["rows_per_s"],
                measured["baseline_plain_insert_residents_per_s"],
                "plain multi-row INSERT",
                aim=f">= {result['target_residents_per_s']:,} rows/s",
            )
        )
        found.append(
            figures.Figure(
                f"city import at {size} residents: {imported['households']['rows']:,} households",
                "rows/s",
                imported["households"]["rows_per_s"],
                measured["baseline_plain_insert_households_per_s"],
                "plain multi-row INSERT",
            )
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--scales",
        default=",".join(str(scale) for scale in SCALES),
        help="residents per scale, comma-separated (each grows the register of the one before)",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    parser.add_argument(
        "--profile", action="store_true", help=f"profile with pyinstrument into {PROFILE}"
    )
    args = parser.parse_args()
    scales = [
        sys.maxsize if part.strip() == WHOLE_CITY else int(part)
        for part in args.scales.split(",")
        if part.strip()
    ]
    if args.profile:
        from pyinstrument import Profiler

        with Profiler(async_mode="disabled", interval=0.002) as profiler:
            result = asyncio.run(run(scales, save=not args.no_save))
        PROFILE.write_text(profiler.output_text(color=False, show_all=False, short_mode=False))
    else:
        result = asyncio.run(run(scales, save=not args.no_save))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
