"""Priority groups of job seekers and how registry facts derive them.

The groups are those of the community employment system (docs/domain.md §3): laid-off workers,
"4050" people (women from 40 and men from 50 up to retirement age), people with disabilities,
migrant workers, land-losing farmers, the long-term unemployed, new labour-force entrants and
graduates. The first four follow from what the registry publishes about a resident; the
community records the others after its own investigation. The "4050" ages are exact: the
registry's events carry the age on their date and an age milestone on the 40th, 50th and
60th birthdays (:mod:`shared.ages`, DR-6); a resident known only from events older than the
``age`` field is placed by the age reached this calendar year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import get_args

from shared.ages import KnownAge, age_on_day
from shared.contracts.employment import PriorityGroup
from shared.errors import FieldError, InvalidInput

ALL_GROUPS: tuple[PriorityGroup, ...] = get_args(PriorityGroup)

DERIVED_GROUPS: frozenset[PriorityGroup] = frozenset(
    {"laid_off", "age_4050", "disabled", "migrant_worker"}
)
"""Groups computed from registry facts; they cannot be recorded by hand."""

RECORDED_GROUPS: frozenset[PriorityGroup] = frozenset(ALL_GROUPS) - DERIVED_GROUPS
"""Groups the community records (the registry knows nothing of them)."""

FEMALE_4050 = (40, 50)
MALE_4050 = (50, 60)
"""Ages of the "4050" group, from the start age up to (not including) retirement age."""


@dataclass(frozen=True)
class ResidentFacts:
    """What the employment service keeps of a registry resident (from its events)."""

    resident_id: str
    community_id: str
    path: tuple[str, ...]
    sex: str
    birth_year: int
    employment_status: str
    disabled: bool
    registration: str
    flags: tuple[str, ...]
    present: bool = True
    known_age: KnownAge | None = None

    def age_on(self, day: date) -> int:
        """The resident's age on ``day`` (exact after an age milestone)."""
        return age_on_day(self.known_age, self.birth_year, day)


def derive_groups(facts: ResidentFacts, *, on: date) -> frozenset[PriorityGroup]:
    """The priority groups registry facts put a resident in on the day ``on``."""
    groups: set[PriorityGroup] = set()
    if facts.employment_status == "laid_off":
        groups.add("laid_off")
    low, high = FEMALE_4050 if facts.sex == "female" else MALE_4050
    if low <= facts.age_on(on) < high and facts.employment_status in (
        "laid_off",
        "unemployed",
    ):
        groups.add("age_4050")
    if facts.disabled:
        groups.add("disabled")
    if facts.registration == "floating":
        groups.add("migrant_worker")
    return frozenset(groups)


def recorded_groups(
    groups: Iterable[str], *, field: str = "recorded_groups"
) -> frozenset[PriorityGroup]:
    """Groups a community records; 422 for one the registry's facts derive (or unknown)."""
    found: set[PriorityGroup] = set()
    for group in groups:
        if group not in RECORDED_GROUPS:
            raise InvalidInput(
                "group not recordable",
                errors=[
                    FieldError(
                        field,
                        f"{group} is derived from registry facts or unknown; recordable: "
                        f"{sorted(RECORDED_GROUPS)}",
                    )
                ],
            )
        found.add(group)
    return frozenset(found)
