"""The registry's event translator: every domain event of the registry to its integration
events (``shared.contracts.registry``), from the translation table of each adapter module.

``registry.app`` gives it to the runtime (``ServiceRuntime.build(settings, translate=…)``), so
every unit of work of the registry (commands, jobs, imports, demo data) uses it.
"""

from __future__ import annotations

from registry.adapters import areas, community, facilities, milestones, people
from shared.unit_of_work import translator

translate = translator(
    areas.TRANSLATIONS,
    facilities.TRANSLATIONS,
    community.TRANSLATIONS,
    people.TRANSLATIONS,
    milestones.TRANSLATIONS,
)
"""Maps a registry domain event to its integration events; an unknown one is a wiring error."""

__all__ = ["translate"]
