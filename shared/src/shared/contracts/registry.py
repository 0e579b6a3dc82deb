"""Events published by the registry service: areas, households, residents, facilities,
community workers, social organisations and volunteers.

Payloads carry what a subscriber needs for statistics (area path, age band, birth year, age,
sex, flags, floor areas) and never a national id number, a name, a phone number or an address.
Snapshot events (``…registered``, ``…updated``, ``…moved``) carry the aggregate's whole
statistical state plus ``version`` (1, 2, … per aggregate), so a projection can ignore an
older state that arrives late.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.contracts import CONTRACTS, EventPayload

AreaLevel = Literal["city", "district", "county", "street", "township", "community", "village"]
"""Every level an area may have. Which of them a registry uses, and which level holds which,
is its hierarchy's data (cities: city > district > street > community; counties: city >
county > township > village)."""
GRASSROOTS_LEVELS: tuple[AreaLevel, ...] = ("community", "village")
"""The levels that hold households, residents, facilities and workers (the units statistics
count as communities)."""
CommunityKind = Literal[
    "residential", "enterprise_workers", "urban_rural_fringe", "block", "work_unit", "geographic"
]
Sex = Literal["male", "female"]
AgeBand = Literal["0-14", "15-39", "40-49", "50-59", "60-64", "65-69", "70-79", "80-89", "90+"]
RegistrationStatus = Literal["registered", "floating"]
EmploymentStatus = Literal[
    "employed", "laid_off", "unemployed", "retired", "student", "not_in_labour_force"
]
ResidentFlag = Literal[
    "subsistence_allowance", "entitled_group", "empty_nest", "living_alone", "community_correction"
]
FacilityKind = Literal[
    "office",
    "service_station",
    "police_room",
    "health_station",
    "library",
    "elderly_activity_room",
    "culture_sports_place",
    "service_outlet",
    "service_centre",
    "legal_service_office",
    "donation_site",
    "fitness_path",
]
RoomPurpose = Literal[
    "office",
    "public_service",
    "party_activity",
    "youth_activity",
    "elderly_activity",
    "labour_security",
    "health_family_planning",
    "community_service",
    "police",
    "library",
    "culture_sports",
    "other",
]
WorkerRole = Literal[
    "party_secretary", "committee_director", "deputy_director", "committee_member", "officer"
]
Education = Literal[
    "primary", "junior_middle", "senior_middle", "college", "bachelor", "postgraduate"
]

PathField = Field(description="Area ids from the city down to the community, inclusive.")


# -- areas -------------------------------------------------------------------------------


@CONTRACTS.contract(service="registry", aggregate="area", name="created")
class AreaCreated(EventPayload):
    """Emitted when an area (city, district, street office or community) is registered,
    including the areas a merge or split creates."""

    area_id: str = Field(description="Registry id of the area (its administrative code).")
    level: AreaLevel = Field(description="Level in the hierarchy.")
    name: str = Field(description="Official name of the area.")
    parent_id: str | None = Field(description="Id of the enclosing area; null for a city.")
    path: list[str] = Field(
        description="Ids from the city down to this area, inclusive; for roll-ups by any level."
    )
    valid_from: date = Field(description="First day the area exists in this form.")
    kind: CommunityKind | None = Field(default=None, description="Kind of a community.")
    household_count: int | None = Field(
        default=None, description="Households of a community as registered with the area."
    )


@CONTRACTS.contract(service="registry", aggregate="area", name="retired")
class AreaRetired(EventPayload):
    """Emitted when an area stops existing (merged into another, split, or abolished); its
    households have moved (``household.moved`` events) before this is emitted."""

    area_id: str = Field(description="The retired area.")
    level: AreaLevel = Field(description="Its level.")
    path: list[str] = PathField
    valid_to: date = Field(description="Last day the area existed.")
    reason: Literal["merged", "split", "abolished"] = Field(description="Why it was retired.")
    successor_ids: list[str] = Field(description="Areas that took over its territory.")


@CONTRACTS.contract(service="registry", aggregate="area", name="merged")
class AreasMerged(EventPayload):
    """Emitted once a merge is complete: several communities became one (Dongcheng merged
    413 committees into 137)."""

    merged_ids: list[str] = Field(description="The retired areas.")
    into_id: str = Field(description="The area they became (created by this merge).")
    path: list[str] = Field(description="Path of the resulting area.")
    effective: date = Field(description="First day of the merged area.")
    households_moved: int = Field(description="Households moved into the resulting area.")


@CONTRACTS.contract(service="registry", aggregate="area", name="split")
class AreaSplit(EventPayload):
    """Emitted once a split is complete: one community became several."""

    area_id: str = Field(description="The retired area.")
    into_ids: list[str] = Field(description="The areas it became (created by this split).")
    effective: date = Field(description="First day of the new areas.")
    households_moved: dict[str, int] = Field(description="New area id → households moved there.")


# -- households and residents ----------------------------------------------------------


@CONTRACTS.contract(service="registry", aggregate="household", name="registered")
class HouseholdRegistered(EventPayload):
    """Emitted when a household is registered in a community."""

    household_id: str = Field(description="Registry id of the household.")
    community_id: str = Field(description="Community the household belongs to.")
    path: list[str] = PathField
    registered_on: date = Field(description="Registration date.")
    version: int = Field(description="Aggregate version, 1 for a new household.")


@CONTRACTS.contract(service="registry", aggregate="household", name="moved")
class HouseholdMoved(EventPayload):
    """Emitted when a household moves to another community (relocation, or its community
    was merged or split)."""

    household_id: str = Field(description="The household.")
    from_community_id: str = Field(description="Community it left.")
    to_community_id: str = Field(description="Community it joined.")
    from_path: list[str] = Field(description="Path of the community it left.")
    to_path: list[str] = Field(description="Path of the community it joined.")
    moved_on: date = Field(description="Date of the move.")
    reason: Literal["relocation", "area_merge", "area_split"] = Field(description="Why.")
    resident_count: int = Field(description="Residents moving with the household.")
    version: int = Field(description="Aggregate version after the move.")


class ResidentState(EventPayload):
    """The statistical state of a resident (no identifiers beyond our ids)."""

    resident_id: str = Field(description="Registry id of the resident.")
    household_id: str = Field(description="Household the resident belongs to.")
    community_id: str = Field(description="Community of that household.")
    path: list[str] = PathField
    sex: Sex = Field(description="Sex, as in the national id number.")
    birth_year: int = Field(description="Year of birth (no day or month).")
    age_band: AgeBand = Field(description="Age band on the event's date.")
    age: int | None = Field(
        default=None,
        description="Completed years of age on `age_on` (absent in events published before it "
        "was added); `registry.resident.age_reached` events advance it.",
    )
    age_on: date | None = Field(
        default=None,
        description="The event's date, on which `age` is counted (registration, move, death, "
        "departure or change).",
    )
    registration: RegistrationStatus = Field(description="Registered or floating population.")
    permit_expires_on: date | None = Field(
        default=None, description="Residence permit expiry of a floating resident."
    )
    employment_status: EmploymentStatus = Field(description="Employment status.")
    disabled: bool = Field(description="Holds a disability certificate.")
    flags: list[ResidentFlag] = Field(description="Special groups the resident belongs to.")
    version: int = Field(description="Aggregate version of this state.")


@CONTRACTS.contract(service="registry", aggregate="resident", name="registered")
class ResidentRegistered(ResidentState):
    """Emitted when a resident is registered in a household."""


@CONTRACTS.contract(service="registry", aggregate="resident", name="updated")
class ResidentUpdated(ResidentState):
    """Emitted when a resident's statistical state changes (employment, disability, flags,
    registration, permit); ``changed`` names the fields."""

    changed: list[str] = Field(description="Fields that changed.")


@CONTRACTS.contract(service="registry", aggregate="resident", name="moved")
class ResidentMoved(ResidentState):
    """Emitted when a resident moves to another household (and maybe community), on its own
    or with the household; the state is the one after the move."""

    from_household_id: str = Field(description="Household the resident left.")
    from_community_id: str = Field(description="Community the resident left.")
    from_path: list[str] = Field(description="Path of the community the resident left.")


@CONTRACTS.contract(service="registry", aggregate="resident", name="died")
class ResidentDied(ResidentState):
    """Emitted when a resident's death is recorded; the state is the last one."""

    died_on: date = Field(description="Date of death.")


@CONTRACTS.contract(service="registry", aggregate="resident", name="left")
class ResidentLeft(ResidentState):
    """Emitted when a resident leaves the city's register (moves away)."""

    left_on: date = Field(description="Date of leaving.")


@CONTRACTS.contract(service="registry", aggregate="resident", name="permit_expiring")
class PermitExpiring(EventPayload):
    """Emitted once when a floating resident's residence permit expires within 30 days."""

    resident_id: str = Field(description="The floating resident.")
    community_id: str = Field(description="Their community.")
    path: list[str] = PathField
    expires_on: date = Field(description="Permit expiry date.")


@CONTRACTS.contract(service="registry", aggregate="resident", name="age_reached")
class ResidentAgeReached(EventPayload):
    """Emitted once when a living resident reaches a milestone age that subscribers' rules use
    (the registry setting ``AGE_MILESTONES``: 16, 18, 40, 50, 60, 61, 65, 70, 80, 90, 100 by
    default), on that birthday or, after the registry was down, on its next run. Privacy: the
    age and the day reveal the birth date (not the number, name or address); this is why a
    masked national id number shows the region code only. A resident registered on or after
    the birthday gets none for that age: the ``age`` of their registration already says it."""

    resident_id: str = Field(description="The resident.")
    community_id: str = Field(description="Their community on the day.")
    path: list[str] = PathField
    age: int = Field(description="The milestone age reached (completed years).")
    reached_on: date = Field(description="The birthday on which the age was reached.")


# -- facilities --------------------------------------------------------------------------


class Room(EventPayload):
    """Floor area of one room purpose in a facility."""

    purpose: RoomPurpose = Field(description="What the rooms are used for.")
    area_m2: float = Field(description="Floor area in square metres.")


class FacilityState(EventPayload):
    """The statistical state of a facility."""

    facility_id: str = Field(description="Registry id of the facility.")
    community_id: str = Field(description="Community the facility serves.")
    path: list[str] = PathField
    kind: FacilityKind = Field(description="Kind of facility.")
    rooms: list[Room] = Field(description="Floor area by room purpose.")
    total_area_m2: float = Field(description="Sum of the rooms' floor areas.")
    opened_on: date = Field(description="Opening date.")
    version: int = Field(description="Aggregate version of this state.")


@CONTRACTS.contract(service="registry", aggregate="facility", name="opened")
class FacilityOpened(FacilityState):
    """Emitted when a facility is registered as open."""


@CONTRACTS.contract(service="registry", aggregate="facility", name="updated")
class FacilityUpdated(FacilityState):
    """Emitted when a facility's kind or rooms change."""


@CONTRACTS.contract(service="registry", aggregate="facility", name="closed")
class FacilityClosed(FacilityState):
    """Emitted when a facility closes; the state is the last one."""

    closed_on: date = Field(description="Closing date.")


# -- community workers, organisations, volunteers ------------------------------------


@CONTRACTS.contract(service="registry", aggregate="worker", name="appointed")
class WorkerAppointed(EventPayload):
    """Emitted when a community worker is elected or hired into a role."""

    worker_id: str = Field(description="Registry id of the appointment holder.")
    community_id: str = Field(description="Community served.")
    path: list[str] = PathField
    role: WorkerRole = Field(description="Role.")
    appointment: Literal["elected", "hired"] = Field(description="Elected or hired.")
    education: Education = Field(description="Highest education completed.")
    birth_year: int = Field(description="Year of birth.")
    sex: Sex = Field(description="Sex.")
    cross_appointed: bool = Field(
        description="Holds both a party-organisation and a committee post (cross appointment)."
    )
    appointed_on: date = Field(description="Start of the appointment.")


@CONTRACTS.contract(service="registry", aggregate="worker", name="left")
class WorkerLeft(EventPayload):
    """Emitted when a community worker leaves the role."""

    worker_id: str = Field(description="The worker.")
    community_id: str = Field(description="Community served.")
    path: list[str] = PathField
    role: WorkerRole = Field(description="Role left.")
    left_on: date = Field(description="Last day in the role.")


@CONTRACTS.contract(service="registry", aggregate="organisation", name="registered")
class OrganisationRegistered(EventPayload):
    """Emitted when a social organisation is registered with a community."""

    organisation_id: str = Field(description="Registry id of the organisation.")
    community_id: str = Field(description="Community it is registered with.")
    path: list[str] = PathField
    kind: str = Field(description="Kind (volunteer team, elders' association, culture …).")
    member_count: int = Field(description="Members at registration.")
    registered_on: date = Field(description="Registration date.")


@CONTRACTS.contract(service="registry", aggregate="volunteer", name="registered")
class VolunteerRegistered(EventPayload):
    """Emitted when a volunteer registers with a community (Dongcheng: 22 % of residents)."""

    volunteer_id: str = Field(description="Registry id of the volunteer.")
    resident_id: str | None = Field(description="The resident, if registered here.")
    community_id: str = Field(description="Community volunteered for.")
    path: list[str] = PathField
    organisation_id: str | None = Field(description="Volunteer team, if any.")
    registered_on: date = Field(description="Registration date.")


@CONTRACTS.contract(service="registry", aggregate="volunteer", name="hours_logged")
class ServiceHoursLogged(EventPayload):
    """Emitted when a volunteer's service hours are logged."""

    volunteer_id: str = Field(description="The volunteer.")
    entry_id: str = Field(description="Id of this log entry.")
    community_id: str = Field(description="Community served.")
    path: list[str] = PathField
    hours: float = Field(description="Hours served.")
    served_on: date = Field(description="Day of service.")
