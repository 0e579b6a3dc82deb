"""A service process collects its youngest generation every ``YOUNG_THRESHOLD`` allocations
and keeps the older generations' ratios (:mod:`shared.collector`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.collector import YOUNG_THRESHOLD, tune_collector


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 7, 9)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_only_the_youngest_generations_threshold_changes(
    thresholds: tuple[int, int, int],
) -> None:
    tune_collector()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 7, 9)
    tune_collector()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 7, 9), "idempotent"
    assert gc.isenabled(), "tuned, not switched off"
