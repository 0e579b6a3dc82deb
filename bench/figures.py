"""Benchmark figures: each bench script records its own, ``bench/run.py`` prints them as one table.

A figure is a measured value beside a baseline measured in the same run, on the same machine
(``ratio = value / baseline``; for times, where less is better, the baseline is still divided
into: ``ratio = baseline / value``, so a ratio above 1 is always "better than the baseline").
:func:`record` replaces the figures of one script in ``bench/results.json`` and stamps them
with the machine and the date; :func:`table` renders them all.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.collector import tune_collector

RESULTS = Path(__file__).parent / "results.json"

tune_collector()
"""Every bench script imports this module and measures the services' code in its own process
(the consumer runtime, the import, the replay): the process collects garbage as a service
process does (:mod:`shared.collector`), baselines and services alike."""


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its same-run baseline."""

    figure: str
    unit: str
    value: float | None
    baseline: float | None
    baseline_name: str
    lower_is_better: bool = False
    aim: str = ""

    @property
    def ratio(self) -> float | None:
        """value / baseline (baseline / value for times): above 1 beats the baseline."""
        if not self.value or not self.baseline:
            return None
        ratio = self.baseline / self.value if self.lower_is_better else self.value / self.baseline
        return round(ratio, 3)


def machine() -> str:
    """CPUs, Python and load at the time of recording: the run's conditions."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load {load}"


def record(script: str, figures: Sequence[Figure], path: Path = RESULTS) -> None:
    """Replace ``script``'s figures in the results file (the others' stay)."""
    rows: list[dict[str, Any]] = json.loads(path.read_text()) if path.exists() else []
    rows = [row for row in rows if row.get("script") != script]
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    where = machine()
    for figure in figures:
        row = asdict(figure)
        row.update(script=script, ratio=figure.ratio, machine=where, date=stamp)
        rows.append(row)
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The figures as a Markdown table (also readable as plain text)."""
    header = ["figure", "value", "unit", "baseline (same run)", "ratio", "aim"]
    lines = [header]
    for row in rows:
        lines.append(
            [
                row["figure"],
                _number(row["value"]),
                row["unit"],
                f"{_number(row['baseline'])} ({row['baseline_name']})",
                _number(row["ratio"]),
                row.get("aim", ""),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return out


def load(path: Path = RESULTS) -> list[dict[str, Any]]:
    """The recorded figures."""
    return json.loads(path.read_text()) if path.exists() else []
