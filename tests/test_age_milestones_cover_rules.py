"""The registry's default age milestones (``AGE_MILESTONES``) include every age on which a
consumer's rule changes (DR-6): casework's matter conditions (``min_age``, and ``max_age`` + 1,
the day "at most" ends), employment's "4050" boundaries, eldercare's roster threshold and
entitlement ages. A rule on a new age fails here until the default has it."""

from __future__ import annotations

import pytest

from casework.catalogue_service import shipped_catalogue
from eldercare.rules import load_rules
from eldercare.settings import Settings as EldercareSettings
from employment.domain.groups import FEMALE_4050, MALE_4050
from registry.domain.milestones import DEFAULT_MILESTONES
from registry.settings import Settings as RegistrySettings

pytestmark = pytest.mark.unit


def rule_ages() -> dict[str, set[int]]:
    """Every age on which some consumer's rule changes, by service."""
    casework: set[int] = set()
    for matter in shipped_catalogue().by_code().values():
        if matter.conditions.min_age is not None:
            casework.add(matter.conditions.min_age)
        if matter.conditions.max_age is not None:
            casework.add(matter.conditions.max_age + 1)
    threshold = EldercareSettings.model_fields["elder_age_threshold"].default
    return {
        "casework": casework,
        "employment": {*FEMALE_4050, *MALE_4050},
        "eldercare": {threshold, *(rule.age for rule in load_rules())},
    }


def test_the_default_milestones_cover_every_rule_age() -> None:
    ages = rule_ages()
    assert ages["casework"] >= {16, 60, 61, 65, 70, 90}
    assert ages["employment"] == {40, 50, 60}
    assert ages["eldercare"] == {60, 65, 70, 90}
    for service, needed in ages.items():
        missing = needed - set(DEFAULT_MILESTONES)
        assert not missing, f"{service} needs milestones {sorted(missing)} in AGE_MILESTONES"


def test_the_setting_defaults_to_them() -> None:
    settings = RegistrySettings(environment="development", _env_file=None)  # type: ignore[call-arg]
    assert settings.age_milestones == list(DEFAULT_MILESTONES)
