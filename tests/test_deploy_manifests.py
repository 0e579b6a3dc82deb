"""Deployment artefacts checked without a cluster or a Docker engine.

Parses the kustomize tree (deploy/k8s), the alert rules (deploy/prometheus) and the five
Dockerfiles, and checks them against the code they deploy: ports and probe paths per service,
every environment variable against ``shared.settings.ServiceSettings`` (a renamed setting
breaks this test), every alert metric and label against ``shared/src/shared/metrics.py`` and
``services/metrics/src/metrics/gauges.py``, every
event topic in ``shared.contracts.CONTRACTS`` against the Strimzi ``KafkaTopic`` resources.
When ``kustomize``/``kubectl`` or ``promtool`` is on PATH, the overlays are built and the
alerts unit-tested too; otherwise those tests are skipped with the reason.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
OVERLAYS = K8S / "overlays"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
METRICS_SOURCE = ROOT / "shared" / "src" / "shared" / "metrics.py"
#: Where every Prometheus metric is defined: the platform's, and the metrics service's targets.
METRICS_SOURCES = (METRICS_SOURCE, ROOT / "services" / "metrics" / "src" / "metrics" / "gauges.py")

#: The contract of the platform: service -> HTTP port.
SERVICES: dict[str, int] = {
    "registry": 8001,
    "casework": 8002,
    "employment": 8003,
    "eldercare": 8004,
    "metrics": 8005,
}
CONFIG_MAP = "shequ-config"
PARTITIONS = 3
REPLICAS = 3

Doc = dict[str, Any]


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def load_docs(path: Path) -> list[Doc]:
    """Every non-empty YAML document of a file."""
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def read_env_file(path: Path) -> dict[str, str]:
    """A kustomize env file (KEY=value, `#` comments); values are taken literally."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assert "=" in line, f"{path}:{number}: not KEY=value: {raw!r}"
        key, value = line.split("=", 1)
        assert key, f"{path}:{number}: empty key"
        assert key == key.strip(), f"{path}:{number}: blank around key {key!r}"
        values[key] = value
    return values


def kustomization_files() -> list[Path]:
    return sorted(
        [
            *K8S.rglob("kustomization.yaml"),
            *(d / "kustomization.yaml" for d in (PROMETHEUS, GRAFANA)),
        ]
    )


@functools.cache
def base_resources() -> dict[tuple[str, str], Doc]:
    """The resources of deploy/k8s/base (not the kustomizations), by (kind, name)."""
    found: dict[tuple[str, str], Doc] = {}
    for path in sorted(BASE.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_docs(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, f"{key} defined twice (second time in {path})"
            found[key] = doc
    return found


def of_kind(kind: str) -> list[Doc]:
    return [doc for (k, _), doc in base_resources().items() if k == kind]


def pod_spec(doc: Doc) -> Doc:
    spec: Doc = doc["spec"]["template"]["spec"]
    return spec


def only_container(doc: Doc) -> Doc:
    containers = pod_spec(doc)["containers"]
    assert len(containers) == 1, f"{doc['metadata']['name']}: expected one container"
    container: Doc = containers[0]
    return container


def env_names(container: Doc) -> list[str]:
    return [item["name"] for item in container.get("env", [])]


def env_item(container: Doc, name: str) -> Doc:
    for item in container.get("env", []):
        if item["name"] == name:
            found: Doc = item
            return found
    raise AssertionError(f"container {container['name']} has no env {name}")


def settings_env_names(settings_cls: type[ServiceSettings] = ServiceSettings) -> set[str]:
    """Environment variable names a settings class reads (field name, prefix, capitals)."""
    prefix = settings_cls.model_config.get("env_prefix", "") or ""
    return {f"{prefix}{name}".upper() for name in settings_cls.model_fields}


def service_settings_env_names(service: str) -> set[str]:
    """ServiceSettings' names plus those a service's own subclass adds, if it can be found."""
    names = settings_env_names()
    for module_name in (f"{service}.settings", f"{service}.config"):
        try:
            module = importlib.import_module(module_name)
        except Exception:  # the module may not exist (yet); the base names still apply
            continue
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, ServiceSettings)
                and value is not ServiceSettings
            ):
                names |= settings_env_names(value)
    return names


def resolve_port(container: Doc, port: int | str) -> int:
    """A probe or Service targetPort (a number or a container port name) as a number."""
    if isinstance(port, int):
        return port
    for item in container["ports"]:
        if item.get("name") == port:
            number: int = item["containerPort"]
            return number
    raise AssertionError(f"container {container['name']} has no port named {port!r}")


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def merged_config(overlay: str | None) -> dict[str, str]:
    """shequ-config as an overlay deploys it: base config.env merged with the overlay's."""
    data = read_env_file(BASE / "config.env")
    if overlay is not None:
        data.update(read_env_file(OVERLAYS / overlay / "config.env"))
    return data


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    """Build ServiceSettings from exactly these variables (as strings, like Kubernetes)."""
    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ServiceSettings(service_name="registry", _env_file=None)  # type: ignore[call-arg]


# ------------------------------------------------------------------------------------------
# the YAML tree and the kustomizations
# ------------------------------------------------------------------------------------------


def test_every_deploy_yaml_parses() -> None:
    files = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    assert len(files) > 10
    for path in files:
        docs = load_docs(path)
        assert docs, f"{path} is empty"
        if path.is_relative_to(K8S) or (path.parent == PROMETHEUS and path.stem != "alerts_test"):
            for doc in docs:
                assert doc.get("apiVersion"), f"{path}: apiVersion"
                assert doc.get("kind"), f"{path}: kind"
                if doc["kind"] != "Kustomization":
                    assert doc.get("metadata", {}).get("name"), f"{path}: metadata.name"


def _referenced_paths(kustomization: Doc) -> Iterator[str]:
    yield from kustomization.get("resources", [])
    yield from kustomization.get("components", [])
    for patch in kustomization.get("patches", []):
        if "path" in patch:
            yield patch["path"]
    yield from kustomization.get("patchesStrategicMerge", [])
    for generator in [
        *kustomization.get("configMapGenerator", []),
        *kustomization.get("secretGenerator", []),
    ]:
        yield from generator.get("envs", [])
        for item in generator.get("files", []):
            yield item.split("=", 1)[-1]


@pytest.mark.parametrize(
    "path", kustomization_files(), ids=lambda p: str(p.parent.relative_to(DEPLOY))
)
def test_kustomization_references_exist_and_nothing_is_orphaned(path: Path) -> None:
    (kustomization,) = load_docs(path)
    assert kustomization["kind"] == "Kustomization"
    referenced = set()
    for ref in _referenced_paths(kustomization):
        assert "://" not in ref, f"{path}: remote resource {ref}"
        target = (path.parent / ref).resolve()
        assert target.exists(), f"{path}: {ref} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").is_file(), f"{path}: {ref} has no kustomization"
        referenced.add(target)
    # Every manifest next to a kustomization is used by it (no forgotten file).
    for sibling in sorted([*path.parent.glob("*.yaml"), *path.parent.glob("*.env")]):
        if sibling.name in {"kustomization.yaml", "alerts_test.yaml"}:
            continue
        assert sibling.resolve() in referenced, f"{sibling} is not listed in {path}"


def test_base_lists_every_service() -> None:
    (kustomization,) = load_docs(BASE / "kustomization.yaml")
    assert set(SERVICES) <= set(kustomization["resources"])
    generators = {g["name"]: g for g in kustomization.get("configMapGenerator", [])}
    assert CONFIG_MAP in generators


# ------------------------------------------------------------------------------------------
# per service: Deployment, Service, PodDisruptionBudget, migration Job
# ------------------------------------------------------------------------------------------

HTTP_SOURCE = ROOT / "shared" / "src" / "shared" / "http.py"


def readiness_timeout_s() -> float:
    """``READINESS_TIMEOUT_S`` of shared/http.py (3 s when the module does not say)."""
    found = re.search(r"^READINESS_TIMEOUT_S\s*=\s*([0-9.]+)", HTTP_SOURCE.read_text(), re.M)
    return float(found.group(1)) if found else 3.0


def test_probe_paths_are_served_by_the_platform_kit() -> None:
    source = HTTP_SOURCE.read_text(encoding="utf-8")
    for path in ("/healthz", "/readyz", "/metrics"):
        assert f'.get("{path}")' in source, f"shared/http.py serves no GET {path}"


@pytest.mark.parametrize(("service", "port"), SERVICES.items())
def test_deployment(service: str, port: int) -> None:
    deployment = base_resources()[("Deployment", service)]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    template_labels = spec["template"]["metadata"]["labels"]
    assert selects(spec["selector"]["matchLabels"], template_labels)
    assert template_labels["app.kubernetes.io/name"] == service

    container = only_container(deployment)
    assert container["image"].split(":")[0] == f"shequ/{service}"
    assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [("http", port)]

    probes = {kind: container[kind] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes["startupProbe"]["httpGet"]["path"] == "/healthz"
    for kind, probe in probes.items():
        assert resolve_port(container, probe["httpGet"]["port"]) == port, kind
    # /readyz waits up to READINESS_TIMEOUT_S for its checks; the probe must wait longer.
    assert probes["readinessProbe"]["timeoutSeconds"] > readiness_timeout_s()

    annotations = spec["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"

    resources = container["resources"]
    for section in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[section]), section

    pod = pod_spec(deployment)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]

    assert {"configMapRef": {"name": CONFIG_MAP}} in container["envFrom"]
    assert env_item(container, "HTTP_PORT")["value"] == str(port)
    secret_ref = env_item(container, "DATABASE_URL")["valueFrom"]["secretKeyRef"]
    assert secret_ref == {"name": f"shequ-{service}", "key": "DATABASE_URL"}
    assert env_item(container, "KAFKA_SASL_USERNAME")["value"] == service


@pytest.mark.parametrize(("service", "port"), SERVICES.items())
def test_service_and_pdb_select_the_deployment_pods(service: str, port: int) -> None:
    deployment = base_resources()[("Deployment", service)]
    container = only_container(deployment)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    job_labels = base_resources()[("Job", f"{service}-migrate")]["spec"]["template"]["metadata"][
        "labels"
    ]

    svc = base_resources()[("Service", service)]
    assert selects(svc["spec"]["selector"], pod_labels)
    assert not selects(svc["spec"]["selector"], job_labels), "the Service would route to the Job"
    (svc_port,) = svc["spec"]["ports"]
    assert svc_port["port"] == port
    assert resolve_port(container, svc_port["targetPort"]) == port

    pdb = base_resources()[("PodDisruptionBudget", service)]
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert not selects(deployment["spec"]["selector"]["matchLabels"], job_labels)
    # maxUnavailable keeps a 1-replica (dev) install drainable.
    assert pdb["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize("service", SERVICES)
def test_migration_job(service: str) -> None:
    job = base_resources()[("Job", f"{service}-migrate")]
    deployment = base_resources()[("Deployment", service)]
    container = only_container(job)
    assert container["command"] == ["python", "-m", "shared.migrate", service]
    assert container["image"] == only_container(deployment)["image"]
    assert pod_spec(job)["restartPolicy"] in {"Never", "OnFailure"}
    assert pod_spec(job)["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"configMapRef": {"name": CONFIG_MAP}} in container["envFrom"]
    assert env_item(container, "DATABASE_URL") == env_item(
        only_container(deployment), "DATABASE_URL"
    )


# ------------------------------------------------------------------------------------------
# configuration: names and values against ServiceSettings
# ------------------------------------------------------------------------------------------


def test_config_names_are_service_settings_fields() -> None:
    known = settings_env_names()
    env_files = sorted(K8S.rglob("*.env"))
    assert BASE / "config.env" in env_files
    for path in env_files:
        unknown = set(read_env_file(path)) - known
        assert not unknown, f"{path}: not ServiceSettings fields: {sorted(unknown)}"
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in load_docs(path):
            if doc.get("kind") == "ConfigMap":
                unknown = set(doc.get("data", {})) - known
                assert not unknown, f"{path}: not ServiceSettings fields: {sorted(unknown)}"


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_and_job_env_names_are_settings_fields(service: str) -> None:
    known = service_settings_env_names(service)
    for kind, name in (("Deployment", service), ("Job", f"{service}-migrate")):
        container = only_container(base_resources()[(kind, name)])
        unknown = set(env_names(container)) - known
        assert not unknown, f"{kind} {name}: not settings fields: {sorted(unknown)}"
        assert len(env_names(container)) == len(set(env_names(container))), "duplicate env"


def test_overlay_patches_set_only_settings_fields() -> None:
    """Env vars added by JSON/strategic patches in the overlays are settings fields too."""
    known = settings_env_names()
    for path in sorted(OVERLAYS.rglob("kustomization.yaml")):
        (kustomization,) = load_docs(path)
        for patch in kustomization.get("patches", []):
            text = patch.get("patch") or (path.parent / patch["path"]).read_text()
            for name in re.findall(r"^\s*-?\s*name:\s*([A-Z][A-Z0-9_]+)\s*$", text, re.M):
                assert name in known, f"{path}: patch sets {name}, not a ServiceSettings field"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_config_values_validate(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = merged_config(overlay)
    deployment = only_container(base_resources()[("Deployment", "registry")])
    literal = {item["name"]: item["value"] for item in deployment["env"] if "value" in item}
    settings = settings_from({**config, **literal}, monkeypatch)
    assert settings.migrate_on_start is False
    assert settings.kafka_create_topics is False
    assert settings.http_port == SERVICES["registry"]
    # The services' token verifier accepts the overlay's auth settings (it raises otherwise).
    from shared.auth import TokenVerifier

    verifier = TokenVerifier(settings)
    if overlay == "prod":
        assert verifier.key_source in {"jwks", "public_key"}
        assert verifier.algorithms == ["RS256"]
        assert settings.environment == "production"
        assert settings.auth_algorithms == ["RS256"]
        assert settings.auth_jwks_url or settings.auth_public_key
        assert settings.kafka_security_protocol == "SASL_SSL"
        assert settings.kafka_enable_idempotence is True
    else:
        assert settings.environment == "development"


# ------------------------------------------------------------------------------------------
# Kafka: topics (base) and users (prod)
# ------------------------------------------------------------------------------------------


def test_kafka_topics_cover_every_contract_topic_and_dlq() -> None:
    from shared.contracts import CONTRACTS

    topics = {doc["spec"]["topicName"]: doc for doc in of_kind("KafkaTopic")}
    wanted = set(CONTRACTS.topics()) | {f"{service}.dlq" for service in SERVICES}
    assert "registry.area.events" in wanted
    missing = wanted - set(topics)
    assert not missing, f"topics without a KafkaTopic in base/kafka-topics.yaml: {missing}"
    unknown = set(topics) - wanted
    assert not unknown, f"KafkaTopics no contract publishes to: {unknown}"

    clusters = {doc["metadata"]["labels"]["strimzi.io/cluster"] for doc in topics.values()}
    assert len(clusters) == 1
    for name, doc in topics.items():
        assert doc["apiVersion"].startswith("kafka.strimzi.io/")
        assert doc["metadata"]["name"] == name
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name), name
        assert set(doc["spec"]) <= {"topicName", "partitions", "replicas", "config"}
        assert doc["spec"]["partitions"] == PARTITIONS, name
        assert doc["spec"]["replicas"] == REPLICAS, name
        assert doc["spec"]["config"]["min.insync.replicas"] < REPLICAS


def test_prod_kafka_users_match_the_deployments() -> None:
    from shared.contracts import CONTRACTS

    users = {
        doc["metadata"]["name"]: doc
        for doc in load_docs(OVERLAYS / "prod" / "kafka-users.yaml")
        if doc["kind"] == "KafkaUser"
    }
    assert set(users) == set(SERVICES)
    for service, user in users.items():
        container = only_container(base_resources()[("Deployment", service)])
        assert env_item(container, "KAFKA_SASL_USERNAME")["value"] == service
        password_ref = env_item(container, "KAFKA_SASL_PASSWORD")["valueFrom"]["secretKeyRef"]
        user_ref = user["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]
        assert (user_ref["name"], user_ref["key"]) == (password_ref["name"], password_ref["key"])
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        writes = [
            acl["resource"]
            for acl in user["spec"]["authorization"]["acls"]
            if "Write" in acl["operations"]
        ]
        own = [c.topic for c in CONTRACTS if c.service == service] + [f"{service}.dlq"]
        for topic in own:
            assert any(
                topic == r["name"]
                or (r.get("patternType") == "prefix" and topic.startswith(r["name"]))
                for r in writes
            ), f"KafkaUser {service} may not write {topic}"
        groups = [
            acl["resource"]["name"]
            for acl in user["spec"]["authorization"]["acls"]
            if acl["resource"]["type"] == "group"
        ]
        assert groups == [service]


# ------------------------------------------------------------------------------------------
# Dockerfiles
# ------------------------------------------------------------------------------------------


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, rest = line.strip().partition(" ")
            pairs.append((instruction.upper(), rest.strip()))
    return pairs


@pytest.mark.parametrize(("service", "port"), SERVICES.items())
def test_dockerfile(service: str, port: int) -> None:
    path = ROOT / "services" / service / "Dockerfile"
    text = path.read_text(encoding="utf-8")
    template = (DEPLOY / "docker" / "Dockerfile.template").read_text(encoding="utf-8")
    expected = template.replace("@SERVICE@", service).replace("@PORT@", str(port))
    assert text == expected, f"{path} drifted: run python deploy/docker/render.py"

    pyproject = tomllib.loads((path.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == f"shequ-{service}"
    assert (path.parent / "src" / service / "__init__.py").is_file()

    instructions = _dockerfile_instructions(text)
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim") in instructions
    froms = [args for name, args in instructions if name == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]
    runs = [args for name, args in instructions if name == "RUN"]
    assert any(re.search(r"pip install uv==\d+\.\d+\.\d+", run) for run in runs)
    syncs = [run for run in runs if "uv sync" in run]
    assert len(syncs) == 2, "dependencies layer, then the workspace packages"
    for sync in syncs:
        for flag in (
            "--frozen",
            "--no-dev",
            f"--package shequ-{service}",
            "--no-editable",
            "--mount=type=cache,target=/root/.cache/uv",
        ):
            assert flag in sync, f"{flag} missing in {sync}"
    assert "--no-install-workspace" in syncs[0]

    runtime = instructions[[i for i, (n, _) in enumerate(instructions) if n == "FROM"][1] :]
    copies = [args for name, args in runtime if name == "COPY"]
    assert copies == ["--from=builder /app/.venv /app/.venv"], "runtime copies only the venv"
    assert ("USER", "10001:10001") in runtime
    assert ("EXPOSE", str(port)) in runtime
    env_text = " ".join(args for name, args in runtime if name == "ENV")
    env = dict(re.findall(r"([A-Z_]+)=(\"[^\"]*\"|\S+)", env_text))
    assert env["HTTP_PORT"] == str(port)
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert env["LOG_JSON"] == "true"
    settings_like = {k for k in env if not k.startswith(("PYTHON", "PATH"))}
    assert settings_like <= settings_env_names(), settings_like - settings_env_names()
    (cmd,) = [args for name, args in runtime if name == "CMD"]
    assert json.loads(cmd) == [
        "uvicorn",
        "--factory",
        f"{service}.app:create_app",
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
        "--proxy-headers",
        "--no-access-log",
    ]


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore pattern (Go filepath.Match plus `**`) as a regex."""
    out, i = "", 0
    pattern = pattern.strip("/")
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    # A pattern that matches a directory excludes everything below it.
    return re.compile(out + "(?:/.*)?")


def _dockerignored(relative: str, patterns: list[str]) -> bool:
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if _dockerignore_regex(pattern.lstrip("!")).fullmatch(relative):
            excluded = not negate
    return excluded


def test_dockerignore_keeps_build_inputs_and_drops_local_state() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    for unwanted in (
        ".venv/bin/python",
        "var/registry.db",
        ".env",
        ".git/HEAD",
        "shared/src/shared/__pycache__/db.cpython-311.pyc",
        ".pytest_cache/x",
        "services/registry/tests/test_x.py",
        "test-artifacts/report.xml",
    ):
        assert _dockerignored(unwanted, patterns), f"{unwanted} would be sent to the build"
    needed = ["pyproject.toml", "uv.lock", "shared/pyproject.toml"]
    needed += [
        str(path.relative_to(ROOT))
        for path in [*(ROOT / "shared" / "src").rglob("*"), *(ROOT / "services").glob("*/src/**/*")]
        if path.is_file() and "__pycache__" not in path.parts
    ]
    needed += [f"services/{service}/pyproject.toml" for service in SERVICES]
    kept_out = [path for path in needed if _dockerignored(path, patterns)]
    assert not kept_out, f".dockerignore drops files the image needs: {kept_out[:10]}"


# ------------------------------------------------------------------------------------------
# alerts
# ------------------------------------------------------------------------------------------

_METRIC_RE = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"\s*,\s*"
    r"(?:\"[^\"]*\"\s*)+,\s*\[([^\]]*)\]",
)


@functools.cache
def defined_series() -> dict[str, set[str]]:
    """Series names the services expose (with _total/_bucket/... suffixes) -> labels."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in METRICS_SOURCES)
    series: dict[str, set[str]] = {}
    for kind, name, label_list in _METRIC_RE.findall(source):
        labels = set(re.findall(r"\"([^\"]+)\"", label_list))
        if kind == "Counter":
            base = name.removesuffix("_total")
            names = {f"{base}_total": labels, f"{base}_created": labels}
        elif kind == "Histogram":
            names = {
                f"{name}_bucket": labels | {"le"},
                f"{name}_count": labels,
                f"{name}_sum": labels,
                f"{name}_created": labels,
            }
        elif kind == "Summary":
            names = {
                name: labels | {"quantile"},
                f"{name}_count": labels,
                f"{name}_sum": labels,
                f"{name}_created": labels,
            }
        else:
            names = {name: labels}
        series.update(names)
    return series


def alert_rules() -> list[Doc]:
    (rule,) = load_docs(PROMETHEUS / "alerts.yaml")
    assert rule["kind"] == "PrometheusRule"
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def test_metrics_source_is_parsed() -> None:
    series = defined_series()
    for name in (
        "shequ_outbox_oldest_age_seconds",
        "shequ_relay_leader",
        "shequ_events_dead_lettered_total",
        "shequ_consumer_lag",
        "shequ_http_requests_total",
        "shequ_http_request_duration_seconds_bucket",
        "shequ_target_progress",
    ):
        assert name in series, f"{name} not found in {METRICS_SOURCES}"
    assert series["shequ_relay_leader"] == {"service"}
    assert series["shequ_target_status"] == {"target", "district", "status"}


def test_alerts_use_only_defined_metrics_and_labels() -> None:
    series = defined_series()
    alerts = alert_rules()
    names = [rule["alert"] for rule in alerts]
    assert len(names) == len(set(names))
    for required in (
        "ShequOutboxBacklogStale",
        "ShequDeadLettersIncreasing",
        "ShequConsumerLagHigh",
        "ShequRelayLeaderNotOne",
        "ShequHighServerErrorRate",
        "ShequTargetAtRisk",
    ):
        assert required in names
    for rule in alerts:
        expr = rule["expr"]
        used = set(re.findall(r"\bshequ_[a-zA-Z0-9_:]*", expr))
        assert used, f"{rule['alert']} uses no Shequ metric"
        unknown = used - set(series)
        assert not unknown, f"{rule['alert']}: metrics not defined in the sources: {unknown}"
        labels = set().union(*(series[name] for name in used))
        grouped = re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr)
        matched = re.findall(r"[{,]\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", expr)
        used_labels = {g.strip() for group in grouped for g in group.split(",") if g.strip()}
        used_labels |= set(matched)
        assert used_labels <= labels, f"{rule['alert']}: unknown labels {used_labels - labels}"
        annotations = " ".join(rule["annotations"].values())
        templated = set(re.findall(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)", annotations))
        assert templated <= labels, f"{rule['alert']}: annotations use {templated - labels}"
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]
    assert "sum by (service) (shequ_relay_leader) != 1" in " ".join(r["expr"] for r in alerts)


def test_alert_rules_with_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH (Debian package `prometheus` ships it)")
    (rule,) = load_docs(PROMETHEUS / "alerts.yaml")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]), encoding="utf-8")
    shutil.copy(PROMETHEUS / "alerts_test.yaml", tmp_path / "alerts_test.yaml")
    for args in (["check", "rules", "rules.yaml"], ["test", "rules", "alerts_test.yaml"]):
        done = subprocess.run(
            [promtool, *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------------------------
# Grafana dashboard
# ------------------------------------------------------------------------------------------

#: Grafana's variables, replaced by something PromQL parses.
_GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$target": ".*",
    "$district": ".*",
    "$service": ".*",
}


def grafana_dashboard() -> Doc:
    dashboard: Doc = json.loads((GRAFANA / "shequ.json").read_text(encoding="utf-8"))
    return dashboard


def grafana_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every panel and variable query, variables substituted."""
    dashboard = grafana_dashboard()
    found = [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]
    found += [
        (variable["name"], variable["query"]["query"])
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    ]
    out = []
    for title, expr in found:
        for name, value in _GRAFANA_VARIABLES.items():
            expr = expr.replace(name, value)
        assert "$" not in expr, f"{title}: unknown variable in {expr}"
        out.append((title, expr))
    return out


def test_grafana_dashboard_is_provisioning_ready() -> None:
    dashboard = grafana_dashboard()
    assert dashboard["uid"] == "shequ-overview"
    assert "id" not in dashboard  # provisioned dashboards get theirs from Grafana
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = dashboard["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
    (provider,) = load_docs(GRAFANA / "provisioning" / "dashboards.yaml")
    assert provider["apiVersion"] == 1
    assert provider["providers"][0]["type"] == "file"


def test_grafana_dashboard_shows_targets_and_platform_health() -> None:
    used = {
        name
        for _, expr in grafana_queries()
        for name in re.findall(r"\bshequ_[a-zA-Z0-9_:]*", expr)
    }
    for needed in (
        "shequ_target_status",
        "shequ_target_progress",
        "shequ_http_requests_total",
        "shequ_http_request_duration_seconds_bucket",
        "shequ_outbox_backlog",
        "shequ_outbox_oldest_age_seconds",
        "shequ_relay_leader",
        "shequ_consumer_lag",
        "shequ_events_dead_lettered_total",
    ):
        assert needed in used, f"no panel shows {needed}"


@pytest.mark.parametrize("title_expr", grafana_queries(), ids=lambda q: q[0])
def test_grafana_queries_use_only_defined_metrics_and_labels(title_expr: tuple[str, str]) -> None:
    title, expr = title_expr
    series = defined_series()
    used = set(re.findall(r"\bshequ_[a-zA-Z0-9_:]*", expr))
    assert used, f"{title}: no Shequ metric"
    assert used <= set(series), f"{title}: metrics not defined in the sources: {used - set(series)}"
    labels = set().union(*(series[name] for name in used))
    grouped = re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr)
    matched = re.findall(r"[{,]\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", expr)
    matched += re.findall(r"label_values\([^,]*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\)", expr)
    used_labels = {g.strip() for group in grouped for g in group.split(",") if g.strip()}
    used_labels |= set(matched)
    assert used_labels <= labels, f"{title}: unknown labels {used_labels - labels}"


def test_grafana_queries_parse_with_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH (make promtool)")
    rules = [
        {"record": f"grafana:query_{n}", "expr": re.sub(r"label_values\((.*), \w+\)", r"\1", expr)}
        for n, (_, expr) in enumerate(grafana_queries())
    ]
    (tmp_path / "queries.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "grafana", "rules": rules}]}), encoding="utf-8"
    )
    done = subprocess.run(
        [promtool, "check", "rules", "queries.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------------------------
# kustomize build (only where a kustomize or kubectl binary exists)
# ------------------------------------------------------------------------------------------


def kustomize_build(directory: Path) -> list[Doc]:
    kustomize, kubectl = shutil.which("kustomize"), shutil.which("kubectl")
    if kustomize:
        command = [kustomize, "build", str(directory)]
    elif kubectl:
        command = [kubectl, "kustomize", str(directory)]
    else:
        pytest.skip("neither kustomize nor kubectl is on PATH: overlays not built")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc is not None]


def by_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_kustomize_build_overlay(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = kustomize_build(OVERLAYS / overlay)
    (namespace,) = by_kind(docs, "Namespace")
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == namespace, doc["metadata"]["name"]

    config_maps = by_kind(docs, "ConfigMap")
    (config_name,) = [name for name in config_maps if name.startswith(CONFIG_MAP)]
    assert config_name.startswith(f"{CONFIG_MAP}-"), "generated name carries a content hash"
    config = by_kind(docs, "ConfigMap")[config_name]["data"]
    assert config == merged_config(overlay)
    settings_from(config, monkeypatch)

    deployments = by_kind(docs, "Deployment")
    jobs = by_kind(docs, "Job")
    assert set(deployments) == set(SERVICES)
    assert set(jobs) == {f"{service}-migrate" for service in SERVICES}
    for doc in [*deployments.values(), *jobs.values()]:
        container = only_container(doc)
        assert {"configMapRef": {"name": config_name}} in container["envFrom"]
        image = container["image"]
        assert image.rsplit(":", 1)[0].endswith(f"shequ/{doc['metadata']['name'].split('-')[0]}")
    assert set(by_kind(docs, "Service")) == set(SERVICES)
    assert set(by_kind(docs, "PodDisruptionBudget")) == set(SERVICES)
    topics = by_kind(docs, "KafkaTopic")
    assert len(topics) >= len(SERVICES) + 1

    # The label selectors of the rollout order in docs/deploy.md split the output cleanly.
    def component(doc: Doc) -> str | None:
        labels: dict[str, str] = doc["metadata"].get("labels") or {}
        return labels.get("app.kubernetes.io/component")

    migration = {d["metadata"]["name"] for d in docs if component(d) == "migration"}
    assert migration == set(jobs)
    first = {d["kind"] for d in docs if component(d) not in {"api", "migration"}}
    assert {"Namespace", "ConfigMap", "KafkaTopic"} <= first
    assert not first & {"Deployment", "Job", "Service", "PodDisruptionBudget"}

    if overlay == "dev":
        assert all(d["spec"]["replicas"] == 1 for d in deployments.values())
        assert all(t["spec"]["replicas"] == 1 for t in topics.values())
        assert all(only_container(d)["image"].endswith(":dev") for d in deployments.values())
        assert set(config_maps) == {config_name}
    else:
        hpas = by_kind(docs, "HorizontalPodAutoscaler")
        assert set(hpas) == {"registry", "casework"}
        for name, hpa in hpas.items():
            assert hpa["spec"]["scaleTargetRef"] == {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
            }
            assert hpa["spec"]["minReplicas"] >= 2
            assert "replicas" not in deployments[name]["spec"], "the HPA owns replicas"
        for name, deployment in deployments.items():
            if name not in hpas:
                assert deployment["spec"]["replicas"] >= 2
            mounts = {m["mountPath"] for m in only_container(deployment)["volumeMounts"]}
            assert str(Path(config["KAFKA_SSL_CAFILE"]).parent) in mounts
        assert all(t["spec"]["replicas"] == REPLICAS for t in topics.values())
        assert set(by_kind(docs, "KafkaUser")) == set(SERVICES)
        assert by_kind(docs, "PrometheusRule")
        assert by_kind(docs, "PodMonitor")
        dashboards = config_maps["shequ-grafana-dashboards"]
        assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(dashboards["data"]["shequ.json"]) == grafana_dashboard()


def test_kustomize_build_base() -> None:
    docs = kustomize_build(BASE)
    assert set(by_kind(docs, "Deployment")) == set(SERVICES)
