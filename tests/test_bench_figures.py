"""The benchmark table's helper (bench/figures.py) and runner (bench/run.py), without running
a benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench"
sys.path.append(str(BENCH))  # the bench scripts import their helper as `figures`

import figures  # noqa: E402
import run  # noqa: E402

pytestmark = pytest.mark.unit


def test_ratios_beat_the_baseline_above_one_also_for_times() -> None:
    rate = figures.Figure("relay", "events/s", 600.0, 1000.0, "raw producer")
    time = figures.Figure("p99", "s", 0.5, 0.25, "nothing", lower_is_better=True)
    assert rate.ratio == 0.6
    assert time.ratio == 0.5
    assert figures.Figure("none", "s", None, 1.0, "-").ratio is None


def test_a_script_replaces_only_its_own_figures(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    figures.record("a", [figures.Figure("a1", "rows/s", 10.0, 20.0, "plain")], path=path)
    figures.record("b", [figures.Figure("b1", "ms", 4.0, 2.0, "plain", True)], path=path)
    figures.record("a", [figures.Figure("a2", "rows/s", 30.0, 20.0, "plain")], path=path)
    rows = figures.load(path)
    assert [row["figure"] for row in rows] == ["b1", "a2"]
    for row in rows:
        assert {"figure", "unit", "value", "baseline", "ratio", "machine", "date"} <= row.keys()
    assert rows[1]["ratio"] == 1.5
    lines = figures.table(rows)
    assert lines[0].startswith("| figure")
    assert "| a2 " in lines[3]


def test_the_readme_section_between_the_markers_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{run.START}\nold table\n{run.END}\noutro\n", encoding="utf-8")
    monkeypatch.setattr(run, "README", readme)
    row = {"figure": "x", "machine": "2 CPUs, Python 3.11, load 1.0", "date": "2026-11-30"}
    assert run.write_readme(run.readme_section(["| new |"], [row], "a note"))
    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text
    assert "| new |" in text
    assert text.startswith("intro\n")
    assert text.endswith("outro\n")
    readme.write_text("no markers\n", encoding="utf-8")
    assert not run.write_readme("anything")
