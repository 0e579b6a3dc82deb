"""Run every benchmark, print one table, and put it in the README (``make bench``).

Each script runs in a process of its own and records its figures in ``bench/results.json``
(:mod:`figures`); then the table of all figures is printed and written between the README's
``<!-- bench-table:start -->`` and ``<!-- bench-table:end -->`` markers, with the machine, the
date and the run's wall time. ``--only NAME`` runs some scripts (repeatable); ``--table``
only prints and writes the table of the figures already recorded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import figures

BENCH = Path(__file__).parent
README = BENCH.parent / "README.md"
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
SCRIPTS = (
    "consumer_relay",
    "metrics_ingest",
    "api_reads",
    "employment_matching",
    "registry_import",
    "city_import",
)
"""In the order of the issue's list of figures."""


def run_scripts(names: list[str]) -> dict[str, tuple[int, float]]:
    """Run each script; its exit code and seconds."""
    outcome: dict[str, tuple[int, float]] = {}
    for name in names:
        print(f"\n=== bench/{name}.py", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(BENCH / f"{name}.py")], cwd=BENCH.parent)
        outcome[name] = (code, time.perf_counter() - started)
        print(f"=== bench/{name}.py: exit {code} after {outcome[name][1]:.0f} s", flush=True)
    return outcome


def ordered(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows in the order of :data:`SCRIPTS`, each script's in its own order."""
    rank = {name: index for index, name in enumerate(SCRIPTS)}
    return sorted(rows, key=lambda row: rank.get(str(row.get("script")), len(rank)))


def readme_section(lines: list[str], rows: list[dict[str, object]], note: str) -> str:
    machines = sorted({str(row["machine"]).split(", load")[0] for row in rows})
    dates = sorted(str(row["date"]) for row in rows)
    span = f"{dates[0]} to {dates[-1]}" if dates else "-"
    return "\n".join(
        [
            START,
            f"Measured {span} on {'; '.join(machines)} ({note}). Ratios above 1 beat the "
            "baseline; each baseline is measured in the same run (bench/results.json).",
            "",
            *lines,
            END,
        ]
    )


def write_readme(section: str) -> bool:
    """Replace the marked section of the README; False when the markers are missing."""
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return False
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    README.write_text(before + section + after, encoding="utf-8")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", action="append", choices=SCRIPTS, help="run only this script")
    parser.add_argument("--table", action="store_true", help="only print the recorded table")
    args = parser.parse_args()
    started = time.perf_counter()
    outcome = {} if args.table else run_scripts(args.only or list(SCRIPTS))
    rows = ordered(figures.load())
    lines = figures.table(rows)
    print("\n" + "\n".join(lines))
    wall = time.perf_counter() - started
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    note = f"`make bench` {stamp}, {wall / 60:.0f} min" if outcome else "recorded figures"
    if outcome:
        took = ", ".join(f"{name} {seconds / 60:.1f}" for name, (_, seconds) in outcome.items())
        print(f"\nWall time per script (min): {took}; in all {wall / 60:.1f} min.")
        note += f"; minutes per script: {took}"
    if write_readme(readme_section(lines, rows, note)):
        print(f"\nREADME.md table updated ({len(rows)} figures).")
    failed = [name for name, (code, _) in outcome.items() if code != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
