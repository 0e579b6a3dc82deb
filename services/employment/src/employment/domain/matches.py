"""Matches (referrals): a caseworker proposes a seeker for a vacancy with the score that
ranked them; seeker and employer accept (a placement follows) or one of them declines."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from employment.domain.matching import Score
from shared.contracts.employment import PriorityGroup, VacancyKind
from shared.errors import Conflict

MatchStatus = Literal["proposed", "accepted", "declined"]


@dataclass(frozen=True)
class MatchSnapshot:
    """A match and the score it was proposed with."""

    id: str
    vacancy_id: str
    seeker_id: str
    path: tuple[str, ...]
    vacancy_kind: VacancyKind
    priority_groups: frozenset[PriorityGroup]
    score: Score
    status: MatchStatus
    declined_by: Literal["seeker", "employer"] | None = None


@dataclass(frozen=True)
class MatchProposed:
    """Domain event: a match was proposed."""

    match: MatchSnapshot


@dataclass(frozen=True)
class MatchAccepted:
    """Domain event: a match was accepted."""

    match: MatchSnapshot


@dataclass(frozen=True)
class MatchDeclined:
    """Domain event: a match was declined."""

    match: MatchSnapshot


MatchEvent = MatchProposed | MatchAccepted | MatchDeclined


@dataclass
class Match:
    """A match; commands record events in ``events``."""

    state: MatchSnapshot
    events: list[MatchEvent] = field(default_factory=list)

    @classmethod
    def propose(cls, state: MatchSnapshot) -> Match:
        """Propose a match (the caller checked eligibility and scored it)."""
        match = cls(state)
        match.events.append(MatchProposed(state))
        return match

    def _ensure_proposed(self) -> None:
        if self.state.status != "proposed":
            raise Conflict(f"match {self.state.id} is already {self.state.status}")

    def accept(self) -> None:
        """Seeker and employer accept."""
        self._ensure_proposed()
        self.state = replace(self.state, status="accepted")
        self.events.append(MatchAccepted(self.state))

    def decline(self, by: Literal["seeker", "employer"]) -> None:
        """The seeker or the employer declines."""
        self._ensure_proposed()
        self.state = replace(self.state, status="declined", declined_by=by)
        self.events.append(MatchDeclined(self.state))
