"""Loading the age entitlement rules, kept as data (``eldercare/data/entitlements.yaml``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import yaml

from eldercare.domain.entitlements import EntitlementRule, parse_rules


def load_rules(path: str | None = None) -> tuple[EntitlementRule, ...]:
    """The rules in ``path``, or the packaged ones."""
    if path is None:
        text = files("eldercare").joinpath("data/entitlements.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, list):
        raise ValueError("entitlement rules must be a list")
    return parse_rules(raw)
