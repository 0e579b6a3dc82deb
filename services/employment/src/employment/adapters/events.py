"""The employment service's event translator: every domain event to its integration event
(``shared.contracts.employment``) and the id of its aggregate (the partition key)."""

from __future__ import annotations

from typing import Any

from employment.domain import loans, matches, placements, seekers, training, vacancies
from shared.contracts import employment as contracts
from shared.unit_of_work import IntegrationEvent, Translations, translator

# -- seekers -------------------------------------------------------------------------------


def _seeker(state: seekers.SeekerSnapshot) -> dict[str, Any]:
    return {
        "seeker_id": state.id,
        "resident_id": state.resident_id,
        "community_id": state.community_id,
        "path": list(state.path),
        "priority_groups": sorted(state.priority_groups),
        "skills": list(state.skills),
        "status": state.status,
        "version": state.version,
    }


def _seeker_registered(event: seekers.SeekerRegistered) -> IntegrationEvent:
    state = event.seeker
    payload = {**_seeker(state), "registered_on": state.registered_on}
    return contracts.SeekerRegistered.model_validate(payload), state.id


def _seeker_updated(event: seekers.SeekerUpdated) -> IntegrationEvent:
    payload = {**_seeker(event.seeker), "changed": list(event.changed)}
    return contracts.SeekerUpdated.model_validate(payload), event.seeker.id


def _seeker_withdrawn(event: seekers.SeekerWithdrawn) -> IntegrationEvent:
    payload = {**_seeker(event.seeker), "reason": event.reason, "withdrawn_on": event.on}
    return contracts.SeekerWithdrawn.model_validate(payload), event.seeker.id


def _card_issued(event: seekers.CardIssued) -> IntegrationEvent:
    state = event.seeker
    assert state.card_changed_on is not None
    payload = contracts.ConcessionCardIssued(
        seeker_id=state.id,
        community_id=state.community_id,
        path=list(state.path),
        priority_groups=sorted(state.priority_groups),
        issued_on=state.card_changed_on,
    )
    return payload, state.id


def _card_revoked(event: seekers.CardRevoked) -> IntegrationEvent:
    state = event.seeker
    assert state.card_changed_on is not None
    assert state.card_revocation is not None
    payload = contracts.ConcessionCardRevoked(
        seeker_id=state.id,
        community_id=state.community_id,
        path=list(state.path),
        reason=state.card_revocation,
        enrolment_id=event.enrolment_id,
        revoked_on=state.card_changed_on,
    )
    return payload, state.id


# -- employers and vacancies -------------------------------------------------------------


def _employer(event: vacancies.EmployerRegistered) -> IntegrationEvent:
    state = event.employer
    payload = contracts.EmployerRegistered(
        employer_id=state.id,
        kind=state.kind,
        community_id=state.community_id,
        path=list(state.path),
        training_partner=state.training_partner,
    )
    return payload, state.id


def _vacancy(state: vacancies.VacancySnapshot) -> dict[str, Any]:
    terms = state.terms
    return {
        "vacancy_id": state.id,
        "employer_id": state.employer_id,
        "kind": state.kind,
        "community_id": state.community_id,
        "path": list(state.path),
        "required_skills": list(terms.required_skills),
        "nice_skills": list(terms.nice_skills),
        "hours": terms.hours,
        "hours_per_week": terms.hours_per_week,
        "wage_fen": terms.wage_fen,
        "posts": terms.posts,
        "filled": state.filled,
        "status": state.status,
        "version": state.version,
    }


def _vacancy_posted(event: vacancies.VacancyPosted) -> IntegrationEvent:
    return contracts.VacancyPosted.model_validate(_vacancy(event.vacancy)), event.vacancy.id


def _vacancy_updated(event: vacancies.VacancyUpdated) -> IntegrationEvent:
    return contracts.VacancyUpdated.model_validate(_vacancy(event.vacancy)), event.vacancy.id


def _vacancy_filled(event: vacancies.VacancyFilled) -> IntegrationEvent:
    return contracts.VacancyFilled.model_validate(_vacancy(event.vacancy)), event.vacancy.id


def _vacancy_closed(event: vacancies.VacancyClosed) -> IntegrationEvent:
    return contracts.VacancyClosed.model_validate(_vacancy(event.vacancy)), event.vacancy.id


# -- matches -------------------------------------------------------------------------------


def _match(state: matches.MatchSnapshot) -> dict[str, Any]:
    return {
        "match_id": state.id,
        "vacancy_id": state.vacancy_id,
        "seeker_id": state.seeker_id,
        "path": list(state.path),
        "vacancy_kind": state.vacancy_kind,
        "priority_groups": sorted(state.priority_groups),
        "score": state.score.total,
        "terms": [{"term": t.term, "points": t.points} for t in state.score.terms],
    }


def _match_proposed(event: matches.MatchProposed) -> IntegrationEvent:
    return contracts.MatchProposed.model_validate(_match(event.match)), event.match.id


def _match_accepted(event: matches.MatchAccepted) -> IntegrationEvent:
    return contracts.MatchAccepted.model_validate(_match(event.match)), event.match.id


def _match_declined(event: matches.MatchDeclined) -> IntegrationEvent:
    payload = {**_match(event.match), "declined_by": event.match.declined_by}
    return contracts.MatchDeclined.model_validate(payload), event.match.id


# -- training ------------------------------------------------------------------------------


def _course(event: training.CourseScheduled) -> IntegrationEvent:
    state = event.course
    payload = contracts.CourseScheduled(
        course_id=state.id,
        community_id=state.community_id,
        path=list(state.path),
        skills=list(state.skills),
        starts_on=state.starts_on,
        ends_on=state.ends_on,
        capacity=state.capacity,
    )
    return payload, state.id


def _enrolment(state: training.EnrolmentSnapshot) -> dict[str, Any]:
    return {
        "enrolment_id": state.id,
        "course_id": state.course.id,
        "seeker_id": state.seeker_id,
        "path": list(state.seeker_path),
        "required": state.required,
        "skills": list(state.course.skills),
    }


def _enrolled(event: training.TrainingEnrolled) -> IntegrationEvent:
    return contracts.TrainingEnrolled.model_validate(
        _enrolment(event.enrolment)
    ), event.enrolment.id


def _completed(event: training.TrainingCompleted) -> IntegrationEvent:
    state = event.enrolment
    payload = {
        **_enrolment(state),
        "sessions_attended": state.sessions_attended,
        "completed_on": state.ended_on,
    }
    return contracts.TrainingCompleted.model_validate(payload), state.id


def _abandoned(event: training.TrainingAbandoned) -> IntegrationEvent:
    state = event.enrolment
    payload = {**_enrolment(state), "how": state.status, "abandoned_on": state.ended_on}
    return contracts.TrainingAbandoned.model_validate(payload), state.id


# -- placements ----------------------------------------------------------------------------


def _placement(state: placements.PlacementSnapshot) -> dict[str, Any]:
    return {
        "placement_id": state.id,
        "seeker_id": state.seeker_id,
        "vacancy_id": state.vacancy_id,
        "employer_id": state.employer_id,
        "vacancy_kind": state.vacancy_kind,
        "community_id": state.community_id,
        "path": list(state.path),
        "priority_groups": sorted(state.priority_groups),
        "started_on": state.started_on,
    }


def _placement_made(event: placements.PlacementMade) -> IntegrationEvent:
    state = event.placement
    payload = {**_placement(state), "ends_on": state.ends_on}
    return contracts.PlacementMade.model_validate(payload), state.id


def _retention_due(event: placements.RetentionCheckDue) -> IntegrationEvent:
    state = event.placement
    check = state.check(event.months)
    payload = {**_placement(state), "months": event.months, "due_on": check.due_on}
    return contracts.RetentionCheckDue.model_validate(payload), state.id


def _retention_checked(event: placements.RetentionChecked) -> IntegrationEvent:
    state = event.placement
    check = state.check(event.months)
    payload = {
        **_placement(state),
        "months": event.months,
        "passed": check.status == "passed",
        "checked_on": check.checked_on,
    }
    return contracts.RetentionChecked.model_validate(payload), state.id


def _reemployed(event: placements.Reemployed) -> IntegrationEvent:
    state = event.placement
    payload = {**_placement(state), "reemployed_on": state.reemployed_on}
    return contracts.Reemployed.model_validate(payload), state.id


# -- loans ---------------------------------------------------------------------------------


def _loan(state: loans.LoanSnapshot) -> dict[str, Any]:
    return {
        "loan_id": state.id,
        "seeker_id": state.seeker_id,
        "community_id": state.community_id,
        "path": list(state.path),
        "amount_fen": state.amount_fen,
        "term_months": state.term_months,
    }


def _loan_applied(event: loans.LoanApplied) -> IntegrationEvent:
    state = event.loan
    payload = {**_loan(state), "applied_on": state.applied_on}
    return contracts.LoanApplied.model_validate(payload), state.id


def _loan_guaranteed(event: loans.LoanGuaranteed) -> IntegrationEvent:
    state = event.loan
    payload = {**_loan(state), "guarantee": state.guarantee}
    return contracts.LoanGuaranteed.model_validate(payload), state.id


def _loan_approved(event: loans.LoanApproved) -> IntegrationEvent:
    state = event.loan
    payload = {**_loan(state), "approved_on": state.approved_on}
    return contracts.LoanApproved.model_validate(payload), state.id


def _loan_disbursed(event: loans.LoanDisbursed) -> IntegrationEvent:
    state = event.loan
    payload = {
        **_loan(state),
        "disbursed_on": state.disbursed_on,
        "schedule": [
            {"number": i.number, "due_on": i.due_on, "amount_fen": i.amount_fen}
            for i in state.instalments
        ],
    }
    return contracts.LoanDisbursed.model_validate(payload), state.id


def _loan_repaid(event: loans.LoanRepaid) -> IntegrationEvent:
    state = event.loan
    payload = {
        **_loan(state),
        "paid_fen": event.paid_fen,
        "paid_on": event.paid_on,
        "outstanding_fen": state.outstanding_fen,
    }
    return contracts.LoanRepaid.model_validate(payload), state.id


def _loan_in_arrears(event: loans.LoanInArrears) -> IntegrationEvent:
    state = event.loan
    payload = {**_loan(state), "overdue_fen": event.overdue_fen, "since": state.arrears_since}
    return contracts.LoanInArrears.model_validate(payload), state.id


def _loan_defaulted(event: loans.LoanDefaulted) -> IntegrationEvent:
    state = event.loan
    payload = {
        **_loan(state),
        "outstanding_fen": state.outstanding_fen,
        "defaulted_on": event.on,
    }
    return contracts.LoanDefaulted.model_validate(payload), state.id


TRANSLATIONS: Translations = {
    seekers.SeekerRegistered: _seeker_registered,
    seekers.SeekerUpdated: _seeker_updated,
    seekers.SeekerWithdrawn: _seeker_withdrawn,
    seekers.CardIssued: _card_issued,
    seekers.CardRevoked: _card_revoked,
    vacancies.EmployerRegistered: _employer,
    vacancies.VacancyPosted: _vacancy_posted,
    vacancies.VacancyUpdated: _vacancy_updated,
    vacancies.VacancyFilled: _vacancy_filled,
    vacancies.VacancyClosed: _vacancy_closed,
    matches.MatchProposed: _match_proposed,
    matches.MatchAccepted: _match_accepted,
    matches.MatchDeclined: _match_declined,
    training.CourseScheduled: _course,
    training.TrainingEnrolled: _enrolled,
    training.TrainingCompleted: _completed,
    training.TrainingAbandoned: _abandoned,
    placements.PlacementMade: _placement_made,
    placements.RetentionCheckDue: _retention_due,
    placements.RetentionChecked: _retention_checked,
    placements.Reemployed: _reemployed,
    loans.LoanApplied: _loan_applied,
    loans.LoanGuaranteed: _loan_guaranteed,
    loans.LoanApproved: _loan_approved,
    loans.LoanDisbursed: _loan_disbursed,
    loans.LoanRepaid: _loan_repaid,
    loans.LoanInArrears: _loan_in_arrears,
    loans.LoanDefaulted: _loan_defaulted,
}
"""Employment domain events → integration events."""

translate = translator(TRANSLATIONS)
"""Maps an employment domain event to its integration event; an unknown one is a wiring error."""

__all__ = ["TRANSLATIONS", "translate"]
