"""docs/configuration.md is what the settings models say, and says all of it."""

from __future__ import annotations

from pathlib import Path

from shared.api_docs import openapi_documents
from shared.settings import ServiceSettings
from shared.settings_docs import CONFIGURATION_DOC, configuration_markdown, service_settings

ROOT = Path(__file__).resolve().parents[2]


def test_committed_reference_matches_the_models() -> None:
    committed = (ROOT / CONFIGURATION_DOC).read_text(encoding="utf-8")
    assert committed == configuration_markdown(), "run `make schemas` and commit"


def test_every_setting_is_described_and_listed() -> None:
    text = configuration_markdown()
    classes: list[type[ServiceSettings]] = [ServiceSettings, *service_settings().values()]
    for settings_class in classes:
        for name, info in settings_class.model_fields.items():
            assert info.description, f"{settings_class.__module__}.{name} has no description"
            assert f"`{name.upper()}`" in text


def test_all_five_services_are_documented() -> None:
    assert set(service_settings()) == {"registry", "casework", "employment", "eldercare", "metrics"}


def test_committed_openapi_documents_match_the_apps() -> None:
    documents = openapi_documents()
    assert {path.name for path in documents} == {
        "registry.yaml",
        "casework.yaml",
        "employment.yaml",
        "eldercare.yaml",
        "metrics.yaml",
    }
    for relative, text in documents.items():
        assert (ROOT / relative).read_text(encoding="utf-8") == text, "run `make schemas`"
