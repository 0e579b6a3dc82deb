"""The service's clock: use cases and jobs take ``today``/``now`` so tests can move time."""

from __future__ import annotations

from datetime import UTC, date, datetime


def today() -> date:
    """Today's date on the service's clock."""
    return date.today()


def now() -> datetime:
    """The current moment in UTC."""
    return datetime.now(UTC)
