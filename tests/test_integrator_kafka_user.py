"""The integrator KafkaUser template (deploy/k8s/integrator): read-only on every service's
topics, consumer groups under its own prefix, the name used consistently."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.contracts import CONTRACTS
from shared.settings_docs import SERVICES

ROOT = Path(__file__).resolve().parents[1]
INTEGRATOR = ROOT / "deploy" / "k8s" / "integrator"
READ_ONLY = {"Describe", "Read"}


def kafka_user() -> dict[str, Any]:
    (document,) = yaml.safe_load_all((INTEGRATOR / "kafka-user.yaml").read_text())
    assert isinstance(document, dict)
    return document


def acls(kind: str) -> list[dict[str, Any]]:
    return [
        a for a in kafka_user()["spec"]["authorization"]["acls"] if a["resource"]["type"] == kind
    ]


def test_the_user_authenticates_with_scram_sha_512_on_the_platform_cluster() -> None:
    user = kafka_user()
    assert (user["apiVersion"], user["kind"]) == ("kafka.strimzi.io/v1", "KafkaUser")
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == "shequ-kafka"
    assert user["spec"]["authentication"] == {"type": "scram-sha-512"}


def test_it_may_read_every_services_topics_and_nothing_else() -> None:
    topic_acls = acls("topic")
    assert {(a["resource"]["name"], a["resource"]["patternType"]) for a in topic_acls} == {
        (f"{service}.", "prefix") for service in SERVICES
    }
    for topic in CONTRACTS.topics():  # every event topic is covered by some read ACL
        assert any(topic.startswith(a["resource"]["name"]) for a in topic_acls), topic
    every_acl = kafka_user()["spec"]["authorization"]["acls"]
    assert {a["resource"]["type"] for a in every_acl} == {"topic", "group"}
    for acl in every_acl:
        assert set(acl["operations"]) <= READ_ONLY, acl


def test_its_groups_are_prefixed_with_its_own_name() -> None:
    name = kafka_user()["metadata"]["name"]
    assert name.startswith("integrator-")
    (group,) = acls("group")
    assert group["resource"] == {"type": "group", "name": f"{name}-", "patternType": "prefix"}
    assert kafka_user()["metadata"]["labels"]["app.kubernetes.io/name"] == name


def test_the_kustomization_applies_it_in_the_platform_namespace() -> None:
    (kustomization,) = yaml.safe_load_all((INTEGRATOR / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["kafka-user.yaml"]
    assert kustomization["namespace"] == "shequ"
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not on PATH: the kustomization is not built")
    built = subprocess.run(
        [kubectl, "kustomize", str(INTEGRATOR)], capture_output=True, text=True, check=True
    ).stdout
    (document,) = yaml.safe_load_all(built)
    assert document["metadata"] == {**kafka_user()["metadata"], "namespace": "shequ"}
