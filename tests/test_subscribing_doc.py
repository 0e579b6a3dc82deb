"""docs/subscribing.md stays true: its sample is the file the e2e test runs, its sample national
id numbers pass the check, its links resolve, and the README and the catalogue link to it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from registry.domain.national_id import parse_national_id
from shared.contracts.changelog import DEPRECATION_WINDOW_DAYS

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "subscribing.md"
SAMPLE = ROOT / "examples" / "subscriber.py"


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def test_the_guide_shows_the_sample_consumer_as_it_is_in_the_repository() -> None:
    section = guide().split("## The sample consumer", 1)[1]
    code = section.split("```python\n", 1)[1].split("```\n", 1)[0]
    assert code == SAMPLE.read_text(encoding="utf-8"), (
        "the sample in docs/subscribing.md differs from examples/subscriber.py: copy it over"
    )
    assert len(code.splitlines()) <= 50, "the sample is meant to be short"


@pytest.mark.parametrize(
    ("number", "sex"), [("110101195603020028", "female"), ("11010119560302001X", "male")]
)
def test_the_sample_national_id_numbers_pass_the_check(number: str, sex: str) -> None:
    assert f"`{number}`" in guide()
    facts = parse_national_id(number, today=date(2026, 11, 30))
    assert (facts.sex, facts.birth_date) == (sex, date(1956, 3, 2))


def test_every_link_of_the_guide_is_a_file_of_the_repository() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", guide()):
        assert not re.match(r"[a-z]+:", target), f"external link {target}"
        assert (GUIDE.parent / target).exists(), f"docs/subscribing.md links to missing {target}"


def test_the_readme_and_the_catalogue_link_to_the_guide() -> None:
    assert "](docs/subscribing.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](subscribing.md)" in (ROOT / "docs" / "events.md").read_text(encoding="utf-8")


def test_the_stated_deprecation_window_is_the_contracts_one() -> None:
    assert f"deprecation window of {DEPRECATION_WINDOW_DAYS} days" in guide()
