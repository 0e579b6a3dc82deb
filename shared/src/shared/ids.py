"""Ids made many at a time: version-7 UUIDs (RFC 9562) as text.

A bulk import makes an event id per row and a resident id per new resident. ``uuid.uuid4``
builds a :class:`uuid.UUID` (an integer, range checks) only to print it, which cost an import
of 100,000 residents several seconds, and its ids land at random pages of every index holding
them. :func:`new_uuid7s` writes the text itself: the Unix time in milliseconds, the version
(7) and variant digits, and 74 random bits from one call to ``os.urandom``, so ids made later
sort later and a b-tree of them (the outbox's event ids, the residents an import registers,
their history) grows at its right edge: a register of a million residents no longer outgrows
the database's cache with random inserts, each writing a whole page to the WAL after a
checkpoint. An id tells the millisecond it was made in, which the event's ``time`` (or the
registration's day) already tells.
"""

from __future__ import annotations

import os
import time

__all__ = ["new_uuid7s"]

_VARIANT = "89ab89ab89ab89ab"
"""The variant digit (``10xx`` in binary) for each value of the random digit it replaces,
keeping that digit's two low random bits."""


def new_uuid7s(count: int) -> list[str]:
    """``count`` version-7 UUIDs of the current millisecond (74 random bits each)."""
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    prefix = f"{stamp[:8]}-{stamp[8:12]}-7"
    digits = os.urandom(10 * count).hex()
    return [
        f"{prefix}{digits[start : start + 3]}-{_VARIANT[int(digits[start + 3], 16)]}"
        f"{digits[start + 4 : start + 7]}-{digits[start + 7 : start + 19]}"
        for start in range(0, 20 * count, 20)
    ]
