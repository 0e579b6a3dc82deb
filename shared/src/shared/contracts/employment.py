"""Events published by the employment service: job seekers, employers, vacancies, matches,
training, the reemployment concession card, placements with their retention checks, and
micro-loans for self-employment.

Payloads carry ids, area paths and derived facts (priority groups, skill codes, amounts in
integer fen) and never a name, national id number, phone or address. Snapshot events of a
seeker or vacancy carry ``version`` (1, 2, … per aggregate).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.contracts import CONTRACTS, EventPayload

PriorityGroup = Literal[
    "laid_off",
    "age_4050",
    "disabled",
    "migrant_worker",
    "land_losing_farmer",
    "long_term_unemployed",
    "new_entrant",
    "graduate",
]
SeekerStatus = Literal["seeking", "in_training", "placed", "withdrawn"]
VacancyKind = Literal["enterprise", "public_welfare", "convenience_service"]
EmployerKind = Literal["enterprise", "public_body", "social_organisation"]
Hours = Literal["full_time", "part_time", "flexible"]
GuaranteeKind = Literal["guarantee_fund", "personal_guarantor", "collateral"]

PathField = Field(description="Area ids from the city down to the community, inclusive.")
GroupsField = Field(description="Priority groups of the seeker (derived and recorded).")


# -- seekers -------------------------------------------------------------------------------


class SeekerState(EventPayload):
    """The statistical state of a job seeker."""

    seeker_id: str = Field(description="Employment service id of the seeker.")
    resident_id: str = Field(description="Registry id of the resident the seeker is.")
    community_id: str = Field(description="Community of the resident.")
    path: list[str] = PathField
    priority_groups: list[PriorityGroup] = GroupsField
    skills: list[str] = Field(description="Skill codes of the taxonomy the seeker holds.")
    status: SeekerStatus = Field(description="Status after the change.")
    version: int = Field(description="Aggregate version of this state.")


@CONTRACTS.contract(service="employment", aggregate="seeker", name="registered")
class SeekerRegistered(SeekerState):
    """Emitted when a resident is registered as a job seeker."""

    registered_on: date = Field(description="Registration date.")


@CONTRACTS.contract(service="employment", aggregate="seeker", name="updated")
class SeekerUpdated(SeekerState):
    """Emitted when a seeker's skills, groups, preferences or status change (also when
    registry facts change the derived priority groups); ``changed`` names the fields."""

    changed: list[str] = Field(description="Fields that changed.")


@CONTRACTS.contract(service="employment", aggregate="seeker", name="withdrawn")
class SeekerWithdrawn(SeekerState):
    """Emitted when a seeker stops seeking work through the community (found work alone,
    moved away, died, or asked to leave)."""

    reason: Literal["found_work", "left", "died", "request"] = Field(description="Why.")
    withdrawn_on: date = Field(description="Date of withdrawal.")


# -- concession card ---------------------------------------------------------------------


@CONTRACTS.contract(service="employment", aggregate="seeker", name="card_issued")
class ConcessionCardIssued(EventPayload):
    """Emitted when a seeker is issued the reemployment concession card (再就业优惠证)."""

    seeker_id: str = Field(description="The seeker.")
    community_id: str = Field(description="Their community.")
    path: list[str] = PathField
    priority_groups: list[PriorityGroup] = GroupsField
    issued_on: date = Field(description="Issue date.")


@CONTRACTS.contract(service="employment", aggregate="seeker", name="card_revoked")
class ConcessionCardRevoked(EventPayload):
    """Emitted when a seeker's concession card is revoked: refused or abandoned required
    reemployment training, or revoked by the community for another stated reason."""

    seeker_id: str = Field(description="The seeker.")
    community_id: str = Field(description="Their community.")
    path: list[str] = PathField
    reason: Literal["refused_required_training", "abandoned_required_training", "other"] = Field(
        description="Why the card was revoked."
    )
    enrolment_id: str | None = Field(
        default=None, description="The required training refused or abandoned, if that is why."
    )
    revoked_on: date = Field(description="Revocation date.")


# -- employers and vacancies -------------------------------------------------------------


@CONTRACTS.contract(service="employment", aggregate="employer", name="registered")
class EmployerRegistered(EventPayload):
    """Emitted when an employer (enterprise in the district, public body, social
    organisation) is registered."""

    employer_id: str = Field(description="Employment service id of the employer.")
    kind: EmployerKind = Field(description="Kind of employer.")
    community_id: str = Field(description="Community the employer is registered in.")
    path: list[str] = PathField
    training_partner: bool = Field(
        description="Takes part in reemployment training (gets priority for referrals)."
    )


class VacancyState(EventPayload):
    """The state of a vacancy, as integrators need it."""

    vacancy_id: str = Field(description="Employment service id of the vacancy.")
    employer_id: str = Field(description="The employer.")
    kind: VacancyKind = Field(description="Enterprise, public-welfare or convenience-service post.")
    community_id: str = Field(description="Community or street where the work is.")
    path: list[str] = Field(description="Area ids from the city down to the place of work.")
    required_skills: list[str] = Field(description="Skill codes a candidate must hold.")
    nice_skills: list[str] = Field(description="Skill codes that count in a candidate's favour.")
    hours: Hours = Field(description="Working time.")
    hours_per_week: int = Field(description="Hours a week.")
    wage_fen: int = Field(description="Monthly wage in fen (1/100 yuan).")
    posts: int = Field(description="Number of posts.")
    filled: int = Field(description="Posts filled so far.")
    status: Literal["open", "filled", "closed"] = Field(description="Status after the change.")
    version: int = Field(description="Aggregate version of this state.")


@CONTRACTS.contract(service="employment", aggregate="vacancy", name="posted")
class VacancyPosted(VacancyState):
    """Emitted when a vacancy is posted."""


@CONTRACTS.contract(service="employment", aggregate="vacancy", name="updated")
class VacancyUpdated(VacancyState):
    """Emitted when an open vacancy's terms change or one of its posts is filled while others
    stay open."""


@CONTRACTS.contract(service="employment", aggregate="vacancy", name="filled")
class VacancyFilled(VacancyState):
    """Emitted when the last post of a vacancy is filled."""


@CONTRACTS.contract(service="employment", aggregate="vacancy", name="closed")
class VacancyClosed(VacancyState):
    """Emitted when a vacancy is withdrawn before all its posts were filled."""


# -- matches -----------------------------------------------------------------------------


class ScoreTerm(EventPayload):
    """One term of a match score."""

    term: Literal["skill_coverage", "missing_required", "distance", "hours", "wage", "priority"] = (
        Field(description="Which rule.")
    )
    points: float = Field(description="Points this term adds (negative: subtracts).")


class MatchState(EventPayload):
    """A proposed match of a seeker to a vacancy."""

    match_id: str = Field(description="Employment service id of the match.")
    vacancy_id: str = Field(description="The vacancy.")
    seeker_id: str = Field(description="The seeker.")
    path: list[str] = Field(description="Path of the vacancy's place of work.")
    vacancy_kind: VacancyKind = Field(description="Kind of the vacancy.")
    priority_groups: list[PriorityGroup] = GroupsField
    score: float = Field(description="Total score (sum of the terms).")
    terms: list[ScoreTerm] = Field(description="The score, term by term.")


@CONTRACTS.contract(service="employment", aggregate="match", name="proposed")
class MatchProposed(MatchState):
    """Emitted when a caseworker proposes a seeker for a vacancy (a referral)."""


@CONTRACTS.contract(service="employment", aggregate="match", name="accepted")
class MatchAccepted(MatchState):
    """Emitted when seeker and employer accept a proposed match; a placement follows."""


@CONTRACTS.contract(service="employment", aggregate="match", name="declined")
class MatchDeclined(MatchState):
    """Emitted when the seeker or the employer declines a proposed match."""

    declined_by: Literal["seeker", "employer"] = Field(description="Who declined.")


# -- training ----------------------------------------------------------------------------


@CONTRACTS.contract(service="employment", aggregate="course", name="scheduled")
class CourseScheduled(EventPayload):
    """Emitted when a training course is scheduled."""

    course_id: str = Field(description="Employment service id of the course.")
    community_id: str = Field(description="Community or street holding it.")
    path: list[str] = Field(description="Area ids from the city down to that area.")
    skills: list[str] = Field(description="Skill codes the course teaches.")
    starts_on: date = Field(description="First day.")
    ends_on: date = Field(description="Last day.")
    capacity: int = Field(description="Places.")


class EnrolmentState(EventPayload):
    """A seeker's enrolment in a course."""

    enrolment_id: str = Field(description="Employment service id of the enrolment.")
    course_id: str = Field(description="The course.")
    seeker_id: str = Field(description="The seeker.")
    path: list[str] = Field(description="Path of the seeker's community.")
    required: bool = Field(description="Required reemployment training for the seeker.")
    skills: list[str] = Field(description="Skill codes the course teaches.")


@CONTRACTS.contract(service="employment", aggregate="enrolment", name="enrolled")
class TrainingEnrolled(EnrolmentState):
    """Emitted when a seeker is enrolled in (or assigned, if required) a training course."""


@CONTRACTS.contract(service="employment", aggregate="enrolment", name="completed")
class TrainingCompleted(EnrolmentState):
    """Emitted when a seeker completes a course; its skills are added to the seeker's."""

    sessions_attended: int = Field(description="Sessions attended.")
    completed_on: date = Field(description="Completion date.")


@CONTRACTS.contract(service="employment", aggregate="enrolment", name="abandoned")
class TrainingAbandoned(EnrolmentState):
    """Emitted when a seeker refuses an assigned course or abandons one under way."""

    how: Literal["refused", "abandoned"] = Field(description="Refused before or left during it.")
    abandoned_on: date = Field(description="Date.")


# -- placements --------------------------------------------------------------------------


class PlacementFacts(EventPayload):
    """What a placement is, for statistics."""

    placement_id: str = Field(description="Employment service id of the placement.")
    seeker_id: str = Field(description="The seeker placed.")
    vacancy_id: str = Field(description="The vacancy.")
    employer_id: str = Field(description="The employer.")
    vacancy_kind: VacancyKind = Field(description="Kind of post.")
    community_id: str = Field(description="The seeker's community.")
    path: list[str] = Field(description="Path of the seeker's community.")
    priority_groups: list[PriorityGroup] = GroupsField
    started_on: date = Field(description="First day of work.")


@CONTRACTS.contract(service="employment", aggregate="placement", name="made")
class PlacementMade(PlacementFacts):
    """Emitted when an accepted match becomes a placement; retention checks at 3, 6 and 12
    months are scheduled."""

    ends_on: date | None = Field(
        description="Last day of a fixed-term public-welfare post (its maximum tenure)."
    )


@CONTRACTS.contract(service="employment", aggregate="placement", name="retention_due")
class RetentionCheckDue(PlacementFacts):
    """Emitted when a retention check falls due (a follow-up task for the community)."""

    months: Literal[3, 6, 12] = Field(description="Which check.")
    due_on: date = Field(description="When it is due.")


@CONTRACTS.contract(service="employment", aggregate="placement", name="retention_checked")
class RetentionChecked(PlacementFacts):
    """Emitted when a retention check is recorded: still in the job (passed) or not."""

    months: Literal[3, 6, 12] = Field(description="Which check.")
    passed: bool = Field(description="Still employed at the check.")
    checked_on: date = Field(description="Date of the check.")


@CONTRACTS.contract(service="employment", aggregate="placement", name="reemployed")
class Reemployed(PlacementFacts):
    """Emitted once per placement when its 3-month retention check passes: from then on the
    seeker counts as re-employed."""

    reemployed_on: date = Field(description="Date the 3-month check passed.")


# -- micro-loans -------------------------------------------------------------------------


class LoanFacts(EventPayload):
    """What a micro-loan is, for statistics."""

    loan_id: str = Field(description="Employment service id of the loan.")
    seeker_id: str = Field(description="The borrower (a seeker).")
    community_id: str = Field(description="The borrower's community.")
    path: list[str] = PathField
    amount_fen: int = Field(description="Principal in fen (1/100 yuan).")
    term_months: int = Field(description="Term in months.")


@CONTRACTS.contract(service="employment", aggregate="loan", name="applied")
class LoanApplied(LoanFacts):
    """Emitted when a seeker applies for a micro-loan for self-employment."""

    applied_on: date = Field(description="Application date.")


@CONTRACTS.contract(service="employment", aggregate="loan", name="guaranteed")
class LoanGuaranteed(LoanFacts):
    """Emitted when a guarantee for the loan is recorded."""

    guarantee: GuaranteeKind = Field(description="Kind of guarantee.")


@CONTRACTS.contract(service="employment", aggregate="loan", name="approved")
class LoanApproved(LoanFacts):
    """Emitted when a guaranteed loan is approved."""

    approved_on: date = Field(description="Approval date.")


class Instalment(EventPayload):
    """One instalment of a repayment schedule."""

    number: int = Field(description="1, 2, …")
    due_on: date = Field(description="Due date.")
    amount_fen: int = Field(description="Amount due in fen.")


@CONTRACTS.contract(service="employment", aggregate="loan", name="disbursed")
class LoanDisbursed(LoanFacts):
    """Emitted when an approved loan is paid out; carries its repayment schedule."""

    disbursed_on: date = Field(description="Disbursement date.")
    schedule: list[Instalment] = Field(description="Monthly instalments (sum = amount).")


@CONTRACTS.contract(service="employment", aggregate="loan", name="repaid")
class LoanRepaid(LoanFacts):
    """Emitted for every repayment received; ``outstanding_fen`` 0 means fully repaid."""

    paid_fen: int = Field(description="Amount of this repayment in fen.")
    paid_on: date = Field(description="Payment date.")
    outstanding_fen: int = Field(description="Principal still owed after it.")


@CONTRACTS.contract(service="employment", aggregate="loan", name="in_arrears")
class LoanInArrears(LoanFacts):
    """Emitted when an instalment of a loan passes its due date unpaid (once per spell)."""

    overdue_fen: int = Field(description="Amount overdue in fen.")
    since: date = Field(description="Due date of the oldest unpaid instalment.")


@CONTRACTS.contract(service="employment", aggregate="loan", name="defaulted")
class LoanDefaulted(LoanFacts):
    """Emitted when an instalment stays unpaid 90 days past its due date."""

    outstanding_fen: int = Field(description="Principal still owed.")
    defaulted_on: date = Field(description="Date of default.")
