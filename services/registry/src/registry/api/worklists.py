"""Worklists for community workers: ``GET /worklists/permit-renewals``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from registry import worklists
from registry.api.deps import Reader
from shared.audit import AuditTrail
from shared.errors import FieldError, InvalidInput
from shared.inputs import Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, decode_cursor, page_of
from shared.reads import ReadSessionDep, json_response

router = APIRouter(prefix="/worklists", tags=["worklists"])


class PermitRenewalOut(BaseModel):
    """A floating resident whose residence permit is to be renewed."""

    resident_id: str
    name: str
    household_id: str
    community_id: str
    path: list[str] = Field(description="Ids from the city down to the community.")
    permit_expires_on: date
    days_left: int = Field(description="Days until the permit expires (negative: expired).")
    warned: bool = Field(description="Whether `resident.permit_expiring` was published for it.")

    @classmethod
    def of(cls, renewal: worklists.PermitRenewal, *, today: date) -> PermitRenewalOut:
        """The API view of a worklist entry."""
        return cls(
            **{name: getattr(renewal, name) for name in cls.model_fields if name != "days_left"},
            days_left=(renewal.permit_expires_on - today).days,
        )


def _after(cursor: str | None) -> tuple[date, str] | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        return date.fromisoformat(str(key[0])), str(key[1])
    except (IndexError, ValueError):
        raise InvalidInput(
            "malformed cursor", errors=[FieldError("query.cursor", "not a cursor from this API")]
        ) from None


@router.get("/permit-renewals", response_model=Page[PermitRenewalOut])
async def permit_renewals(
    session: ReadSessionDep,
    principal: Reader,
    trail: AuditTrail,
    within: Annotated[
        Text | None, Query(max_length=32, description="Only this area's subtree.")
    ] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> Response:
    """Living floating residents of the token's area whose residence permit expires within
    30 days or has expired, soonest first: the people `resident.permit_expiring` is about
    (with their names: each listed resident's read is audited)."""
    today = date.today()
    found = await worklists.permit_renewals(
        session,
        principal=principal,
        within=within,
        today=today,
        after=_after(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(
        found, limit, lambda entry: [entry.permit_expires_on.isoformat(), entry.resident_id]
    )
    await trail.read(principal, "resident", [(entry.resident_id, entry.path) for entry in page])
    return json_response(
        Page[PermitRenewalOut](
            items=[PermitRenewalOut.of(entry, today=today) for entry in page],
            next_cursor=next_cursor,
        )
    )
