"""The casework service's event translator (``ServiceRuntime.build(settings, translate=…)``):
every case domain event to its ``shared.contracts.casework`` integration event."""

from __future__ import annotations

from casework.adapters import cases
from shared.unit_of_work import translator

translate = translator(cases.TRANSLATIONS)
"""Maps a casework domain event to its integration event; an unknown one is a wiring error."""

__all__ = ["translate"]
