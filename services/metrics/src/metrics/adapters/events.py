"""The metrics service's integration events: its domain events (:mod:`metrics.domain.targets`)
mapped to the contracts it publishes (``shared/src/shared/contracts/metrics.py``), keyed by the
target id so the events of one target arrive in order."""

from __future__ import annotations

from metrics.domain import targets as domain
from shared.contracts import metrics as contracts
from shared.unit_of_work import IntegrationEvent, Translations, translator


def _created(event: domain.TargetCreated) -> IntegrationEvent:
    payload = contracts.TargetCreated(
        target_id=event.target_id,
        name=event.name,
        indicator_id=event.indicator_id,
        scope_area_id=event.scope_area_id,
        comparison=event.comparison,
        target_value=event.target_value,
        baseline_value=event.baseline_value,
        baseline_date=event.baseline_date,
        deadline=event.deadline,
        source_plan=event.source_plan,
    )
    return payload, event.target_id


def _status_changed(event: domain.TargetStatusChanged) -> IntegrationEvent:
    payload = contracts.TargetStatusChanged(
        target_id=event.target_id,
        indicator_id=event.indicator_id,
        area_id=event.area_id,
        area_level=event.area_level,
        path=list(event.path),
        previous_status=event.previous_status,
        status=event.status,
        value=event.value,
        target_value=event.target_value,
        comparison=event.comparison,
        progress=event.progress,
        forecast=event.forecast,
        deadline=event.deadline,
        evaluated_on=event.evaluated_on,
    )
    return payload, event.target_id


TRANSLATIONS: Translations = {
    domain.TargetCreated: _created,
    domain.TargetStatusChanged: _status_changed,
}
"""Target domain events → ``metrics.target.created`` / ``metrics.target.status_changed``."""

translate = translator(TRANSLATIONS)
"""The service's event translator, for its runtime and every unit of work it opens."""
