"""The shipped matter catalogue is valid and complete; conditions use the registry's facts
(a 68-year-old is refused a 70+ longevity certificate with a clear reason); every casework
event contract has a valid example and carries no personal data."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from casework.adapters.cases import TRANSLATIONS
from casework.catalogue_service import shipped_catalogue
from casework.domain.catalogue import Catalogue, Matter
from casework.domain.eligibility import ResidentFacts, check_conditions, unmet_conditions
from shared.contracts import CONTRACTS
from shared.errors import InvalidInput

MATTERS = shipped_catalogue().by_code()
TODAY = date(2026, 11, 30)


def resident(**changes: object) -> ResidentFacts:
    facts: dict[str, object] = {
        "resident_id": "r-1",
        "community_id": "m1",
        "path": ("c1", "d1", "s1", "m1"),
        "birth_year": 1958,
        "registration": "registered",
        "employment_status": "retired",
        "disabled": False,
        "flags": (),
    }
    facts.update(changes)
    return ResidentFacts(**facts)  # type: ignore[arg-type]


def test_the_catalogue_ships_the_matters_of_the_documents() -> None:
    assert set(MATTERS) == {
        "subsistence_allowance",
        "temporary_relief",
        "medical_assistance",
        "social_insurance_registration",
        "medical_insurance_enrolment",
        "unemployment_registration",
        "reemployment_concession_card",
        "family_planning_service_registration",
        "resident_registration",
        "floating_population_registration",
        "elderly_preferential_card",
        "longevity_certificate",
        "longevity_subsidy",
        "elder_hardship_medical_subsidy",
        "disability_certificate",
        "dispute_mediation",
        "petition",
        "legal_aid",
    }
    assert MATTERS["elderly_preferential_card"].conditions.min_age == 65
    assert MATTERS["longevity_certificate"].conditions.min_age == 70
    assert MATTERS["longevity_subsidy"].conditions.min_age == 90
    assert MATTERS["dispute_mediation"].kind == "mediation"
    assert MATTERS["petition"].kind == "petition"


def test_invalid_definitions_are_refused() -> None:
    good = MATTERS["legal_aid"].model_dump()
    with pytest.raises(ValidationError, match="listed twice"):
        Catalogue(matters=[Matter(**good), Matter(**good)])
    with pytest.raises(ValidationError):
        Matter(**{**good, "time_limit_days": 0})
    with pytest.raises(ValidationError, match="min_age is above max_age"):
        Matter(**{**good, "conditions": {"min_age": 70, "max_age": 60}})
    with pytest.raises(ValidationError, match="listed twice"):
        Matter(**{**good, "required_documents": ["id_card", "id_card"]})
    with pytest.raises(ValidationError):
        Matter(**{**good, "department": "ministry_of_magic"})


def test_a_68_year_old_is_refused_the_70_plus_longevity_certificate() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_conditions(MATTERS["longevity_certificate"], resident(birth_year=1958), TODAY)
    assert str(refused.value) == (
        "longevity_certificate needs age 70 or more; the resident is 68 (born 1958)"
    )
    assert refused.value.errors[0].field == "matter_code"
    assert refused.value.errors[0].code == "condition-not-met"
    check_conditions(MATTERS["longevity_certificate"], resident(birth_year=1956), TODAY)


def test_registration_employment_and_status_conditions() -> None:
    floating = resident(registration="floating", birth_year=1980, employment_status="laid_off")
    assert unmet_conditions(MATTERS["reemployment_concession_card"], floating, TODAY) == [
        "reemployment_concession_card needs registration registered; the resident is floating"
    ]
    assert unmet_conditions(MATTERS["floating_population_registration"], floating, TODAY) == []
    employed = resident(birth_year=1980, employment_status="employed")
    assert unmet_conditions(MATTERS["unemployment_registration"], employed, TODAY) == [
        "unemployment_registration needs employment status laid_off or unemployed; "
        "the resident is employed"
    ]
    gone = resident(status="died")
    assert unmet_conditions(MATTERS["legal_aid"], gone, TODAY) == [
        "the resident is no longer on the register (died)"
    ]


def test_every_casework_contract_has_a_valid_example_and_a_translation() -> None:
    contracts = [c for c in CONTRACTS if c.service == "casework"]
    assert len(contracts) == len(TRANSLATIONS) == 22
    for contract in contracts:
        schema = contract.payload.model_json_schema()
        (example,) = schema["examples"]
        contract.payload.model_validate(example)
        for name, field in contract.payload.model_fields.items():
            assert field.description, f"{contract.type}.{name} has no description"
        fields = set(contract.payload.model_fields)
        assert not fields & {"name", "id_number", "address", "phone", "comment", "reason", "terms"}
