"""Schemathesis hooks of tests/test_schemathesis.py (loaded through ``SCHEMATHESIS_HOOKS``).

A client must send a fresh random ``Idempotency-Key`` with each new write (DR-2); reusing one
for another request is refused with 422 by design. Schemathesis generates header values from
the schema, so the same short key (``0``) would come back for different requests: each
schema-valid request gets a random key instead. Negative cases keep what was generated.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis

IDEMPOTENCY_KEY = "Idempotency-Key"


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """Give each schema-valid write its own ``Idempotency-Key``."""
    meta = getattr(case, "meta", None)
    positive = meta is None or meta.generation.mode.is_positive
    if positive and case.headers and IDEMPOTENCY_KEY in case.headers:
        case.headers[IDEMPOTENCY_KEY] = uuid.uuid4().hex
