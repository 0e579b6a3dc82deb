"""Write services/<svc>/Dockerfile from deploy/docker/Dockerfile.template.

Usage (from anywhere):
    python deploy/docker/render.py          # rewrite the five Dockerfiles
    python deploy/docker/render.py --check  # exit 1 if any Dockerfile differs from the template

The template has two placeholders: ``@SERVICE@`` (the service's import name, also its
directory and the ``shequ-<svc>`` package suffix) and ``@PORT@`` (its HTTP port).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Path(__file__).resolve().with_name("Dockerfile.template")

#: Service name -> HTTP port; the same table is in docs/deploy.md and the k8s manifests.
SERVICES: dict[str, int] = {
    "registry": 8001,
    "casework": 8002,
    "employment": 8003,
    "eldercare": 8004,
    "metrics": 8005,
}


def render(service: str, port: int) -> str:
    """The Dockerfile text of one service."""
    return TEMPLATE.read_text().replace("@SERVICE@", service).replace("@PORT@", str(port))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for service, port in SERVICES.items():
        target = ROOT / "services" / service / "Dockerfile"
        text = render(service, port)
        if target.exists() and target.read_text() == text:
            continue
        if check:
            stale.append(str(target.relative_to(ROOT)))
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print("out of date (run python deploy/docker/render.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
