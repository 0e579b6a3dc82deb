"""deploy/k8s/check.py (make check-deploy) refuses what it should: the custom resources'
JSON Schemas reject unknown or wrong fields and a kind without a schema, and the entry points
are every kustomization nothing else includes."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"


def load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_check", K8S / "check.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = load_check()


def first(path: Path, kind: str) -> dict[str, Any]:
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if doc and doc["kind"] == kind:
            found: dict[str, Any] = doc
            return found
    raise AssertionError(f"no {kind} in {path}")


TOPIC = first(K8S / "base" / "kafka-topics.yaml", "KafkaTopic")
USER = first(K8S / "overlays" / "prod" / "kafka-users.yaml", "KafkaUser")
CLUSTER = first(K8S / "overlays" / "prod" / "databases.yaml", "Cluster")


def test_the_committed_custom_resources_pass() -> None:
    assert check.check_custom_resources([TOPIC, USER, CLUSTER]) == []


@pytest.mark.parametrize(
    ("doc", "path", "value", "message"),
    [
        (TOPIC, ["spec", "replica"], 3, "'replica' was unexpected"),
        (TOPIC, ["spec", "partitions"], 0, "less than the minimum"),
        (TOPIC, ["spec", "config", "retention.ms"], "forever", "is not of type 'integer'"),
        (USER, ["spec", "authorization", "acls", 0, "operations"], ["Publish"], "is not one of"),
        (USER, ["spec", "authentication", "type"], "scram-sha-256", "is not one of"),
        (CLUSTER, ["spec", "backup", "retentionPolicy"], "30 days", "does not match"),
    ],
)
def test_a_wrong_field_is_refused(
    doc: dict[str, Any], path: list[Any], value: Any, message: str
) -> None:
    broken = copy.deepcopy(doc)
    target = broken
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    (problem,) = check.check_custom_resources([broken])
    assert message in problem


def test_a_custom_resource_without_a_schema_is_refused() -> None:
    unknown = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaConnect",
        "metadata": {"name": "x"},
    }
    (problem,) = check.check_custom_resources([unknown])
    assert "no schema" in problem


def test_entry_points_are_the_overlays_and_the_integrator_template() -> None:
    names = {str(path.relative_to(K8S)) for path in check.entry_points()}
    assert {"overlays/dev", "overlays/prod", "integrator"} <= names
    assert not names & {"base", "base/registry"}, "included by the overlays"


def test_checkov_fails_an_unhardened_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkov step reports failed checks (make check-deploy installs .venv-tools)."""
    tools = ROOT / ".venv-tools" / "bin"
    if not (tools / "checkov").exists():
        pytest.skip("checkov is not installed: make deploy-tools")
    monkeypatch.setattr(check, "TOOLS", tools)
    bare = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bare", "namespace": "shequ"},
        "spec": {
            "selector": {"matchLabels": {"app": "bare"}},
            "template": {
                "metadata": {"labels": {"app": "bare"}},
                "spec": {"containers": [{"name": "bare", "image": "shequ/bare:latest"}]},
            },
        },
    }
    path = tmp_path / "bare.yaml"
    path.write_text(yaml.safe_dump(bare), encoding="utf-8")
    problems = check.check_checkov([path])
    failed = {problem.split()[1] for problem in problems if problem.startswith("checkov CKV")}
    # e.g. no resource limits, may run as root, writable root filesystem, no probes
    assert {"CKV_K8S_11", "CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_8"} <= failed
