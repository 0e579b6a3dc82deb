"""Every table of the casework service, so ``Base.metadata`` is complete (migrations, schema
tests). The platform's outbox, inbox and idempotency tables come from ``shared``."""

from __future__ import annotations

from casework.adapters.attempts import TrackingAttemptRow
from casework.adapters.base import Base
from casework.adapters.cases import CaseRow, VisitRow
from casework.adapters.reference import CalendarDayRow, MatterRow, ResidentFactRow

__all__ = [
    "Base",
    "CalendarDayRow",
    "CaseRow",
    "MatterRow",
    "ResidentFactRow",
    "TrackingAttemptRow",
    "VisitRow",
]
