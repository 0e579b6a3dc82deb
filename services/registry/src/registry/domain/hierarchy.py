"""The hierarchy of areas as data: which levels there are, which level may hold which, and
which levels are grassroots (hold households, facilities, workers, volunteers).

The shipped hierarchy (``registry/data/hierarchy.json``) has the urban chain city → district
→ street → community and the county chain city → county → township → village; a city with
other rules gives its own file (setting ``AREA_HIERARCHY_FILE``). Level names are those of
``shared.contracts.registry.AreaLevel``, and its grassroots levels are exactly those of
``GRASSROOTS_LEVELS`` it has, so every consumer of the events (metrics counts grassroots areas
as communities) follows it without knowing the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import get_args

from shared.contracts.registry import GRASSROOTS_LEVELS, AreaLevel
from shared.errors import FieldError, InvalidInput

KNOWN_LEVELS = frozenset(get_args(AreaLevel))


class HierarchyError(ValueError):
    """A hierarchy file that cannot be used."""


@dataclass(frozen=True)
class Hierarchy:
    """Levels, the levels each may be held by (none: a top level), and the grassroots ones."""

    parents: Mapping[str, tuple[str, ...]]
    grassroots: frozenset[str]

    @classmethod
    def from_json(cls, text: str) -> Hierarchy:
        """A hierarchy from its JSON document (``{"levels": {name: {"parents": [...],
        "grassroots": bool}}}``); :class:`HierarchyError` when it is not usable."""
        try:
            levels = json.loads(text)["levels"]
            parents = {name: tuple(spec.get("parents", [])) for name, spec in levels.items()}
            grassroots = frozenset(name for name, spec in levels.items() if spec.get("grassroots"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise HierarchyError(f"not a hierarchy document: {exc}") from None
        unknown = (set(parents) | {p for held in parents.values() for p in held}) - KNOWN_LEVELS
        if unknown:
            raise HierarchyError(f"levels not in the event contract: {sorted(unknown)}")
        if grassroots != set(parents) & set(GRASSROOTS_LEVELS):
            raise HierarchyError(
                f"the grassroots levels must be those of {', '.join(GRASSROOTS_LEVELS)} it has"
            )
        if not grassroots:
            raise HierarchyError("no grassroots level")
        if not any(not held for held in parents.values()):
            raise HierarchyError("no top level (a level without parents)")
        return cls(parents=parents, grassroots=grassroots)

    def check_level(self, level: str, *, field: str = "level") -> None:
        """Refuse a level this hierarchy does not have (422 naming ``field``)."""
        if level not in self.parents:
            raise InvalidInput(
                f"level {level!r} is not in this city's hierarchy",
                errors=[FieldError(field, f"one of {', '.join(self.parents)}", "level")],
            )

    def parent_levels(self, level: str) -> tuple[str, ...]:
        """The levels that may hold ``level`` (empty: a top level)."""
        self.check_level(level)
        return self.parents[level]

    def is_grassroots(self, level: str) -> bool:
        """Whether households and facilities attach to areas of ``level``."""
        return level in self.grassroots


def load_hierarchy(path: Path | None = None) -> Hierarchy:
    """The hierarchy in ``path``, or the shipped one."""
    if path is not None:
        return Hierarchy.from_json(path.read_text(encoding="utf-8"))
    shipped = resources.files("registry").joinpath("data/hierarchy.json")
    return Hierarchy.from_json(shipped.read_text(encoding="utf-8"))


DEFAULT_HIERARCHY = load_hierarchy()
"""The shipped hierarchy."""
