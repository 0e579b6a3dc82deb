"""What indicators can be computed from: the kinds of entities and facts the projections keep,
and the attributes a catalogue filter or sum may name.

*Entities* (``stock``) exist over a span of days: a resident, a facility, a community. An
indicator on them counts or sums the entities present on the evaluation day.

*Facts* (``flow``) happen on one day: service hours logged, a resident re-employed, a case
closed. An indicator on them counts or sums the facts of a period (this year, this month …).

Attribute types: ``str`` (compared for equality or membership), ``int``/``float``/``date``
(also ordered), ``bool``, and ``list`` (of strings; a filter asks whether it ``contains`` one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from shared.contracts.registry import RoomPurpose

AttributeType = Literal["str", "int", "float", "date", "bool", "list"]
NUMERIC: frozenset[str] = frozenset({"int", "float"})
ORDERED: frozenset[str] = frozenset({"int", "float", "date"})

ROOM_PURPOSES: tuple[str, ...] = get_args(RoomPurpose)
"""Every room purpose of the registry's facility contract."""

AGE = "age"
"""Virtual attribute of entities with a ``birth_year``: age in whole years on the evaluation
day (the year of the day minus the year of birth), so "aged 60 or more" means on the day
asked, not when an event happened. Averages may average it; filters may compare it."""


@dataclass(frozen=True)
class Source:
    """One kind of entity or fact, the attributes it has and where it comes from."""

    name: str
    flow: bool
    attributes: Mapping[str, AttributeType]
    description: str
    awaiting: str | None = None
    """Set when no service publishes this kind yet: indicators on it answer null."""

    def attribute(self, name: str) -> AttributeType | None:
        """The type of an attribute (``age`` where a ``birth_year`` exists), else None."""
        if name == AGE and "birth_year" in self.attributes:
            return "int"
        return self.attributes.get(name)


@dataclass(frozen=True)
class Sources:
    """The kinds the catalogue may refer to, by name."""

    kinds: Mapping[str, Source] = field(default_factory=dict)

    def get(self, name: str) -> Source | None:
        """The kind called ``name``, or None."""
        return self.kinds.get(name)

    def with_kind(self, source: Source) -> Sources:
        """These kinds plus ``source`` (tests add synthetic kinds this way)."""
        return Sources({**self.kinds, source.name: source})


_ROOM_AREAS: dict[str, AttributeType] = {f"room_area.{p}": "float" for p in ROOM_PURPOSES}

REGISTRY_SOURCES = Sources(
    {
        s.name: s
        for s in (
            Source(
                "community",
                flow=False,
                attributes={"kind": "str", "household_count": "int"},
                description="A current community (registry area events): from its first day "
                "to its last.",
            ),
            Source(
                "household",
                flow=False,
                attributes={},
                description="A registered household, in the community it lives in.",
            ),
            Source(
                "resident",
                flow=False,
                attributes={
                    "sex": "str",
                    "birth_year": "int",
                    "age_band": "str",
                    "registration": "str",
                    "employment_status": "str",
                    "disabled": "bool",
                    "flags": "list",
                },
                description="A living resident on the register, in their community.",
            ),
            Source(
                "facility",
                flow=False,
                attributes={
                    "kind": "str",
                    "total_area_m2": "float",
                    "opened_on": "date",
                    **_ROOM_AREAS,
                },
                description="An open facility, from its opening day to the day before it "
                "closes; `room_area.<purpose>` is its floor area of that room purpose (0 if "
                "none).",
            ),
            Source(
                "worker",
                flow=False,
                attributes={
                    "role": "str",
                    "appointment": "str",
                    "education": "str",
                    "birth_year": "int",
                    "sex": "str",
                    "cross_appointed": "bool",
                    "appointed_on": "date",
                },
                description="A community worker in a role, from appointment to leaving.",
            ),
            Source(
                "organisation",
                flow=False,
                attributes={"kind": "str", "member_count": "int", "registered_on": "date"},
                description="A social organisation registered with a community.",
            ),
            Source(
                "volunteer",
                flow=False,
                attributes={"resident": "bool", "in_team": "bool", "registered_on": "date"},
                description="A registered volunteer; `resident` when a resident of the "
                "register, `in_team` when in a volunteer team.",
            ),
            Source(
                "service_hours",
                flow=True,
                attributes={"hours": "float"},
                description="Volunteer service hours logged, on the day served.",
            ),
            Source(
                "employment_change",
                flow=True,
                attributes={
                    "from_status": "str",
                    "to_status": "str",
                    "sex": "str",
                    "age_band": "str",
                    "registration": "str",
                },
                description="A resident's employment status changed (derived from "
                "`resident.updated`), on the day it was recorded.",
            ),
            Source(
                "case_closed",
                flow=True,
                attributes={
                    "matter_type": "str",
                    "department": "str",
                    "within_time_limit": "bool",
                    "working_days_used": "int",
                    "delegated": "bool",
                    "reopened": "bool",
                },
                description="A one-stop casework case closed (casework `case.closed`), on the "
                "day closed; `within_time_limit` when settled or decided within its limit, "
                "`delegated` for an agency case. A reopened case closing again is a new fact.",
            ),
            Source(
                "case_rated",
                flow=True,
                attributes={
                    "matter_type": "str",
                    "department": "str",
                    "rating": "int",
                    "satisfied": "bool",
                },
                description="An applicant's rating of a closed case, 1–5 (casework "
                "`case.rated`), on the day rated; `satisfied` for 4 or 5.",
            ),
            Source(
                "case_overdue",
                flow=True,
                attributes={"matter_type": "str", "department": "str"},
                description="A case found past its time limit (casework `case.overdue`, once "
                "per case and clock), on the day found.",
            ),
            Source(
                "case_delegated",
                flow=True,
                attributes={"matter_type": "str", "department": "str"},
                description="A case handed to an agent of the community affairs agency system "
                "(casework `case.delegated`), on the day delegated.",
            ),
            Source(
                "elder",
                flow=False,
                attributes={
                    "sex": "str",
                    "birth_year": "int",
                    "care_level": "int",
                    "disabled": "bool",
                    "living_alone": "bool",
                    "empty_nest": "bool",
                },
                description="An elder on the eldercare roster, from enrolment to death or "
                "leaving; `care_level` is the newest assessment's (0 capable … 3 severe), -1 "
                "before the first.",
            ),
            Source(
                "care_placement",
                flow=False,
                attributes={"kind": "str", "status": "str"},
                description="An eldercare placement (`kind` home, day_care or institution) "
                "while `waiting` on a centre's list or `active`, until it ends.",
            ),
            Source(
                "entitlement_granted",
                flow=True,
                attributes={"kind": "str", "days_after_due": "int", "within_30_days": "bool"},
                description="An age entitlement granted by eldercare staff, on the day granted; "
                "`days_after_due` counts from the day it fell due.",
            ),
            Source(
                "visit_outcome",
                flow=True,
                attributes={"service": "str", "missed": "bool"},
                description="An eldercare visit's outcome, on the day known: `missed` when its "
                "window ended without a check-in (also if checked in late afterwards).",
            ),
            Source(
                "subsidy_payment",
                flow=True,
                attributes={"kind": "str", "amount_yuan": "float"},
                description="A month of an eldercare subsidy written to the ledger, on the day "
                "paid.",
            ),
            Source(
                "jobseeker_registered",
                flow=True,
                attributes={"priority_groups": "list", "priority": "bool", "laid_off": "bool"},
                description="A resident registered as a job seeker (employment "
                "`seeker.registered`), on the day registered; `laid_off` and `priority` from "
                "the seeker's priority groups.",
            ),
            Source(
                "job_placement",
                flow=True,
                attributes={
                    **{"priority_groups": "list", "priority": "bool", "laid_off": "bool"},
                    "vacancy_kind": "str",
                },
                description="A seeker placed in a job (employment `placement.made`), on the "
                "first day of work; `vacancy_kind` enterprise, public_welfare or "
                "convenience_service.",
            ),
            Source(
                "reemployment",
                flow=True,
                attributes={
                    **{"priority_groups": "list", "priority": "bool", "laid_off": "bool"},
                    "vacancy_kind": "str",
                },
                description="A placed seeker re-employed: the placement's 3-month retention "
                "check passed (employment `placement.reemployed`), on the day it passed.",
            ),
            Source(
                "loan_disbursed",
                flow=True,
                attributes={"amount_yuan": "float"},
                description="A micro-loan for self-employment paid out (employment "
                "`loan.disbursed`), on the day paid.",
            ),
            Source(
                "loan_defaulted",
                flow=True,
                attributes={"amount_yuan": "float"},
                description="A micro-loan in default, an instalment unpaid 90 days after its "
                "due date (employment `loan.defaulted`), on that day; `amount_yuan` is what "
                "was still owed.",
            ),
        )
    }
)
"""The kinds fed by the registry's, casework's, eldercare's and employment's events."""
