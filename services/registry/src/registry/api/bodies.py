"""The base of every request body of the registry: unknown fields and control characters in
text are refused (422 naming the field), see :mod:`registry.domain.text`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from registry.domain.text import clean_text


class Body(BaseModel):
    """A request body: no unknown fields, no control characters in its text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return clean_text(value)
