"""Employers and vacancies.

A vacancy names required and nice-to-have skills (taxonomy codes), a place (a community or a
street), working time, a monthly wage in fen and a number of posts. Its kind is an enterprise
post, a public-welfare post (公益性岗位) or a convenience-service post (便民服务岗位).

Public-welfare posts are funded per community: a community has a quota of them, and the posts
of its open public-welfare vacancies plus the public-welfare placements under way there may not
exceed it (:func:`check_welfare_quota`). A person may hold public-welfare posts for at most the
vacancy's maximum tenure in total (:func:`welfare_end`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from employment.domain.dates import add_months
from shared.contracts.employment import EmployerKind, Hours, VacancyKind
from shared.errors import Conflict, FieldError, InvalidInput

VacancyStatus = Literal["open", "filled", "closed"]
DEFAULT_WELFARE_TENURE_MONTHS = 36
"""Maximum tenure on public-welfare posts per person unless the vacancy says otherwise."""


@dataclass(frozen=True)
class EmployerSnapshot:
    """An employer."""

    id: str
    name: str
    kind: EmployerKind
    community_id: str
    path: tuple[str, ...]
    training_partner: bool


@dataclass(frozen=True)
class EmployerRegistered:
    """Domain event: an employer was registered."""

    employer: EmployerSnapshot


@dataclass(frozen=True)
class VacancyTerms:
    """What a vacancy offers and asks."""

    title: str
    required_skills: tuple[str, ...]
    nice_skills: tuple[str, ...]
    hours: Hours
    hours_per_week: int
    wage_fen: int
    posts: int
    max_tenure_months: int | None

    def check(self, kind: VacancyKind) -> VacancyTerms:
        """The terms, or 422 naming the wrong field."""
        errors: list[FieldError] = []
        if not self.required_skills:
            errors.append(FieldError("required_skills", "name at least one required skill"))
        if set(self.required_skills) & set(self.nice_skills):
            errors.append(FieldError("nice_skills", "a skill is either required or nice-to-have"))
        if not 1 <= self.hours_per_week <= 84:
            errors.append(FieldError("hours_per_week", "between 1 and 84 hours a week"))
        if not 0 < self.wage_fen <= 10_000_000:
            errors.append(FieldError("wage_fen", "more than 0, at most 100,000 yuan a month"))
        if not 1 <= self.posts <= 1000:
            errors.append(FieldError("posts", "between 1 and 1000"))
        if self.max_tenure_months is not None and (
            kind != "public_welfare" or not 1 <= self.max_tenure_months <= 120
        ):
            errors.append(
                FieldError("max_tenure_months", "only for public-welfare posts, 1 to 120 months")
            )
        if errors:
            raise InvalidInput("invalid vacancy", errors=errors)
        if kind == "public_welfare" and self.max_tenure_months is None:
            return replace(self, max_tenure_months=DEFAULT_WELFARE_TENURE_MONTHS)
        return self


@dataclass(frozen=True)
class VacancySnapshot:
    """The state of a vacancy."""

    id: str
    employer_id: str
    kind: VacancyKind
    community_id: str
    path: tuple[str, ...]
    terms: VacancyTerms
    filled: int
    status: VacancyStatus
    training_partner: bool
    version: int


@dataclass(frozen=True)
class VacancyPosted:
    """Domain event: a vacancy was posted."""

    vacancy: VacancySnapshot


@dataclass(frozen=True)
class VacancyUpdated:
    """Domain event: a vacancy's terms changed or one of several posts was filled."""

    vacancy: VacancySnapshot


@dataclass(frozen=True)
class VacancyFilled:
    """Domain event: the last post was filled."""

    vacancy: VacancySnapshot


@dataclass(frozen=True)
class VacancyClosed:
    """Domain event: the vacancy was withdrawn."""

    vacancy: VacancySnapshot


VacancyEvent = VacancyPosted | VacancyUpdated | VacancyFilled | VacancyClosed


def check_welfare_quota(*, quota: int | None, in_use: int, adding: int, community_id: str) -> None:
    """409 unless ``adding`` more public-welfare posts fit the community's quota, of which
    ``in_use`` are taken by open posts and placements under way."""
    if quota is None:
        raise Conflict(f"community {community_id} has no public-welfare post quota")
    if in_use + adding > quota:
        raise Conflict(
            f"community {community_id} has a quota of {quota} public-welfare posts, "
            f"{in_use} in use: {adding} more do not fit"
        )


def welfare_end(*, start: date, max_tenure_months: int, served_days: int) -> date:
    """Last day of a public-welfare post starting on ``start`` for a person who has already
    served ``served_days`` on such posts; 409 when the maximum tenure is used up."""
    end = add_months(start, max_tenure_months) - timedelta(days=1 + served_days)
    if end < start:
        raise Conflict(
            f"the maximum tenure on public-welfare posts ({max_tenure_months} months) is used up"
        )
    return end


@dataclass
class Vacancy:
    """A vacancy; commands check their rules and record events in ``events``."""

    state: VacancySnapshot
    events: list[VacancyEvent] = field(default_factory=list)

    @classmethod
    def post(
        cls,
        *,
        vacancy_id: str,
        employer: EmployerSnapshot,
        kind: VacancyKind,
        community_id: str,
        path: tuple[str, ...],
        terms: VacancyTerms,
    ) -> Vacancy:
        """Post a vacancy of ``employer`` at a place (community or street)."""
        if kind == "public_welfare" and employer.kind == "enterprise":
            raise InvalidInput(
                "public-welfare posts are offered by public bodies and social organisations",
                errors=[FieldError("kind", "an enterprise cannot offer public-welfare posts")],
            )
        state = VacancySnapshot(
            id=vacancy_id,
            employer_id=employer.id,
            kind=kind,
            community_id=community_id,
            path=path,
            terms=terms.check(kind),
            filled=0,
            status="open",
            training_partner=employer.training_partner,
            version=1,
        )
        vacancy = cls(state)
        vacancy.events.append(VacancyPosted(state))
        return vacancy

    def _ensure_open(self) -> None:
        if self.state.status != "open":
            raise Conflict(f"vacancy {self.state.id} is {self.state.status}")

    def revise(self, terms: VacancyTerms) -> bool:
        """Replace the terms of an open vacancy; whether anything changed."""
        self._ensure_open()
        checked = terms.check(self.state.kind)
        if checked.posts < self.state.filled:
            raise InvalidInput(
                "fewer posts than filled",
                errors=[FieldError("posts", f"{self.state.filled} posts are already filled")],
            )
        if checked == self.state.terms:
            return False
        self.state = replace(self.state, terms=checked, version=self.state.version + 1)
        self.events.append(
            VacancyFilled(self.state) if self._now_full() else VacancyUpdated(self.state)
        )
        return True

    def _now_full(self) -> bool:
        if self.state.filled >= self.state.terms.posts:
            self.state = replace(self.state, status="filled")
            return True
        return False

    def fill_one(self) -> None:
        """Fill one post (a placement was made)."""
        self._ensure_open()
        self.state = replace(
            self.state, filled=self.state.filled + 1, version=self.state.version + 1
        )
        self.events.append(
            VacancyFilled(self.state) if self._now_full() else VacancyUpdated(self.state)
        )

    def close(self) -> None:
        """Withdraw an open vacancy."""
        self._ensure_open()
        self.state = replace(self.state, status="closed", version=self.state.version + 1)
        self.events.append(VacancyClosed(self.state))

    @property
    def open_posts(self) -> int:
        """Posts not yet filled."""
        return self.state.terms.posts - self.state.filled if self.state.status == "open" else 0
