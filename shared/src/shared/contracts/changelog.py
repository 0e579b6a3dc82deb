"""The changelog of every event type, and the deprecation window of a replaced type.

Every type in :data:`shared.contracts.CONTRACTS` has an entry here (a test enumerates the
registry): a new type starts with ``_first_published(<date>)``; an additive change (a new
optional field) appends a :class:`Change` to its type; a breaking change is a new ``.vN`` type
with its own entry, and the old type gets a "Deprecated" change naming its successor. The
old type is still published for :data:`DEPRECATION_WINDOW_DAYS` after that. ``make schemas``
writes the changelog into ``docs/events.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEPRECATION_WINDOW_DAYS = 180
"""Days a deprecated ``.vN`` type is still published beside its successor ``.vN+1``."""
FIRST_PUBLISHED = "First published."
CHANGELOG_SOURCE = "shared/src/shared/contracts/changelog.py"


@dataclass(frozen=True)
class Change:
    """One entry of an event type's changelog."""

    on: date
    note: str


class MissingChangelog(LookupError):
    """An event type with no entry in :data:`CHANGELOG`."""


def _first_published(on: date) -> tuple[Change, ...]:
    return (Change(on, FIRST_PUBLISHED),)


CHANGELOG: dict[str, tuple[Change, ...]] = {
    "org.shequ.casework.case.accepted.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.closed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.decided.v1": (
        Change(date(2026, 11, 30), FIRST_PUBLISHED),
        Change(
            date(2026, 11, 30),
            "Added the optional `amount_fen`, `resident_id` (additive: earlier events lack them).",
        ),
    ),
    "org.shequ.casework.case.delegated.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.due_soon.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.escalated.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.extended.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.forwarded.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.hop_recorded.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.mediation_agreement_reached.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.mediation_session_held.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.overdue.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.petition_escalated.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.rated.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.reopened.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.resubmitted.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.resumed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.returned.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.settled.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.submitted.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.suspended.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.casework.case.withdrawn.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.assessment.completed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.elder.care_level_changed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.elder.deceased.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.elder.enrolled.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.elder.left.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.elder.updated.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.entitlement.declined.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.entitlement.due.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.entitlement.granted.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.order.assigned.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.order.cancelled.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.order.created.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.payment.subsidy_paid.v1": (
        Change(date(2026, 11, 30), FIRST_PUBLISHED),
        Change(
            date(2026, 11, 30), "Added the optional `case_id` (additive: earlier events lack it)."
        ),
    ),
    "org.shequ.eldercare.placement.ended.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.placement.requested.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.placement.started.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.placement.waiting_position_changed.v1": _first_published(
        date(2026, 11, 30)
    ),
    "org.shequ.eldercare.visit.checked_in.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.visit.completed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.eldercare.visit.missed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.course.scheduled.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.employer.registered.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.enrolment.abandoned.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.enrolment.completed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.enrolment.enrolled.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.loan.applied.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.loan.approved.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.loan.defaulted.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.loan.disbursed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.loan.guaranteed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.loan.in_arrears.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.loan.repaid.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.match.accepted.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.match.declined.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.match.proposed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.placement.made.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.placement.reemployed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.placement.retention_checked.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.placement.retention_due.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.seeker.card_issued.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.seeker.card_revoked.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.seeker.registered.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.seeker.updated.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.seeker.withdrawn.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.vacancy.closed.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.vacancy.filled.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.vacancy.posted.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.employment.vacancy.updated.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.metrics.target.created.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.metrics.target.status_changed.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.area.created.v1": (
        Change(date(2026, 11, 22), FIRST_PUBLISHED),
        Change(
            date(2026, 11, 22),
            "Added the optional `household_count`, `kind` (additive: earlier events lack them).",
        ),
    ),
    "org.shequ.registry.area.merged.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.area.retired.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.area.split.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.facility.closed.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.facility.opened.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.facility.updated.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.household.moved.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.household.registered.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.organisation.registered.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.resident.age_reached.v1": _first_published(date(2026, 11, 30)),
    "org.shequ.registry.resident.died.v1": (
        Change(date(2026, 11, 22), FIRST_PUBLISHED),
        Change(
            date(2026, 11, 30),
            "Added the optional `age` and `age_on` (additive: earlier events lack them).",
        ),
    ),
    "org.shequ.registry.resident.left.v1": (
        Change(date(2026, 11, 22), FIRST_PUBLISHED),
        Change(
            date(2026, 11, 30),
            "Added the optional `age` and `age_on` (additive: earlier events lack them).",
        ),
    ),
    "org.shequ.registry.resident.moved.v1": (
        Change(date(2026, 11, 22), FIRST_PUBLISHED),
        Change(
            date(2026, 11, 30),
            "Added the optional `age` and `age_on` (additive: earlier events lack them).",
        ),
    ),
    "org.shequ.registry.resident.permit_expiring.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.resident.registered.v1": (
        Change(date(2026, 11, 22), FIRST_PUBLISHED),
        Change(
            date(2026, 11, 30),
            "Added the optional `age` and `age_on` (additive: earlier events lack them).",
        ),
    ),
    "org.shequ.registry.resident.updated.v1": (
        Change(date(2026, 11, 22), FIRST_PUBLISHED),
        Change(
            date(2026, 11, 30),
            "Added the optional `age` and `age_on` (additive: earlier events lack them).",
        ),
    ),
    "org.shequ.registry.volunteer.hours_logged.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.volunteer.registered.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.worker.appointed.v1": _first_published(date(2026, 11, 22)),
    "org.shequ.registry.worker.left.v1": _first_published(date(2026, 11, 22)),
}
"""Event type → its changes, oldest first. Dates are when the change reached ``main``."""


def changes_of(event_type: str) -> tuple[Change, ...]:
    """The changelog of one event type; :class:`MissingChangelog` if it has none."""
    try:
        return CHANGELOG[event_type]
    except KeyError:
        raise MissingChangelog(
            f"{event_type} has no changelog: add it to {CHANGELOG_SOURCE}"
        ) from None


__all__ = ["CHANGELOG", "DEPRECATION_WINDOW_DAYS", "Change", "MissingChangelog", "changes_of"]
