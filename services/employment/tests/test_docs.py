"""docs/employment.md has one example per employment event type, and each example is a valid
payload of its contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

from shared.contracts import CONTRACTS

DOC = Path(__file__).resolve().parents[3] / "docs" / "employment.md"
EXAMPLE = re.compile(r"^### `(?P<type>[^`]+)`\n.*?```json\n(?P<body>.*?)\n```", re.M | re.S)


def test_every_employment_event_has_a_valid_example() -> None:
    found = {
        match["type"]: json.loads(match["body"]) for match in EXAMPLE.finditer(DOC.read_text())
    }
    wanted = {contract.type for contract in CONTRACTS if contract.service == "employment"}
    assert set(found) == wanted
    for event_type, example in found.items():
        CONTRACTS.by_type(event_type).payload.model_validate(example)
