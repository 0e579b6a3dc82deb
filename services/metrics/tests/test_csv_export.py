"""CSV cells never reach a spreadsheet as formulas, whatever route writes them."""

from __future__ import annotations

import csv
import io

import pytest

from metrics.api.csv_export import csv_response, neutral


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+41 22", "'+41 22"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("Dongjie No. 1", "Dongjie No. 1"),
        ("a=b", "a=b"),
        (-2.5, -2.5),
        (0, 0),
        (None, None),
    ],
)
def test_formula_starts_are_neutralised_and_numbers_kept(cell: object, written: object) -> None:
    assert neutral(cell) == written


def test_a_csv_response_neutralises_every_cell_and_the_header() -> None:
    rows = [{"name": '=HYPERLINK("http://x")', "value": -3.0, "=bad": "@x"}]
    response = csv_response(rows, filename="t", columns=["name", "value", "=bad"])
    parsed = list(csv.reader(io.StringIO(bytes(response.body).decode())))
    assert parsed == [["name", "value", "'=bad"], ['\'=HYPERLINK("http://x")', "-3.0", "'@x"]]
