"""Random ids: version-4 UUIDs as text, made faster than ``str(uuid.uuid4())``.

A bulk import makes an event id per row, and a resident id per new resident; ``uuid.uuid4``
builds a :class:`uuid.UUID` (an integer, range checks) only to print it, which cost an import
of 100,000 residents several seconds. :func:`new_uuid4` draws the same 122 random bits from
``os.urandom`` and writes the version (4) and variant (RFC 9562) digits itself: the text is a
valid version-4 UUID, as unique as one from :func:`uuid.uuid4`. :func:`new_uuid4s` draws many
with one call to the system's random source.
"""

from __future__ import annotations

import os

__all__ = ["new_uuid4", "new_uuid4s"]

_VARIANT = "89ab89ab89ab89ab"
"""The variant digit (``10xx`` in binary) for each value of the random digit it replaces,
keeping that digit's two low random bits."""


def _format(digits: str) -> str:
    return (
        f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-"
        f"{_VARIANT[int(digits[16], 16)]}{digits[17:20]}-{digits[20:32]}"
    )


def new_uuid4() -> str:
    """A random version-4 UUID, as ``str(uuid.uuid4())`` writes it."""
    return _format(os.urandom(16).hex())


def new_uuid4s(count: int) -> list[str]:
    """``count`` random version-4 UUIDs."""
    digits = os.urandom(16 * count).hex()
    return [_format(digits[start : start + 32]) for start in range(0, 32 * count, 32)]
