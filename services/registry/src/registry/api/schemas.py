"""Request and response bodies of the registry API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from registry.adapters.tables import AreaRow
from registry.domain.areas import AreaLevel, CommunityKind

AREA_ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$"


class AreaIn(BaseModel):
    """An area to register."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN, description="Administrative code, unique.")
    level: AreaLevel = Field(description="Level in the hierarchy.")
    name: str = Field(min_length=1, max_length=200, description="Official name.")
    parent_id: str | None = Field(default=None, description="Enclosing area; null for a city.")
    kind: CommunityKind | None = Field(default=None, description="Kind of a community.")
    household_count: int | None = Field(
        default=None, ge=0, le=100_000, description="Households (communities)."
    )
    valid_from: date = Field(description="First day the area exists in this form.")


class AreaOut(BaseModel):
    """An area as the API shows it."""

    id: str
    level: AreaLevel
    name: str
    parent_id: str | None
    path: list[str] = Field(description="Ids from the city down to this area.")
    kind: CommunityKind | None
    household_count: int | None
    valid_from: date
    valid_to: date | None

    @classmethod
    def of(cls, row: AreaRow) -> AreaOut:
        """The API view of a stored area."""
        return cls(
            id=row.id,
            level=row.level,
            name=row.name,
            parent_id=row.parent_id,
            path=row.path_ids,
            kind=row.kind,
            household_count=row.household_count,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
        )


class AreaPage(BaseModel):
    """One page of areas; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[AreaOut]
    next_cursor: str | None = Field(description="Null on the last page.")
