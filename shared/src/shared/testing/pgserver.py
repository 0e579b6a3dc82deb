"""A PostgreSQL server of a test's own: ``initdb`` and ``pg_ctl`` in a temporary directory, on
another port, so a test may restart or crash it under load without touching the shared server
other tests use (``127.0.0.1:5432``).

The binaries come from ``SHEQU_PG_BIN`` or the newest ``/usr/lib/postgresql/<version>/bin``.
PostgreSQL refuses to run as root, so as root every command runs as the ``postgres`` user
(``runuser``) and the directory is handed to it. ``fsync`` is off: a crash of the server
process (``pg_ctl stop -m immediate``) still keeps every committed transaction, whose WAL was
written to the operating system before the commit returned (``synchronous_commit`` stays on;
turning it off would lose the last commits in such a crash); only a crash of the machine
would lose one, which no test does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from shared.testing import unit_guard
from shared.testing.broker import free_port, wait_for_port

PG_BIN_ENV = "SHEQU_PG_BIN"
PG_USER = "postgres"


def postgres_bin_dir() -> Path:
    """Directory of ``initdb`` and ``pg_ctl``: ``SHEQU_PG_BIN``, else the newest installed."""
    if configured := os.environ.get(PG_BIN_ENV):
        return Path(configured)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise FileNotFoundError(
        f"no pg_ctl found (install PostgreSQL's server package or set {PG_BIN_ENV})"
    )


class PrivatePostgres:
    """One PostgreSQL cluster in ``directory`` on ``port``; ``start``, ``restart``, ``crash``."""

    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        """``directory`` must be reachable by the ``postgres`` user when run as root; the
        default, a new directory under the system's temporary directory, is."""
        self.directory = directory or Path(tempfile.mkdtemp(prefix="shequ-pg-"))
        self.port = port or free_port()
        self.bin = postgres_bin_dir()
        self.data = self.directory / "data"
        self.sockets = self.directory / "sockets"
        self.log = self.directory / "postgres.log"
        self._as_root = os.geteuid() == 0

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", PG_USER, "--"] if self._as_root else []
        return subprocess.run(
            [*prefix, *command], check=check, capture_output=True, text=True, timeout=120
        )

    def _pg_ctl(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), *arguments, check=check)

    def initialise(self) -> None:
        """Create the cluster (trust authentication, superuser ``postgres``)."""
        unit_guard.refuse("PostgreSQL")
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            shutil.chown(self.directory, PG_USER)
            shutil.chown(self.sockets, PG_USER)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            PG_USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        """Start the server (initialising it first if needed) and wait until it accepts."""
        if not self.data.exists():
            self.initialise()
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.sockets}",
                "-c fsync=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
            ]
        )
        result = self._pg_ctl("-o", options, "-l", str(self.log), "-w", "-t", "60", "start")
        if result.returncode != 0:  # pragma: no cover - check=True raises first
            raise RuntimeError(result.stderr)
        wait_for_port("127.0.0.1", self.port)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (clean) or ``immediate`` (a crash, recovered on start)."""
        self._pg_ctl("-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        """Stop and start again, as ``pg_ctlcluster … restart`` does."""
        self.stop(mode)
        self.start()

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser; its output, unaligned and without headers."""
        return subprocess.run(
            [
                "psql",
                self.dsn(database),
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    def dsn(self, database: str = "postgres") -> str:
        """A libpq URL of ``database`` on this server."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create (or re-create, empty) ``name``; its ``postgresql+asyncpg://`` URL."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn(name).replace("postgresql://", "postgresql+asyncpg://", 1)

    def destroy(self) -> None:
        """Stop the server at once and delete its files."""
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
