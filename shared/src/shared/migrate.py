"""``python -m shared.migrate <service>``: migrate a service's database to the newest revision.

Reads ``DATABASE_URL`` like the service does; used by the Kubernetes migration Job.
"""

from __future__ import annotations

import sys

from shared.migrations import upgrade
from shared.settings import ServiceSettings


def main(argv: list[str]) -> int:
    """Entry point; returns the process exit code."""
    if len(argv) != 2:
        print("usage: python -m shared.migrate <service>", file=sys.stderr)
        return 2
    service = argv[1]
    settings = ServiceSettings(service_name=service)
    upgrade(service, settings.resolved_database_url())
    print(f"{service}: database at head")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
