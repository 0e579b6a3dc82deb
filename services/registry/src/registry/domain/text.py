"""Text the register stores: no control characters.

A name or an address is one line of visible text. Control characters (NUL, line breaks,
escape sequences: Unicode category Cc) and the bidirectional formatting characters
(U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), which make text display otherwise than
it reads ("Trojan Source"), are refused wherever text comes in: request bodies and import rows.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)


def control_character(text: str) -> str | None:
    """The first control or bidi formatting character of ``text`` as ``U+XXXX``, or None."""
    for character in text:
        if character in BIDI_CONTROLS or unicodedata.category(character) == "Cc":
            return f"U+{ord(character):04X}"
    return None


def clean_text(value: object) -> object:
    """``value``, unless it is text (or a list of texts) holding a control character, which
    raises ``ValueError`` naming it (for pydantic validators)."""
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str) and (found := control_character(text)) is not None:
            raise ValueError(f"must not contain control characters ({found})")
    return value
