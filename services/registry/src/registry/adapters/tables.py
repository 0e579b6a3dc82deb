"""Every table of the registry, so ``Base.metadata`` is complete (migrations, schema tests).

The platform's outbox, inbox and idempotency tables come from ``shared``. Table modules import
:class:`~registry.adapters.base.Base` and never this module, so there is no import cycle.
"""

from __future__ import annotations

from registry.adapters.areas import AreaRow
from registry.adapters.base import Base
from registry.adapters.community import (
    OrganisationRow,
    VolunteerHoursRow,
    VolunteerRow,
    WorkerRow,
)
from registry.adapters.facilities import FacilityRoomRow, FacilityRow
from registry.adapters.history import HouseholdVersionRow, ResidentVersionRow
from registry.adapters.import_jobs import ImportJobRow
from registry.adapters.milestones import AgeMilestoneRow, AgeMilestoneScanRow
from registry.adapters.people import HouseholdRow, ResidentRow

__all__ = [
    "AgeMilestoneRow",
    "AgeMilestoneScanRow",
    "AreaRow",
    "Base",
    "FacilityRoomRow",
    "FacilityRow",
    "HouseholdRow",
    "HouseholdVersionRow",
    "ImportJobRow",
    "OrganisationRow",
    "ResidentRow",
    "ResidentVersionRow",
    "VolunteerHoursRow",
    "VolunteerRow",
    "WorkerRow",
]
