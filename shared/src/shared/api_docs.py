"""OpenAPI documents of every service, committed as ``docs/openapi/<service>.yaml``.

``make schemas`` writes them from each service's app; a test fails when they drift, so an API
change shows up in review as a change to its contract.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from shared.settings import DEVELOPMENT_ENVIRONMENT
from shared.settings_docs import SERVICES

OPENAPI_DIR = Path("docs/openapi")


def openapi_documents() -> dict[Path, str]:
    """Relative path → YAML text of each installed service's OpenAPI document."""
    documents: dict[Path, str] = {}
    for name in SERVICES:
        try:
            module = importlib.import_module(f"{name}.app")
        except ModuleNotFoundError:
            continue
        # The document describes the API, not a deployment: build the app as development does,
        # so generating it needs no signing keys.
        settings = importlib.import_module(f"{name}.settings").Settings(
            environment=DEVELOPMENT_ENVIRONMENT
        )
        app = module.create_app(settings)
        text = yaml.safe_dump(app.openapi(), sort_keys=True, allow_unicode=True)
        documents[OPENAPI_DIR / f"{name}.yaml"] = text
    return documents
