"""The matter catalogue: what the acceptance centre handles, who decides it, what it needs.

Each matter type (事项) has a code, its names, the responsible department, the documents an
applicant brings, whether the window can settle it on the spot, a time limit in working days,
and the conditions a resident must meet (age reached this year, registration, employment
status, disability, special-group flags), checked against the facts casework keeps from the
registry's events. Definitions are validated data: the shipped catalogue
(``casework/catalogue/matters.yaml``) is checked at start-up and a casework admin edits it
through the API.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from shared.contracts.casework import Department
from shared.contracts.registry import EmploymentStatus, RegistrationStatus, ResidentFlag
from shared.inputs import Text

MatterKind = Literal["service", "mediation", "petition"]
"""``mediation`` cases carry parties, sessions and an outcome; ``petition`` cases link related
cases and escalate to the street office; every other matter is a ``service``."""

Code = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")


class Conditions(BaseModel):
    """What a resident must be or have for a matter (every given condition must hold)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_age: StrictInt | None = Field(
        default=None, ge=0, le=150, description="Age reached this year at least (years)."
    )
    max_age: StrictInt | None = Field(
        default=None, ge=0, le=150, description="Age reached this year at most (years)."
    )
    registration: list[RegistrationStatus] | None = Field(
        default=None, description="Registration status one of these (registered or floating)."
    )
    employment: list[EmploymentStatus] | None = Field(
        default=None, description="Employment status one of these."
    )
    disabled: StrictBool | None = Field(
        default=None, description="Holds (true) or does not hold (false) a disability card."
    )
    flags_any: list[ResidentFlag] | None = Field(
        default=None, description="Belongs to at least one of these special groups."
    )

    @model_validator(mode="after")
    def _ages_in_order(self) -> Conditions:
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age is above max_age")
        return self


class Matter(BaseModel):
    """One matter type of the catalogue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Code
    name: Text = Field(min_length=1, max_length=100, description="Name (Chinese).")
    name_en: Text = Field(min_length=1, max_length=100, description="Name (English).")
    kind: MatterKind = Field(default="service", description="Service, mediation or petition.")
    department: Department = Field(description="Responsible department.")
    required_documents: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]] = Field(
        default_factory=list,
        max_length=20,
        description="Codes of the documents the applicant brings (e.g. `id_card`), each once.",
        json_schema_extra={"uniqueItems": True},
    )
    on_the_spot: StrictBool = Field(description="Whether the window can settle it on the spot.")
    time_limit_days: StrictInt = Field(ge=1, le=120, description="Time limit in working days.")
    pays: StrictBool = Field(
        default=False,
        description="Whether an approval grants a sum of money: the decision then states the "
        "amount in fen, and the paying service (eldercare, for an elder's hardship medical "
        "subsidy) pays it.",
    )
    conditions: Conditions = Field(default_factory=Conditions)
    active: StrictBool = Field(default=True, description="Whether new applications are taken.")

    @model_validator(mode="after")
    def _documents_are_listed_once(self) -> Matter:
        if len(set(self.required_documents)) != len(self.required_documents):
            raise ValueError("a required document is listed twice")
        return self


class Catalogue(BaseModel):
    """Every matter, codes unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    matters: list[Matter] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_unique(self) -> Catalogue:
        codes = [matter.code for matter in self.matters]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"matter codes listed twice: {duplicates}")
        return self

    def by_code(self) -> dict[str, Matter]:
        """The matters by code."""
        return {matter.code: matter for matter in self.matters}


__all__ = ["Catalogue", "Conditions", "Department", "Matter", "MatterKind"]
