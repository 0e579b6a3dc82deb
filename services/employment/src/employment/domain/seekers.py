"""Job seekers and their reemployment concession card.

A seeker is a registry resident looking for work through the community. Their priority groups
are those derived from the registry's facts (:mod:`.groups`) plus those the community recorded.
Status moves seeking → in training → seeking …, placed when a placement is made (back to
seeking when it fails a retention check), withdrawn for good.

The reemployment concession card (再就业优惠证) goes to seekers in a priority group. It is
revoked when the seeker refuses or abandons required reemployment training
(:func:`revocation_reason`), and may be issued again only after they complete required
training later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from employment.domain.groups import ResidentFacts, derive_groups
from shared.contracts.employment import Hours, PriorityGroup, SeekerStatus
from shared.errors import Conflict, FieldError, InvalidInput

Education = Literal[
    "none",
    "primary",
    "junior_middle",
    "senior_middle",
    "vocational",
    "college",
    "bachelor",
    "postgraduate",
]
CardStatus = Literal["none", "issued", "revoked"]
RevocationReason = Literal["refused_required_training", "abandoned_required_training", "other"]
WithdrawalReason = Literal["found_work", "left", "died", "request"]
MATCHABLE: frozenset[SeekerStatus] = frozenset({"seeking", "in_training"})
"""Statuses in which a seeker is matched to vacancies."""


@dataclass(frozen=True)
class Preferences:
    """What work a seeker looks for."""

    hours: frozenset[Hours]
    max_hours_per_week: int
    wage_expectation_fen: int | None
    preferred_area_ids: tuple[str, ...]
    preferred_paths: tuple[tuple[str, ...], ...]

    def check(self) -> Preferences:
        """The preferences, or 422 naming the wrong field."""
        if not self.hours:
            raise InvalidInput("no hours", errors=[FieldError("hours", "accept at least one")])
        if not 1 <= self.max_hours_per_week <= 84:
            raise InvalidInput(
                "hours out of range",
                errors=[FieldError("max_hours_per_week", "between 1 and 84 hours a week")],
            )
        if self.wage_expectation_fen is not None and not (
            0 < self.wage_expectation_fen <= 10_000_000
        ):
            raise InvalidInput(
                "wage out of range",
                errors=[FieldError("wage_expectation_fen", "more than 0, at most 100,000 yuan")],
            )
        return self


@dataclass(frozen=True)
class SeekerSnapshot:
    """The state of a seeker."""

    id: str
    resident_id: str
    community_id: str
    path: tuple[str, ...]
    derived_groups: frozenset[PriorityGroup]
    recorded_groups: frozenset[PriorityGroup]
    skills: tuple[str, ...]
    education: Education
    preferences: Preferences
    status: SeekerStatus
    card: CardStatus
    card_changed_on: date | None
    card_revocation: RevocationReason | None
    registered_on: date
    version: int

    @property
    def priority_groups(self) -> frozenset[PriorityGroup]:
        """Derived and recorded groups together."""
        return self.derived_groups | self.recorded_groups


@dataclass(frozen=True)
class SeekerRegistered:
    """Domain event: a resident was registered as a seeker."""

    seeker: SeekerSnapshot


@dataclass(frozen=True)
class SeekerUpdated:
    """Domain event: a seeker changed; ``changed`` names the fields."""

    seeker: SeekerSnapshot
    changed: tuple[str, ...]


@dataclass(frozen=True)
class SeekerWithdrawn:
    """Domain event: a seeker stopped seeking."""

    seeker: SeekerSnapshot
    reason: WithdrawalReason
    on: date


@dataclass(frozen=True)
class CardIssued:
    """Domain event: the concession card was issued."""

    seeker: SeekerSnapshot


@dataclass(frozen=True)
class CardRevoked:
    """Domain event: the concession card was revoked."""

    seeker: SeekerSnapshot
    enrolment_id: str | None


SeekerEvent = SeekerRegistered | SeekerUpdated | SeekerWithdrawn | CardIssued | CardRevoked


def revocation_reason(
    *, required: bool, how: Literal["refused", "abandoned"], card: CardStatus
) -> RevocationReason | None:
    """Why refusing or abandoning training revokes the card, or None when it does not: only
    *required* reemployment training, and only a card that is held."""
    if not required or card != "issued":
        return None
    return "refused_required_training" if how == "refused" else "abandoned_required_training"


@dataclass
class Seeker:
    """A job seeker; commands check their rules and record events in ``events``."""

    state: SeekerSnapshot
    events: list[SeekerEvent] = field(default_factory=list)

    @classmethod
    def register(
        cls,
        *,
        seeker_id: str,
        resident: ResidentFacts,
        recorded_groups: frozenset[PriorityGroup],
        skills: Iterable[str],
        education: Education,
        preferences: Preferences,
        today: date,
    ) -> Seeker:
        """Register a present resident as a seeker."""
        if not resident.present:
            raise Conflict(f"resident {resident.resident_id} has left the register or died")
        state = SeekerSnapshot(
            id=seeker_id,
            resident_id=resident.resident_id,
            community_id=resident.community_id,
            path=resident.path,
            derived_groups=derive_groups(resident, on=today),
            recorded_groups=recorded_groups,
            skills=tuple(sorted(set(skills))),
            education=education,
            preferences=preferences.check(),
            status="seeking",
            card="none",
            card_changed_on=None,
            card_revocation=None,
            registered_on=today,
            version=1,
        )
        seeker = cls(state)
        seeker.events.append(SeekerRegistered(state))
        return seeker

    def _change(self, **changes: object) -> bool:
        changed = tuple(
            sorted(name for name, value in changes.items() if getattr(self.state, name) != value)
        )
        if not changed:
            return False
        self.state = replace(
            self.state,
            **{name: changes[name] for name in changed},  # type: ignore[arg-type]
            version=self.state.version + 1,
        )
        self.events.append(SeekerUpdated(self.state, changed))
        return True

    def _ensure_active(self) -> None:
        if self.state.status == "withdrawn":
            raise Conflict(f"seeker {self.state.id} has withdrawn")

    def update(
        self,
        *,
        recorded_groups: frozenset[PriorityGroup] | None = None,
        skills: Iterable[str] | None = None,
        education: Education | None = None,
        preferences: Preferences | None = None,
    ) -> bool:
        """Change what the community recorded; whether anything changed."""
        self._ensure_active()
        return self._change(
            recorded_groups=self.state.recorded_groups
            if recorded_groups is None
            else recorded_groups,
            skills=self.state.skills if skills is None else tuple(sorted(set(skills))),
            education=self.state.education if education is None else education,
            preferences=self.state.preferences if preferences is None else preferences.check(),
        )

    def learn(self, skills: Iterable[str]) -> bool:
        """Add skills a completed course taught."""
        return self._change(skills=tuple(sorted(set(self.state.skills) | set(skills))))

    def apply_registry_facts(self, resident: ResidentFacts, *, today: date) -> bool:
        """Follow the registry: community, path and derived groups (withdrawn seekers stay
        as they were)."""
        if self.state.status == "withdrawn":
            return False
        return self._change(
            community_id=resident.community_id,
            path=resident.path,
            derived_groups=derive_groups(resident, on=today),
        )

    def set_status(self, status: SeekerStatus) -> bool:
        """Move to ``status`` (training, placement and their ends)."""
        self._ensure_active()
        return self._change(status=status)

    def withdraw(self, *, reason: WithdrawalReason, on: date) -> None:
        """Stop seeking for good."""
        self._ensure_active()
        self.state = replace(self.state, status="withdrawn", version=self.state.version + 1)
        self.events.append(SeekerWithdrawn(self.state, reason, on))

    def issue_card(self, *, on: date, completed_required_training_since_revocation: bool) -> None:
        """Issue the concession card: to a seeker in a priority group who does not hold it;
        after a revocation for training, only once required training was completed since."""
        self._ensure_active()
        if self.state.card == "issued":
            raise Conflict(f"seeker {self.state.id} already holds the concession card")
        if not self.state.priority_groups:
            raise Conflict("the concession card goes only to seekers in a priority group")
        if (
            self.state.card_revocation
            in ("refused_required_training", "abandoned_required_training")
            and not completed_required_training_since_revocation
        ):
            raise Conflict(
                "the card was revoked for required training: it is issued again only after "
                "required training is completed"
            )
        self.state = replace(
            self.state,
            card="issued",
            card_changed_on=on,
            card_revocation=None,
            version=self.state.version + 1,
        )
        self.events.append(CardIssued(self.state))

    def revoke_card(
        self, *, reason: RevocationReason, on: date, enrolment_id: str | None = None
    ) -> None:
        """Revoke a held concession card for ``reason``."""
        if self.state.card != "issued":
            raise Conflict(f"seeker {self.state.id} holds no concession card")
        self.state = replace(
            self.state,
            card="revoked",
            card_changed_on=on,
            card_revocation=reason,
            version=self.state.version + 1,
        )
        self.events.append(CardRevoked(self.state, enrolment_id))
