"""Events published by the registry service (areas, households, residents, facilities …)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.contracts import CONTRACTS, EventPayload

AreaLevel = Literal["city", "district", "street", "community"]


@CONTRACTS.contract(service="registry", aggregate="area", name="created")
class AreaCreated(EventPayload):
    """Emitted when an area (city, district, street office or community) is registered."""

    area_id: str = Field(description="Registry id of the area (its administrative code).")
    level: AreaLevel = Field(description="Level in the hierarchy.")
    name: str = Field(description="Official name of the area.")
    parent_id: str | None = Field(description="Id of the enclosing area; null for a city.")
    path: list[str] = Field(
        description="Ids from the city down to this area, inclusive; for roll-ups by any level."
    )
    valid_from: date = Field(description="First day the area exists in this form.")
