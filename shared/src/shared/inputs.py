"""Text types of request input, shared by every service's request models and query parameters.

A text field of a request is :data:`Text` (one line: a name, an id, a code, an address) or
:data:`LongText` (free text that may hold tabs and line breaks: a reason, a note, terms).
Both refuse what no person types and what breaks storage or display:

- C0 control characters (``U+0000``–``U+001F``; :data:`LongText` allows tab, line feed and
  carriage return), ``DEL`` and the C1 controls (``U+007F``–``U+009F``). A NUL byte in
  particular: PostgreSQL cannot store it in ``text`` (SQLite can), so without this the same
  request would be a 500 on one database and stored on the other;
- the bidirectional marks, embeddings, overrides and isolates (``U+200E``, ``U+200F``,
  ``U+202A``–``U+202E``, ``U+2066``–``U+2069``), which make a stored name display as
  something else ("Trojan Source");
- lone surrogates (``U+D800``–``U+DFFF``, only reachable through a JSON ``\\ud800`` escape),
  which cannot be encoded as UTF-8.

The refusal is a 422 naming the field with code ``control_character``. The OpenAPI document
carries the same rule as a ``pattern`` (unless the field declares a stricter pattern of its
own), so clients and schemathesis know it; a field's length bounds are repeated in it
(``^[^…]{1,200}$``).

:data:`Day` is a date given as ``YYYY-MM-DD`` text: pydantic alone would also take a number
(``0``, ``1700000000``) as a Unix time, which the OpenAPI ``format: date`` does not allow.

:class:`PersonalData` marks a field holding personal data (a name, an id number, an address, a
phone number): the OpenAPI document says so (``x-personal-data``), and each value a request
model accepts is shown to :data:`PERSONAL_DATA_OBSERVERS`. None is registered in a service;
the test run's witness (:mod:`shared.testing.witness`) registers one, so that it knows every
personal value the tests wrote and can prove none reached an event, a log line or a metric.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "LINE_PATTERN",
    "PERSONAL_DATA_OBSERVERS",
    "TEXT_PATTERN",
    "Day",
    "LongText",
    "NoControlCharacters",
    "PersonalData",
    "Text",
]

_BIDI = "\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
_C1 = "\\u007f-\\u009f"
_LINE_REFUSED = f"\\u0000-\\u001f{_C1}{_BIDI}"
_TEXT_REFUSED = f"\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f{_C1}{_BIDI}"
LINE_PATTERN = f"^[^{_LINE_REFUSED}]*$"
"""JSON Schema pattern (ECMA-262) of :data:`Text`: no control or bidirectional character."""
TEXT_PATTERN = f"^[^{_TEXT_REFUSED}]*$"
"""JSON Schema pattern of :data:`LongText`: as :data:`LINE_PATTERN` but tab, LF, CR allowed."""
_SURROGATES = "\\ud800-\\udfff"


@dataclass(frozen=True)
class NoControlCharacters:
    """Annotation refusing control, bidirectional and surrogate characters in a ``str``;
    ``multiline`` allows tab, line feed and carriage return."""

    multiline: bool = False

    @property
    def pattern(self) -> str:
        return TEXT_PATTERN if self.multiline else LINE_PATTERN

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        refused = re.compile(f"[{_TEXT_REFUSED if self.multiline else _LINE_REFUSED}{_SURROGATES}]")

        def refuse(value: str) -> str:
            if refused.search(value):
                raise PydanticCustomError(
                    "control_character",
                    "must not contain control, bidirectional or surrogate characters",
                )
            return value

        return core_schema.no_info_after_validator_function(refuse, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        target = handler.resolve_ref_schema(json_schema)
        if "pattern" not in target:
            # The length bounds repeated in the pattern let a generator (schemathesis) build
            # strings of the right length at once instead of discarding longer ones.
            low, high = target.get("minLength", 0), target.get("maxLength", "")
            repeat = "*" if (low, high) == (0, "") else f"{{{low},{high}}}"
            target["pattern"] = self.pattern.replace("]*$", f"]{repeat}$")
        return json_schema


Text = Annotated[str, NoControlCharacters()]
"""One line of text: no control characters at all (not even tab or a line break)."""
LongText = Annotated[str, NoControlCharacters(multiline=True)]
"""Free text: tab, line feed and carriage return allowed, other control characters not."""


PERSONAL_DATA_OBSERVERS: list[Callable[[str], None]] = []
"""Called with each value of a :class:`PersonalData` field that a model accepted; empty in a
service, filled by the test run's witness."""


@dataclass(frozen=True)
class PersonalData:
    """Annotation of a ``str`` field holding personal data (``Annotated[Text, PersonalData()]``):
    documented as ``x-personal-data: true`` and shown to :data:`PERSONAL_DATA_OBSERVERS`."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def observe(value: str) -> str:
            for observer in PERSONAL_DATA_OBSERVERS:
                observer(value)
            return value

        return core_schema.no_info_after_validator_function(observe, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        handler.resolve_ref_schema(json_schema)["x-personal-data"] = True
        return json_schema


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: Any) -> Any:
    """``value`` if it is a date or ``YYYY-MM-DD`` text, else a ``date_format`` error."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise PydanticCustomError("date_format", "must be a date as YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_iso_day)]
"""A date written ``YYYY-MM-DD`` (in a body or a query), never a number."""
