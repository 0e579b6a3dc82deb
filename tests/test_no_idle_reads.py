"""`make test` is deterministic: no test concludes it has read a topic to its end because the
topic fell quiet for a while (a loaded machine can be slower than any quiet period). Tests wait
for the records they expect, by key or count, with a deadline:
``shared.testing.topics.wait_for_records`` (or ``read_until``)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IDLE_READ = re.compile(r"\bread_topic\(|\bidle_ms\b")


def test_no_test_reads_a_topic_until_it_falls_quiet() -> None:
    test_code = [
        *ROOT.glob("tests/**/*.py"),
        *ROOT.glob("shared/tests/**/*.py"),
        *ROOT.glob("services/*/tests/**/*.py"),
        *ROOT.glob("shared/src/shared/testing/*.py"),
        *ROOT.glob("services/*/src/*/testing.py"),
    ]
    assert len(test_code) > 20
    offending = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in test_code
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if IDLE_READ.search(line)
    ]
    assert not offending, (
        "reads until the topic falls quiet (use shared.testing.topics.wait_for_records):\n"
        + "\n".join(offending)
    )
