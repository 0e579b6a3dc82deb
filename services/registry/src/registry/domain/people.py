"""Households and residents: the rules and the entities, with no I/O.

A resident's birth date and sex must agree with their national id number; a floating resident
(migrant) holds a residence permit with an expiry date, a registered one does not; a resident
who died or left the register cannot change any more. Statistics see age bands, not ages.

:class:`Household` and :class:`Resident` hold their fields and record what happens to them as
domain events in ``events`` (``HouseholdMoved``, ``ResidentDied``…): plain dataclasses, each
with a copy of the entity as it was right after the change. The adapters
(:mod:`registry.adapters.people`) load and save the entities and map the events to the
integration events of ``shared.contracts.registry``, which carry ids and derived facts only.
Rules name the field they check (``birth_date``); the HTTP layer adds where it came from.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import MINYEAR, date, timedelta
from typing import Any, Final, Literal, TypeVar, get_args

from registry.domain.areas import CommunityRef, require_current_community
from registry.domain.dates import not_before, not_in_future
from registry.domain.national_id import NationalIdFacts, parse_national_id
from shared.contracts.registry import (
    AgeBand,
    EmploymentStatus,
    RegistrationStatus,
    ResidentFlag,
    Sex,
)
from shared.errors import Conflict, FieldError, InvalidInput

ResidentStatus = Literal["alive", "dead", "left"]
HouseholdMoveReason = Literal["area_merge", "area_split", "relocation"]

_CREATION = "the community's creation"

PERMIT_WARNING_DAYS = 30
"""A floating resident's permit expiring within this many days raises one warning event."""

AGE_BANDS: tuple[tuple[int, AgeBand], ...] = (
    (90, "90+"),
    (80, "80-89"),
    (70, "70-79"),
    (65, "65-69"),
    (60, "60-64"),
    (50, "50-59"),
    (40, "40-49"),
    (15, "15-39"),
    (0, "0-14"),
)
"""Lower bound (inclusive) of each age band, oldest first."""

FLAG_BITS: Mapping[ResidentFlag, int] = {
    "subsistence_allowance": 1 << 0,
    "entitled_group": 1 << 1,
    "empty_nest": 1 << 2,
    "living_alone": 1 << 3,
    "community_correction": 1 << 4,
}
"""Stored bit of each special-group flag. Bits are stored in the database: never renumber."""

FLAG_ORDER: tuple[ResidentFlag, ...] = get_args(ResidentFlag)

UPDATABLE_FIELDS = ("registration", "permit_expires_on", "employment_status", "disabled", "flags")
"""What :meth:`Resident.update` may change, in the order ``ResidentUpdated.changed`` lists it."""


class Unset(enum.Enum):
    """Marks an update argument that was not given (``None`` may be a value)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET
_Entity = TypeVar("_Entity", "Household", "Resident")


# -- ages and flags ---------------------------------------------------------------------------


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on ``on`` (someone born on 29 February ages on 1 March in
    common years)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def age_band(birth_date: date, on: date) -> AgeBand:
    """The statistical age band of someone born on ``birth_date``, on the day ``on``."""
    return band_of_age(age_on(birth_date, on))


def band_of_age(age: int) -> AgeBand:
    """The statistical age band of someone ``age`` years old."""
    for lower, band in AGE_BANDS:
        if age >= lower:
            return band
    return "0-14"


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier; 29 February becomes 28 February; before the
    year 1, the first day of the year 1 (``as_of=0081-11-27`` with ``max_age=150``)."""
    if day.year - years < MINYEAR:
        return date.min
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class BirthDateRange:
    """Birth dates of people within an age range on a day: ``born_after`` < birth date ≤
    ``born_on_or_before`` (either bound may be open)."""

    born_after: date | None
    born_on_or_before: date | None


def birth_dates_for_ages(*, min_age: int | None, max_age: int | None, on: date) -> BirthDateRange:
    """The birth dates of people aged ``min_age`` to ``max_age`` (inclusive) on ``on``."""
    if min_age is not None and max_age is not None and min_age > max_age:
        raise InvalidInput(
            "min_age is greater than max_age",
            errors=[FieldError("max_age", "must not be less than min_age", "range")],
        )
    return BirthDateRange(
        born_after=years_before(on, max_age + 1) if max_age is not None else None,
        born_on_or_before=years_before(on, min_age) if min_age is not None else None,
    )


def flags_mask(flags: Iterable[ResidentFlag]) -> int:
    """The stored bit mask of a set of flags."""
    mask = 0
    for flag in flags:
        mask |= FLAG_BITS[flag]
    return mask


def flags_of(mask: int) -> list[ResidentFlag]:
    """The flags in a stored bit mask, in the contract's order."""
    return [flag for flag in FLAG_ORDER if mask & FLAG_BITS[flag]]


def canonical_flags(flags: Iterable[ResidentFlag]) -> tuple[ResidentFlag, ...]:
    """A set of flags without repeats, in the contract's order."""
    return tuple(flags_of(flags_mask(flags)))


def changed_fields(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    """Names of the fields whose value differs, in the order of ``after``."""
    return [name for name, value in after.items() if before.get(name) != value]


# -- rules ----------------------------------------------------------------------------------


def check_identity(facts: NationalIdFacts, *, birth_date: date, sex: Sex) -> None:
    """Refuse a record whose birth date or sex differs from its national id number's."""
    errors = []
    if facts.birth_date != birth_date:
        errors.append(FieldError("birth_date", "does not match the national id number", "mismatch"))
    if facts.sex != sex:
        errors.append(FieldError("sex", "does not match the national id number", "mismatch"))
    if errors:
        named = " and ".join(error.field for error in errors)
        raise InvalidInput(f"{named} must agree with the national id number", errors=errors)


def check_permit(registration: RegistrationStatus, permit_expires_on: date | None) -> None:
    """A floating resident needs a permit expiry date; a registered resident has none."""
    if registration == "floating" and permit_expires_on is None:
        raise InvalidInput(
            "a floating resident needs a residence permit expiry date",
            errors=[FieldError("permit_expires_on", "required for a floating resident", "missing")],
        )
    if registration == "registered" and permit_expires_on is not None:
        raise InvalidInput(
            "only a floating resident has a residence permit",
            errors=[
                FieldError("permit_expires_on", "must be null for a registered resident", "invalid")
            ],
        )


def check_life_event_date(day: date, *, birth_date: date, today: date, field: str) -> None:
    """A death, departure or move date lies between the birth date and today."""
    not_in_future(day, today=today, field=field)
    if day < birth_date:  # the birth date is personal: the message does not repeat it
        raise InvalidInput(
            "the date is before the resident's birth",
            errors=[FieldError(field, "must not be before the birth date")],
        )


def ensure_changeable(status: str, resident_id: str) -> None:
    """A resident who died or left cannot be changed (409)."""
    if status != "alive":
        raise Conflict(f"resident {resident_id} has {status_verb(status)}; it cannot change")


def status_verb(status: str) -> str:
    """How a final status reads in a sentence: ``died`` or ``left``."""
    return "died" if status == "dead" else status


def require_community_for_households(
    community: CommunityRef | None, *, community_id: str, today: date, field: str
) -> CommunityRef:
    """The community a household joins or moves to: a current community
    (:func:`registry.domain.areas.require_current_community`) that is already valid (a
    community a merge creates from a later day takes households from that day on)."""
    community = require_current_community(
        community, community_id=community_id, today=today, field_name=field
    )
    if not community.exists_on(today):
        raise InvalidInput(
            f"community {community_id} is valid only from {community.valid_from}",
            errors=[FieldError(field, f"valid from {community.valid_from}", "not_yet_valid")],
        )
    return community


def permit_warning_window(today: date) -> tuple[date, date]:
    """First and last expiry date (inclusive) of the permits to warn about ``today``."""
    return today, today + timedelta(days=PERMIT_WARNING_DAYS)


# -- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealedNationalId:
    """A national id number as stored: encrypted, with its keyed hash for look-ups and
    duplicates (:mod:`registry.pii`). Never the number in clear; never shown in a repr."""

    encrypted: str = field(repr=False)
    lookup_hash: str = field(repr=False)
    area_code: str | None = field(default=None, repr=False)
    """The number's 6-digit address code: what its mask shows anyway, kept so a masked read
    needs no decryption (None for numbers stored before it was kept; then the mask is drawn
    from the decrypted number)."""


@dataclass(frozen=True)
class HouseholdRef:
    """What a resident takes from the household they live in."""

    id: str
    community_id: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class NewResident:
    """The registration form of one resident (from the API or an import row)."""

    national_id: str = field(repr=False)
    name: str = field(repr=False)
    sex: Sex
    birth_date: date
    household_id: str
    registration: RegistrationStatus
    permit_expires_on: date | None
    employment_status: EmploymentStatus
    disabled: bool
    flags: tuple[ResidentFlag, ...]

    def check(self, *, today: date) -> NationalIdFacts:
        """The facts of a valid id number agreeing with the form (else :class:`InvalidInput`
        naming the field): the rules every registration passes, one at a time or in bulk."""
        facts = parse_national_id(self.national_id, today=today)
        check_identity(facts, birth_date=self.birth_date, sex=self.sex)
        check_permit(self.registration, self.permit_expires_on)
        return facts


# -- domain events --------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdRegistered:
    """A household was registered in a community."""

    household: Household


@dataclass(frozen=True)
class HouseholdMoved:
    """A household moved to another community, with ``resident_count`` living members."""

    household: Household
    from_community_id: str
    from_path: tuple[str, ...]
    moved_on: date
    reason: HouseholdMoveReason
    resident_count: int


@dataclass(frozen=True)
class ResidentRegistered:
    """A resident was registered (age band as of ``on``)."""

    resident: Resident
    on: date


@dataclass(frozen=True)
class ResidentUpdated:
    """A living resident's statistical state changed (``changed`` names the fields)."""

    resident: Resident
    on: date
    changed: tuple[str, ...]


@dataclass(frozen=True)
class ResidentMoved:
    """A resident moved to another household, alone or with it (``on``: the moving day)."""

    resident: Resident
    on: date
    from_household_id: str
    from_community_id: str
    from_path: tuple[str, ...]


@dataclass(frozen=True)
class ResidentDied:
    """A resident died."""

    resident: Resident
    died_on: date


@dataclass(frozen=True)
class ResidentLeft:
    """A resident left the register (moved away)."""

    resident: Resident
    left_on: date


@dataclass(frozen=True)
class PermitExpiring:
    """A floating resident's residence permit expires within :data:`PERMIT_WARNING_DAYS`."""

    resident_id: str
    community_id: str
    path: tuple[str, ...]
    expires_on: date


# -- entities -------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Household:
    """A household registered in a community; ``version`` is 1 when registered, +1 per move.
    The address is stored and shown to the API, never published."""

    id: str
    community_id: str
    path: tuple[str, ...]
    address: str = field(repr=False)
    registered_on: date
    version: int = 1
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(
        cls,
        *,
        household_id: str,
        community: CommunityRef,
        address: str,
        registered_on: date,
        today: date,
    ) -> Household:
        """A new household of ``community`` (checked current by the caller), registered on a
        day that is not in the future."""
        not_in_future(registered_on, today=today, field="registered_on")
        not_before(registered_on, community.valid_from, field="registered_on", what=_CREATION)
        household = cls(
            id=household_id,
            community_id=community.id,
            path=community.path,
            address=address,
            registered_on=registered_on,
        )
        household.events.append(HouseholdRegistered(household.snapshot()))
        return household

    @property
    def ref(self) -> HouseholdRef:
        """What its residents take from it."""
        return HouseholdRef(self.id, self.community_id, self.path)

    def relocate(
        self, community: CommunityRef, *, moved_on: date, today: date, members: Sequence[Resident]
    ) -> None:
        """Move to another (current) community with its living ``members``: not to the one it
        is in, not in the future, not before its registration."""
        if community.id == self.community_id:
            raise InvalidInput(
                "the household is already in that community",
                errors=[FieldError("community_id", "is the household's community", "same")],
            )
        not_in_future(moved_on, today=today, field="moved_on")
        not_before(moved_on, self.registered_on, field="moved_on", what="the registration")
        not_before(moved_on, community.valid_from, field="moved_on", what=_CREATION)
        self.move(community, moved_on=moved_on, reason="relocation", members=members)

    def move(
        self,
        community: CommunityRef,
        *,
        moved_on: date,
        reason: HouseholdMoveReason,
        members: Sequence[Resident],
    ) -> None:
        """Move to ``community`` with its living ``members`` (each records its own move);
        area merges and splits move households this way, without the relocation rules."""
        from_community_id, from_path = self.community_id, self.path
        self.community_id, self.path = community.id, community.path
        self.version += 1
        self.events.append(
            HouseholdMoved(
                self.snapshot(),
                from_community_id=from_community_id,
                from_path=from_path,
                moved_on=moved_on,
                reason=reason,
                resident_count=len(members),
            )
        )
        for member in members:
            member.follow(self.ref, moved_on=moved_on)

    def snapshot(self) -> Household:
        """A copy as of now, for an event."""
        return _snapshot(self)


@dataclass(kw_only=True)
class Resident:
    """A resident of a household: ``status`` is ``alive``, ``dead`` (since ``ended_on``) or
    ``left``; ``version`` is 1 when registered, +1 per change. The name and the sealed
    national id number are stored and never published (nor shown in a repr)."""

    id: str
    national_id: SealedNationalId = field(repr=False)
    name: str = field(repr=False)
    sex: Sex
    birth_date: date
    household_id: str
    community_id: str
    path: tuple[str, ...]
    registration: RegistrationStatus
    permit_expires_on: date | None
    employment_status: EmploymentStatus
    disabled: bool
    flags: tuple[ResidentFlag, ...]
    status: ResidentStatus = "alive"
    ended_on: date | None = None
    registered_on: date
    version: int = 1
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(
        cls,
        form: NewResident,
        *,
        resident_id: str,
        national_id: SealedNationalId,
        household: HouseholdRef,
        today: date,
    ) -> Resident:
        """A new resident from a form that passed :meth:`NewResident.check`, living in
        ``household`` (refused by the caller when outside the caller's area)."""
        resident = cls(
            id=resident_id,
            national_id=national_id,
            name=form.name,
            sex=form.sex,
            birth_date=form.birth_date,
            household_id=household.id,
            community_id=household.community_id,
            path=household.path,
            registration=form.registration,
            permit_expires_on=form.permit_expires_on,
            employment_status=form.employment_status,
            disabled=form.disabled,
            flags=canonical_flags(form.flags),
            registered_on=today,
        )
        resident.events.append(ResidentRegistered(resident.snapshot(), on=today))
        return resident

    def update(
        self,
        *,
        today: date,
        employment_status: EmploymentStatus | Unset = UNSET,
        disabled: bool | Unset = UNSET,
        flags: Sequence[ResidentFlag] | Unset = UNSET,
        registration: RegistrationStatus | Unset = UNSET,
        permit_expires_on: date | Unset | None = UNSET,
    ) -> None:
        """Change the statistical state of a living resident and record ``ResidentUpdated``
        naming the changed fields (nothing when nothing changes). Becoming ``registered``
        drops the permit; becoming ``floating`` needs a permit expiry."""
        ensure_changeable(self.status, self.id)
        before = self._updatable()
        new_registration = self.registration if isinstance(registration, Unset) else registration
        if not isinstance(permit_expires_on, Unset):
            new_permit = permit_expires_on
        else:
            new_permit = self.permit_expires_on if new_registration == "floating" else None
        check_permit(new_registration, new_permit)
        self.registration, self.permit_expires_on = new_registration, new_permit
        if not isinstance(employment_status, Unset):
            self.employment_status = employment_status
        if not isinstance(disabled, Unset):
            self.disabled = disabled
        if not isinstance(flags, Unset):
            self.flags = canonical_flags(flags)
        changed = changed_fields(before, self._updatable())
        if changed:
            self.version += 1
            self.events.append(ResidentUpdated(self.snapshot(), on=today, changed=tuple(changed)))

    def move_to(self, household: HouseholdRef, *, moved_on: date, today: date) -> None:
        """Move a living resident to another household (maybe in another community), on a
        day between their birth and today."""
        ensure_changeable(self.status, self.id)
        if household.id == self.household_id:
            raise InvalidInput(
                "the resident already lives in that household",
                errors=[FieldError("household_id", "is the resident's household", "same")],
            )
        check_life_event_date(moved_on, birth_date=self.birth_date, today=today, field="moved_on")
        not_before(moved_on, self.registered_on, field="moved_on", what="the registration")
        self.follow(household, moved_on=moved_on)

    def follow(self, household: HouseholdRef, *, moved_on: date) -> None:
        """Live in ``household`` from ``moved_on`` (their own move, or their household's)."""
        from_household_id, from_community_id, from_path = (
            self.household_id,
            self.community_id,
            self.path,
        )
        self.household_id, self.community_id, self.path = (
            household.id,
            household.community_id,
            household.path,
        )
        self.version += 1
        self.events.append(
            ResidentMoved(
                self.snapshot(),
                on=moved_on,
                from_household_id=from_household_id,
                from_community_id=from_community_id,
                from_path=from_path,
            )
        )

    def die(self, *, died_on: date, today: date) -> None:
        """Record a living resident's death, on a day between their birth and today."""
        self._end("dead", on=died_on, today=today, field="died_on")
        self.events.append(ResidentDied(self.snapshot(), died_on=died_on))

    def leave(self, *, left_on: date, today: date) -> None:
        """Record that a living resident left the register, on a day between their birth and
        today."""
        self._end("left", on=left_on, today=today, field="left_on")
        self.events.append(ResidentLeft(self.snapshot(), left_on=left_on))

    def snapshot(self) -> Resident:
        """A copy as of now, for an event."""
        return _snapshot(self)

    def _end(self, status: ResidentStatus, *, on: date, today: date, field: str) -> None:
        ensure_changeable(self.status, self.id)
        check_life_event_date(on, birth_date=self.birth_date, today=today, field=field)
        not_before(on, self.registered_on, field=field, what="the registration")
        self.status, self.ended_on = status, on
        self.version += 1

    def _updatable(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in UPDATABLE_FIELDS}


def _snapshot(entity: _Entity) -> _Entity:
    """A copy of ``entity`` without its events: shallow, since every field is an immutable
    value (cheaper than ``dataclasses.replace``, which matters in bulk registration)."""
    copied = object.__new__(type(entity))
    copied.__dict__.update(entity.__dict__, events=[])
    return copied
