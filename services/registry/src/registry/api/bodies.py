"""The base of every request body of the registry: unknown fields, control characters in text
(see :mod:`registry.domain.text`) and dates that are not ``YYYY-MM-DD`` text (pydantic would
read a number as a Unix time) are refused, 422 naming the field; :data:`Day` is the same
rule for query parameters."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, get_args

from fastapi import FastAPI
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator

from registry.domain.text import clean_text

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: Any) -> Any:
    """``value`` if it is a date or ``YYYY-MM-DD`` text (else ``ValueError``)."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("must be a date as YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(iso_day)]
"""A date given as ``YYYY-MM-DD`` (query parameters)."""


class Body(BaseModel):
    """A request body: no unknown fields, no control characters in its text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return clean_text(value)

    @field_validator("*", mode="before")
    @classmethod
    def _dates_as_text(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        annotation = field.annotation if field is not None else None
        if value is not None and (annotation is date or date in get_args(annotation)):
            return iso_day(value)
        return value


def declare_bad_request(app: FastAPI) -> None:
    """Declare in the app's OpenAPI document the 400 of every operation that takes a body:
    the answer to a body that is not JSON at all (problem details)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict) and "requestBody" in operation:
                    operation.setdefault("responses", {}).setdefault(
                        "400",
                        {
                            "description": "The body could not be parsed (not JSON, or not "
                            "the declared format); problem details.",
                            "content": {
                                "application/problem+json": {
                                    "schema": {"$ref": "#/components/schemas/ProblemDetails"}
                                }
                            },
                        },
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
