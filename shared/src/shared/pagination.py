"""Stable cursor pagination (keyset) with a capped page size.

A cursor is the sort key of the last item of a page, encoded opaquely; the next page is
everything after it in the same order, so pages stay stable while rows are inserted.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from shared.errors import FieldError, InvalidInput

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100

T = TypeVar("T")

PageSize = Annotated[
    int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page (at most {MAX_PAGE_SIZE}).")
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="`next_cursor` of the previous page (URL-safe base64).",
    ),
]


class Page(BaseModel, Generic[T]):
    """One page of results; pass ``next_cursor`` as ``cursor`` to get the next."""

    items: list[T]
    next_cursor: str | None = Field(description="Null on the last page.")


def encode_cursor(key: list[Any]) -> str:
    """The opaque cursor of a sort key (JSON-serialisable values)."""
    raw = json.dumps(key, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key in a cursor (none for ``None`` or ``""``: the first page); a malformed
    cursor is an input error on ``query.cursor``."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list):
        raise InvalidInput(
            "malformed cursor", errors=[FieldError("query.cursor", "not a cursor from this API")]
        )
    return key


def page_of(rows: list[T], limit: int, key_of: Any) -> tuple[list[T], str | None]:
    """Cut ``limit + 1`` fetched rows into a page and the cursor of the next one."""
    page = rows[:limit]
    next_cursor = encode_cursor(key_of(page[-1])) if len(rows) > limit and page else None
    return page, next_cursor
