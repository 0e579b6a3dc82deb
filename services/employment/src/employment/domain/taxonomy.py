"""The skills taxonomy: a small ESCO-style tree shipped as data (``employment/data/skills.json``).

Every skill has a stable code (``catering.cook``), a parent group (``catering``), an English
and a Chinese label and synonyms in either language. A seeker who holds a skill also *covers*
every broader skill above it: a cook covers a vacancy asking for ``catering``, while a seeker
who only holds ``catering`` does not cover one asking for ``catering.cook``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shared.errors import FieldError, InvalidInput


@dataclass(frozen=True)
class Skill:
    """One node of the taxonomy."""

    code: str
    parent: str | None
    en: str
    zh: str
    synonyms: tuple[str, ...]


class Taxonomy:
    """The skills tree, by code."""

    def __init__(self, skills: Iterable[Skill]) -> None:
        self.skills: dict[str, Skill] = {skill.code: skill for skill in skills}
        for skill in self.skills.values():
            if skill.parent is not None and skill.parent not in self.skills:
                raise ValueError(f"skill {skill.code} has an unknown parent {skill.parent}")

    def ancestors(self, code: str) -> list[str]:
        """The broader skills above ``code``, nearest first."""
        found: list[str] = []
        parent = self.skills[code].parent
        while parent is not None:
            found.append(parent)
            parent = self.skills[parent].parent
        return found

    def covered(self, held: Iterable[str]) -> frozenset[str]:
        """Every skill that skills ``held`` cover: themselves and their ancestors."""
        codes: set[str] = set()
        for code in held:
            codes.add(code)
            codes.update(self.ancestors(code))
        return frozenset(codes)

    def validate(self, codes: Iterable[str], *, field: str) -> tuple[str, ...]:
        """The codes, sorted and without repeats; 422 naming ``field`` for an unknown one."""
        unique = sorted(set(codes))
        unknown = [code for code in unique if code not in self.skills]
        if unknown:
            raise InvalidInput(
                "unknown skill", errors=[FieldError(field, f"unknown skill codes: {unknown}")]
            )
        return tuple(unique)

    def search(self, text: str) -> list[Skill]:
        """Skills whose code, labels or synonyms contain ``text`` (case-insensitive)."""
        needle = text.strip().casefold()
        return [
            skill
            for skill in self.skills.values()
            if needle in skill.code.casefold()
            or needle in skill.en.casefold()
            or needle in skill.zh
            or any(needle in synonym.casefold() for synonym in skill.synonyms)
        ]


@cache
def taxonomy() -> Taxonomy:
    """The shipped taxonomy (read once)."""
    text = resources.files("employment").joinpath("data/skills.json").read_text("utf-8")
    return Taxonomy(
        Skill(
            code=item["code"],
            parent=item.get("parent"),
            en=item["en"],
            zh=item["zh"],
            synonyms=tuple(item.get("synonyms", ())),
        )
        for item in json.loads(text)["skills"]
    )
