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
own), so clients and schemathesis know it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

__all__ = ["LINE_PATTERN", "TEXT_PATTERN", "LongText", "NoControlCharacters", "Text"]

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
        target.setdefault("pattern", self.pattern)
        return json_schema


Text = Annotated[str, NoControlCharacters()]
"""One line of text: no control characters at all (not even tab or a line break)."""
LongText = Annotated[str, NoControlCharacters(multiline=True)]
"""Free text: tab, line feed and carriage return allowed, other control characters not."""
