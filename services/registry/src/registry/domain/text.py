"""Text the register stores: no control characters.

A name or an address is one line of visible text. Control characters (NUL, line breaks,
escape sequences: Unicode category Cc) and the bidirectional formatting characters
(U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), which make text display otherwise than
it reads ("Trojan Source"), are refused wherever text comes in: request bodies and import rows.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")
"""Category Cc (U+0000–U+001F, U+007F–U+009F) and the bidi controls: one scan in C, where a
loop over the characters cost an import most of its validation time."""


def control_character(text: str) -> str | None:
    """The first control or bidi formatting character of ``text`` as ``U+XXXX``, or None."""
    found = _REFUSED.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def clean_text(value: object) -> object:
    """``value``, unless it is text (or a list of texts) holding a control character, which
    raises ``ValueError`` naming it (for pydantic validators)."""
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str) and (found := control_character(text)) is not None:
            raise ValueError(f"must not contain control characters ({found})")
    return value
