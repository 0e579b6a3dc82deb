"""The target domain events and their translation to the published contracts."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import date

from metrics.adapters.events import TRANSLATIONS, translate
from metrics.domain import targets as domain
from shared.contracts import CONTRACTS
from shared.contracts import metrics as contracts


def test_every_domain_event_of_targets_has_a_translation() -> None:
    recorded = {
        cls
        for _, cls in inspect.getmembers(domain, inspect.isclass)
        if dataclasses.is_dataclass(cls)
        and cls.__module__ == domain.__name__
        and cls not in (domain.Point, domain.Forecast)
    }
    assert recorded == set(TRANSLATIONS)


def test_a_status_change_becomes_the_contract_keyed_by_its_target() -> None:
    change = domain.TargetStatusChanged(
        target_id="rooms",
        indicator_id="office_service_rooms_300",
        area_id="140502",
        area_level="district",
        path=("140500", "140502"),
        previous_status="missed",
        status="achieved",
        value=80.0,
        target_value=80.0,
        comparison=">=",
        progress=1.0,
        forecast=80.0,
        deadline=date(2007, 12, 31),
        evaluated_on=date(2026, 11, 22),
    )
    payload, key = translate(change)  # type: ignore[misc]
    assert key == "rooms"
    assert isinstance(payload, contracts.TargetStatusChanged)
    assert payload.path == ["140500", "140502"]
    assert (payload.previous_status, payload.status) == ("missed", "achieved")
    assert CONTRACTS.for_payload(type(payload)).type.endswith("target.status_changed.v1")


def test_a_created_target_becomes_the_contract_keyed_by_its_id() -> None:
    created = domain.TargetCreated(
        target_id="libraries",
        name="3 libraries",
        indicator_id="libraries_opened",
        scope_area_id="140502",
        comparison=">=",
        target_value=3,
        baseline_value=None,
        baseline_date=date(2026, 1, 1),
        deadline=date(2027, 12, 31),
        source_plan="District work plan 2026",
    )
    payload, key = translate(created)  # type: ignore[misc]
    assert key == "libraries"
    assert payload == contracts.TargetCreated(**dataclasses.asdict(created))
