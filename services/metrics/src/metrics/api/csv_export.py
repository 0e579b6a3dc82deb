"""CSV responses: the rows of any table the API shows, flattened to one line each. Every CSV
route answers through :func:`csv_response`, whose cells are neutralised against spreadsheet
formula injection (:func:`neutral`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def flat(value: Any) -> Any:
    """A cell: lists of ids joined with ``/``, dates in ISO format, mappings as JSON."""
    if isinstance(value, list | tuple):
        if all(isinstance(v, str) for v in value):
            return "/".join(value)
        return json.dumps(value, default=str)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (or hide one)."""


def neutral(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a string starting like a formula gets a leading
    apostrophe (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _row(item: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    data = item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item)
    return {key: flat(value) for key, value in data.items()}


def _encode(header: list[str], rows: Iterable[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writerow({name: neutral(name) for name in header})
    for row in rows:
        writer.writerow({key: neutral(value) for key, value in row.items()})
    return buffer.getvalue()


def csv_response(
    items: Iterable[BaseModel | Mapping[str, Any]], *, filename: str, columns: list[str]
) -> Response:
    """The items as a CSV attachment; ``columns`` name the header (also when empty)."""
    rows = [_row(item) for item in items]
    return Response(
        _encode(columns, rows),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def columns_of(model: type[BaseModel]) -> list[str]:
    """The CSV header of a response model: its fields in order."""
    return list(model.model_fields)


def rows_csv(rows: Sequence[Mapping[str, Any]], *, filename: str) -> Response:
    """Rows of plain values as CSV (the header is the first row's keys)."""
    return csv_response(rows, filename=filename, columns=list(rows[0]) if rows else [])
