"""Render every kustomization under deploy/k8s and validate what it produces.

Run by ``make check-deploy`` with the pinned tools of ``.venv-tools`` (mk/deploy.mk), apart
from the workspace so that they never touch ``uv.lock``:

    .venv-tools/bin/python deploy/k8s/check.py

1. ``kubectl kustomize`` renders each entry point: every directory with a kustomization that
   no other kustomization includes (the dev and prod overlays, the integrator template, ...);
2. core objects (Deployment, Service, Job, NetworkPolicy, ...) are validated by
   ``kubernetes-validate --strict`` against the Kubernetes API schemas of ``KUBERNETES_VERSION``;
3. Strimzi, CloudNativePG and Prometheus Operator objects are validated against the JSON
   Schemas kept in deploy/k8s/schemas/ (the fields Shequ uses, unknown fields refused); a
   custom resource without a schema there fails;
4. ``checkov --framework kubernetes`` runs on each rendered output; a check may only be
   skipped in the manifest itself, with its reason (``checkov.io/skipN: CHECK=reason``);
5. ``docker compose config`` validates deploy/compose.yaml where Compose is installed.

Exits 1 listing every problem; the rendered files stay in var/deploy-check/ for a look.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = K8S / "schemas"
OUT = ROOT / "var" / "deploy-check"
KUBERNETES_VERSION = os.environ.get("KUBERNETES_VERSION", "1.31.0")
TOOLS = Path(sys.executable).parent
#: API groups served by Kubernetes itself (kubernetes-validate knows their schemas).
CORE_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
}

Doc = dict[str, Any]


def entry_points() -> list[Path]:
    """Kustomization directories under deploy/k8s that no other kustomization includes."""
    folders = sorted(path.parent for path in K8S.rglob("kustomization.yaml"))
    included: set[Path] = set()
    for folder in folders:
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text()) or {}
        for ref in [*kustomization.get("resources", []), *kustomization.get("components", [])]:
            target = (folder / ref).resolve()
            if target.is_dir():
                included.add(target)
    return [folder for folder in folders if folder.resolve() not in included]


def render(folder: Path) -> list[Doc]:
    kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
    done = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {folder.relative_to(ROOT)}: {done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def group(doc: Doc) -> str:
    api: str = doc["apiVersion"]
    return api.split("/")[0] if "/" in api else ""


def schema_file(doc: Doc) -> Path:
    api = doc["apiVersion"].replace("/", "_")
    return SCHEMAS / f"{api}_{doc['kind']}.json"


def describe(doc: Doc) -> str:
    return f"{doc['kind']}/{doc['metadata'].get('name')}"


def check_custom_resources(docs: list[Doc]) -> list[str]:
    problems = []
    for doc in docs:
        path = schema_file(doc)
        if not path.exists():
            problems.append(f"{describe(doc)}: no schema {path.relative_to(ROOT)}")
            continue
        validator = jsonschema.Draft202012Validator(json.loads(path.read_text()))
        for error in validator.iter_errors(doc):
            where = "/".join(str(part) for part in error.absolute_path)
            problems.append(f"{describe(doc)}: {where}: {error.message}")
    return problems


def check_core(name: str, docs: list[Doc]) -> list[str]:
    path = OUT / f"{name}.core.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    done = subprocess.run(
        [
            str(TOOLS / "kubernetes-validate"),
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    failed = [line for line in done.stdout.splitlines() if not line.startswith("INFO")]
    if done.returncode != 0:
        return [f"kubernetes-validate {path.relative_to(ROOT)}: {line}" for line in failed] or [
            f"kubernetes-validate exited {done.returncode}: {done.stderr}"
        ]
    return []


def check_checkov(paths: list[Path]) -> list[str]:
    """One checkov run over every rendered output; skips must be in the manifests."""
    command = [str(TOOLS / "checkov"), "--framework", "kubernetes", "--output", "json"]
    for path in paths:
        command += ["--file", str(path)]
    done = subprocess.run(
        [*command, "--quiet", "--skip-download"], capture_output=True, text=True, check=False
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return [f"checkov produced no report (exit {done.returncode}): {done.stderr[-1500:]}"]
    reports = report if isinstance(report, list) else [report]
    problems = []
    totals = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0}
    for item in reports:
        for outcome in totals:
            totals[outcome] += int(item.get("summary", {}).get(outcome, 0))
        for failed in item.get("results", {}).get("failed_checks", []):
            problems.append(
                f"checkov {failed['check_id']} ({failed['check_name']}) on {failed['resource']} "
                f"in {failed.get('file_path')}"
            )
    if totals["parsing_errors"] or not totals["passed"]:
        problems.append(f"checkov read nothing usable: {totals}")
    print(
        f"[check-deploy] checkov --framework kubernetes: {totals['passed']} passed, "
        f"{totals['failed']} failed, {totals['skipped']} skipped (each skip carries its reason "
        "in the manifest: checkov.io/skipN)",
        flush=True,
    )
    if done.returncode != 0 and not problems:
        problems.append(f"checkov exited {done.returncode}: {done.stderr[-500:]}")
    return problems


def check_compose() -> list[str]:
    """``docker compose config`` (or Debian's docker-compose) on deploy/compose.yaml, if either
    is installed; the tests check its contents either way."""
    compose = ROOT / "deploy" / "compose.yaml"
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        print("[check-deploy] deploy/compose.yaml: no docker compose here, not validated")
        return []
    done = subprocess.run(
        [*command, "-p", "shequ", "-f", str(compose), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"[check-deploy] deploy/compose.yaml: {' '.join(command)} config: exit {done.returncode}")
    return [f"{' '.join(command)} config: {done.stderr}"] if done.returncode else []


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    rendered: list[Path] = []
    for folder in entry_points():
        name = str(folder.relative_to(K8S)).replace("/", "-")
        try:
            docs = render(folder)
        except RuntimeError as exc:
            problems.append(str(exc))
            continue
        rendered.append(OUT / f"{name}.yaml")
        rendered[-1].write_text(yaml.safe_dump_all(docs, sort_keys=False))
        core = [doc for doc in docs if group(doc) in CORE_GROUPS]
        custom = [doc for doc in docs if group(doc) not in CORE_GROUPS]
        found = [*check_core(name, core), *check_custom_resources(custom)]
        print(
            f"[check-deploy] {folder.relative_to(ROOT)}: {len(core)} core objects "
            f"(kubernetes-validate --strict, Kubernetes {KUBERNETES_VERSION}), {len(custom)} "
            f"custom resources (deploy/k8s/schemas): "
            f"{'ok' if not found else f'{len(found)} problems'}",
            flush=True,
        )
        problems += [f"{folder.relative_to(ROOT)}: {problem}" for problem in found]
    problems += check_checkov(rendered)
    problems += check_compose()
    for problem in problems:
        print(f"[check-deploy] FAILED {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
