"""Run the whole platform locally: broker and five services.

``shequ dev up`` starts the Tansu broker and the five services as subprocesses (each in its own
process group, logging to ``var/log/<name>.log``, pid in ``var/run/<name>.pid``), waits until
every ``/readyz`` answers 200, loads the small synthetic city through the services' APIs
(``--city``, :mod:`shared.cli.city`; the services' own demo loaders stay off) and waits until the
metrics dashboard shows targets in every status, prints where everything is and a development
token, and stops it all on Ctrl-C. ``--detach`` returns instead, leaving the processes
running. ``shequ dev stop`` stops them from the pid files; ``shequ dev status`` says which are
running and ready. Every service is told ``ENVIRONMENT=development`` (the development token
secret and PII keys are refused without it).

The repository root is the nearest directory, from the current one upwards, whose
``pyproject.toml`` declares ``[tool.uv.workspace]``. Environment variables let a second copy run
beside a developer's (the end-to-end test does this):

- ``SHEQU_DEV_VAR_DIR``: directory for databases, logs and pid files (default ``<root>/var``);
- ``SHEQU_DEV_BROKER_PORT``: the broker's port (default 9092);
- ``SHEQU_DEV_PORT_OFFSET``: added to every service port 8001..8005 (default 0), and so to
  every metrics port 9001..9005 (each service's HTTP port + 1000, its ``METRICS_PORT``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType

import httpx
import typer

from shared.contracts.core import SCHEMA_ROUTE
from shared.settings import DEVELOPMENT_ENVIRONMENT

app = typer.Typer(
    help="Run the whole platform locally: broker and five services.",
    no_args_is_help=True,
    add_completion=False,
)

HOST = "127.0.0.1"
BROKER = "broker"
SUPERVISOR = "supervisor"
"""Pid file name of a foreground ``shequ dev up`` (``stop`` asks it to shut down first)."""

SERVICES: tuple[tuple[str, int], ...] = (
    ("registry", 8001),
    ("casework", 8002),
    ("employment", 8003),
    ("eldercare", 8004),
    ("metrics", 8005),
)
"""Each service's name (also its import package) and default HTTP port."""

SERVICE_NAMES: tuple[str, ...] = tuple(name for name, _ in SERVICES)
DEFAULT_BROKER_PORT = 9092
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0
LOG_TAIL_LINES = 40
TOKEN_TTL_S = 12 * 3600
CURL_EXAMPLE_PATH = "/areas"
CITY_SIZES = ("small", "medium", "city")
DEV_RATE_LIMIT = "100000/minute"
"""Per-token write and 404 limits of the local services, unless the shell sets them."""
CITY_SEED = 2005
TARGET_STATUSES = ("achieved", "on_track", "at_risk", "missed")

ENV_VAR_DIR = "SHEQU_DEV_VAR_DIR"
ENV_BROKER_PORT = "SHEQU_DEV_BROKER_PORT"
ENV_PORT_OFFSET = "SHEQU_DEV_PORT_OFFSET"

BROKER_STARTS_EMPTY = (
    "Note: the broker keeps nothing across restarts and starts empty; events already published "
    "from the SQLite files under var/ are not sent again (`make clean` starts afresh)."
)


class DevError(Exception):
    """A problem the user has to fix; printed without a traceback."""


class _StopRequested(Exception):
    """SIGTERM or SIGHUP arrived while ``up`` was running in the foreground."""


# --- pure parts: repository root, ports, paths, pid files ---------------------------------------


def is_workspace_root(directory: Path) -> bool:
    """Whether ``directory`` holds a ``pyproject.toml`` declaring ``[tool.uv.workspace]``."""
    pyproject = directory / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    tool = data.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return isinstance(uv, dict) and isinstance(uv.get("workspace"), dict)


def find_repo_root(start: Path) -> Path:
    """The nearest directory from ``start`` upwards that is the uv workspace root."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if is_workspace_root(candidate):
            return candidate
    raise DevError(
        f"{start} is not inside the Shequ repository (no pyproject.toml with "
        "[tool.uv.workspace] here or above); run this from the repository."
    )


def service_ports(offset: int = 0) -> dict[str, int]:
    """HTTP port of each service, in start order, shifted by ``offset``."""
    return {name: port + offset for name, port in SERVICES}


METRICS_PORT_DISTANCE = 1000
"""A service's Prometheus port is its HTTP port plus this (the settings' default too)."""


def metrics_ports(offset: int = 0) -> dict[str, int]:
    """Prometheus port of each service (``METRICS_PORT``), in start order."""
    return {name: port + METRICS_PORT_DISTANCE for name, port in service_ports(offset).items()}


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise DevError(f"{name} must be an integer, not {raw!r}") from None


def _check_port(port: int, what: str) -> None:
    if not 1 <= port <= 65535:
        raise DevError(f"{what} would be port {port}, outside 1..65535")


@dataclass(frozen=True)
class DevLayout:
    """Where a local platform keeps its files and which ports it uses."""

    root: Path
    var_dir: Path
    broker_port: int = DEFAULT_BROKER_PORT
    port_offset: int = 0

    @classmethod
    def from_env(cls, cwd: Path, environ: Mapping[str, str]) -> DevLayout:
        """The layout for the repository around ``cwd``, with the ``SHEQU_DEV_*`` overrides."""
        root = find_repo_root(cwd)
        raw_var = environ.get(ENV_VAR_DIR, "").strip()
        var_dir = (root / raw_var).resolve() if raw_var else root / "var"
        layout = cls(
            root=root,
            var_dir=var_dir,
            broker_port=_env_int(environ, ENV_BROKER_PORT, DEFAULT_BROKER_PORT),
            port_offset=_env_int(environ, ENV_PORT_OFFSET, 0),
        )
        _check_port(layout.broker_port, ENV_BROKER_PORT)
        for name, port in layout.ports.items():
            _check_port(port, f"{name} (with {ENV_PORT_OFFSET}={layout.port_offset})")
        for name, port in layout.metrics_ports.items():
            _check_port(port, f"{name} metrics (with {ENV_PORT_OFFSET}={layout.port_offset})")
        return layout

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def ports(self) -> dict[str, int]:
        """HTTP port of each service."""
        return service_ports(self.port_offset)

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.broker_port}"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def pid_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    @property
    def metrics_ports(self) -> dict[str, int]:
        """Prometheus port of each service."""
        return metrics_ports(self.port_offset)

    def url(self, service: str) -> str:
        return f"http://{HOST}:{self.ports[service]}"

    def metrics_url(self, service: str) -> str:
        return f"http://{HOST}:{self.metrics_ports[service]}/metrics"

    def database_url(self, service: str) -> str:
        """SQLite file of ``service`` under the var directory (an absolute path)."""
        return f"sqlite+aiosqlite:///{self.var_dir.resolve() / service}.db"

    def service_env(self, service: str, base: Mapping[str, str]) -> dict[str, str]:
        """Environment of ``service``'s process: ``base`` plus the settings the platform needs."""
        env = dict(base)
        env.update(
            ENVIRONMENT=DEVELOPMENT_ENVIRONMENT,
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap_servers,
            DATABASE_URL=self.database_url(service),
            HTTP_HOST=HOST,
            HTTP_PORT=str(self.ports[service]),
            METRICS_PORT=str(self.metrics_ports[service]),
            # events name schemas this copy's registry serves, whatever the port offset
            EVENTS_SCHEMA_BASE_URL=f"{self.url('registry')}{SCHEMA_ROUTE}",
            LOG_JSON="true",
            PYTHONUNBUFFERED="1",
        )
        # the services' own demo loaders stay off: `up` feeds them a synthetic city instead
        env.pop("DEMO_DATA", None)
        # the city generator writes with one token far faster than a clerk: raise its limits
        env.setdefault("RATE_LIMIT_WRITES", DEV_RATE_LIMIT)
        env.setdefault("RATE_LIMIT_NOT_FOUND", DEV_RATE_LIMIT)
        return env

    def service_command(self, service: str, python: str = sys.executable) -> list[str]:
        """The uvicorn command line that serves ``service``."""
        return [
            python,
            "-m",
            "uvicorn",
            "--factory",
            f"{service}.app:create_app",
            "--host",
            HOST,
            "--port",
            str(self.ports[service]),
        ]


def write_pid(path: Path, pid: int) -> None:
    """Write ``pid`` to ``path`` atomically, creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{pid}\n", encoding="ascii")
    tmp.replace(path)


def read_pid(path: Path) -> int | None:
    """The pid in ``path``, or ``None`` when the file is missing or does not hold one."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.isdigit() or int(text) <= 0:
        return None
    return int(text)


def remove_pid(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def tail_lines(path: Path, lines: int = LOG_TAIL_LINES, start: int = 0) -> list[str]:
    """The last ``lines`` lines of ``path`` after byte ``start`` (none if it is missing)."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read()
    except OSError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows aligned in columns under ``header``, two spaces apart, indented by two."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]


def display_path(path: Path, cwd: Path) -> str:
    """``path`` relative to ``cwd`` when it lies below it, else absolute."""
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)


# --- processes ----------------------------------------------------------------------------------


def _cmdline(pid: int) -> list[str] | None:
    """The command line of ``pid`` (Linux), or ``None`` when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return False
    # the state follows the parenthesised command name, which may itself contain ") "
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def process_running(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process; reaps it if it is our exited child."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _marker(name: str) -> str:
    """An argument the command line of ``name``'s process contains."""
    if name == BROKER:
        return "broker"
    if name == SUPERVISOR:
        return "up"
    return f"{name}.app:create_app"


def owned_pid(layout: DevLayout, name: str) -> int | None:
    """The pid of ``name`` if its pid file names a live process we started, else ``None``.

    A pid file whose process is gone, or was reused by another program, is stale.
    """
    pid = read_pid(layout.pid_path(name))
    if pid is None or not process_running(pid):
        return None
    if name != SUPERVISOR:
        # services and the broker lead their own process group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) != pid:
                return None
    cmdline = _cmdline(pid)
    if cmdline is not None and _marker(name) not in cmdline:
        return None
    return pid


def _group_signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_groups(targets: Mapping[str, int], grace_s: float = STOP_GRACE_S) -> dict[str, str]:
    """Stop each process group: SIGTERM, wait up to ``grace_s``, then SIGKILL.

    Returns how each one ended: ``"stopped"`` or ``"killed"``.
    """
    outcome: dict[str, str] = {}
    for pid in targets.values():
        _group_signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    pending = dict(targets)
    while pending:
        for name, pid in list(pending.items()):
            if not process_running(pid):
                outcome[name] = "stopped"
                del pending[name]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    for name, pid in pending.items():
        _group_signal(pid, signal.SIGKILL)
        outcome[name] = "killed"
    kill_deadline = time.monotonic() + 5.0
    while any(process_running(pid) for pid in pending.values()):
        if time.monotonic() >= kill_deadline:
            break
        time.sleep(0.05)
    return outcome


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _running(layout: DevLayout) -> dict[str, int]:
    """The broker and services with a live pid file, removing stale pid files."""
    found: dict[str, int] = {}
    for name in (*SERVICE_NAMES, BROKER):
        pid = owned_pid(layout, name)
        if pid is None:
            remove_pid(layout.pid_path(name))
        else:
            found[name] = pid
    return found


def _stop_in_order(layout: DevLayout, pids: Mapping[str, int]) -> None:
    """Stop the services in ``pids`` (all at once), then the broker; remove their pid files."""
    services = {name: pid for name, pid in pids.items() if name != BROKER}
    broker = {BROKER: pids[BROKER]} if BROKER in pids else {}
    for group in (services, broker):
        if not group:
            continue
        outcome = stop_groups(group)
        for name, pid in group.items():
            if read_pid(layout.pid_path(name)) == pid:
                remove_pid(layout.pid_path(name))
            if outcome[name] == "stopped":
                typer.echo(f"stopped {name} (pid {pid})")
            else:
                typer.echo(
                    f"killed {name} (pid {pid}): still running {STOP_GRACE_S:.0f} s after SIGTERM"
                )


def _stop_all(layout: DevLayout) -> dict[str, int]:
    """Stop whatever the pid files name; the pids of what was running."""
    running = _running(layout)
    _stop_in_order(layout, running)
    return running


def _spawn_log(path: Path, command: Sequence[str]) -> int:
    """Append a start marker to the log; the byte offset where this run's output begins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as log:
        start = log.tell()
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        log.write(f"--- shequ dev up {stamp}: {' '.join(command)}\n".encode())
    return start


def _start_broker(layout: DevLayout) -> tuple[subprocess.Popen[bytes], int]:
    from shared.testing.broker import TansuBroker

    log_path = layout.log_path(BROKER)
    offset = _spawn_log(log_path, ["tansu", "broker", layout.bootstrap_servers])
    broker = TansuBroker(port=layout.broker_port, log_path=log_path)
    try:
        broker.start()
    except TimeoutError:
        process = broker.process
        if process is not None:
            _group_signal(process.pid, signal.SIGKILL)
        _print_tail(BROKER, log_path, offset)
        raise DevError(f"the broker did not listen on {layout.bootstrap_servers}") from None
    # TansuBroker starts the broker in a session of its own (process group id = pid)
    process = broker.process
    assert process is not None
    return process, offset


def _start_service(layout: DevLayout, service: str) -> tuple[subprocess.Popen[bytes], int]:
    command = layout.service_command(service)
    log_path = layout.log_path(service)
    offset = _spawn_log(log_path, command)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=layout.root,
            env=layout.service_env(service, os.environ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, offset


def _print_tail(name: str, path: Path, offset: int) -> None:
    lines = tail_lines(path, start=offset)
    typer.echo(f"--- last {len(lines)} lines of {path} ---", err=True)
    for line in lines:
        typer.echo(f"  {line}", err=True)
    typer.echo(f"--- end of {name} log ---", err=True)


def _readyz(client: httpx.Client, url: str) -> tuple[int | None, str]:
    try:
        response = client.get(f"{url}/readyz")
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    return response.status_code, response.text.strip()[:300]


def _wait_ready(
    layout: DevLayout,
    processes: Mapping[str, subprocess.Popen[bytes]],
    offsets: Mapping[str, int],
    timeout_s: float,
) -> None:
    """Block until every service answers ``/readyz`` 200; raise :class:`DevError` otherwise."""
    started = time.monotonic()
    deadline = started + timeout_s
    pending = [name for name in SERVICE_NAMES if name in processes]
    last: dict[str, str] = {}
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for name in list(pending):
                code = processes[name].poll()
                if code is not None:
                    _print_tail(name, layout.log_path(name), offsets[name])
                    raise DevError(f"{name} exited with code {code} while starting")
                status, body = _readyz(client, layout.url(name))
                if status == 200:
                    pending.remove(name)
                    typer.echo(f"  {name} ready after {time.monotonic() - started:.1f} s")
                else:
                    last[name] = f"HTTP {status}: {body}" if status is not None else body
            if not pending:
                return
            if time.monotonic() >= deadline:
                for name in pending:
                    _print_tail(name, layout.log_path(name), offsets[name])
                    typer.echo(f"{name}: last /readyz answer: {last.get(name, '-')}", err=True)
                raise DevError(
                    f"not ready after {timeout_s:.0f} s: {', '.join(pending)} "
                    f"(logs under {layout.log_dir})"
                )
            time.sleep(0.5)


def _dev_token() -> str | None:
    from shared.auth import ALL_SCOPES, AuthConfigError, mint_token
    from shared.settings import ServiceSettings

    try:
        return mint_token(
            ServiceSettings(service_name="dev", environment=DEVELOPMENT_ENVIRONMENT),
            subject="dev",
            scopes=ALL_SCOPES,
            ttl_s=TOKEN_TTL_S,
        )
    except AuthConfigError as exc:
        typer.echo(f"(no development token: {exc})", err=True)
        return None


def _load_city(layout: DevLayout, *, size: str, seed: int) -> None:
    """Feed the synthetic city to the services (unless the registry already holds it), then
    wait until the metrics dashboard shows targets in every status."""
    from shared.city.feed import FeedError
    from shared.city.plan import CITY_ID
    from shared.cli import city

    token = city.development_token()
    urls = city.service_urls(f"http://{HOST}", layout.port_offset)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=10.0) as client:
        if client.get(f"{urls.registry}/areas/{CITY_ID}").status_code == 200:
            typer.echo(f"The register already holds the city {CITY_ID}: not loading it again.")
            return
    typer.echo(f"Loading the {size} synthetic city (seed {seed}) through the services' APIs …")
    try:
        report = city.load_city(
            urls,
            size=size,
            seed=seed,
            today=date.today(),
            token=token,
        )
    except (FeedError, httpx.HTTPError) as exc:
        raise DevError(f"the synthetic city could not be loaded: {exc}") from None
    for line in city.describe(report):
        typer.echo(line)
    statuses = city.wait_for_statuses(urls.metrics, token, frozenset(TARGET_STATUSES))
    counts = {
        status: sum(1 for s in statuses.values() if s == status) for status in TARGET_STATUSES
    }
    typer.echo(
        "Targets on the dashboard: "
        + ", ".join(f"{status.replace('_', ' ')} {count}" for status, count in counts.items())
        + f"  ({urls.metrics}/dashboard)"
    )


def _print_summary(layout: DevLayout, cwd: Path) -> None:
    rows = [
        [BROKER, layout.bootstrap_servers, "-", "-", display_path(layout.log_path(BROKER), cwd)]
    ]
    for name in SERVICE_NAMES:
        url = layout.url(name)
        log = display_path(layout.log_path(name), cwd)
        rows.append([name, url, f"{url}/docs", layout.metrics_url(name), log])
    typer.echo("")
    typer.echo(f"Shequ is running (data in {display_path(layout.var_dir, cwd)}/):")
    for line in format_table(["SERVICE", "URL", "DOCS", "METRICS", "LOG"], rows):
        typer.echo(line)
    typer.echo("")
    typer.echo(BROKER_STARTS_EMPTY)
    token = _dev_token()
    if token is not None:
        typer.echo("")
        typer.echo(f"Development token (every scope, valid {TOKEN_TTL_S // 3600} h):")
        typer.echo(f"  export SHEQU_TOKEN={token}")
        typer.echo(
            f'  curl -H "Authorization: Bearer $SHEQU_TOKEN" '
            f"{layout.url('registry')}{CURL_EXAMPLE_PATH}"
        )


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    # one stop is enough: a second Ctrl-C (or uv forwarding the first) must not interrupt it
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise _StopRequested(signal.Signals(signum).name)


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """Turn Ctrl-C, SIGTERM and SIGHUP into one :class:`_StopRequested` while the block runs."""
    previous = {sig: signal.signal(sig, _raise_stop) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Ignore Ctrl-C, SIGTERM and SIGHUP while the block (an orderly stop) runs."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_started(layout: DevLayout, processes: Mapping[str, subprocess.Popen[bytes]]) -> None:
    """Stop the processes this ``up`` started."""
    _stop_in_order(layout, {name: process.pid for name, process in processes.items()})


def _supervise(layout: DevLayout, processes: Mapping[str, subprocess.Popen[bytes]]) -> None:
    """Wait in the foreground, reporting processes that exit, until all are gone."""
    alive = dict(processes)
    while alive:
        time.sleep(1.0)
        for name, process in list(alive.items()):
            code = process.poll()
            if code is None:
                continue
            del alive[name]
            if layout.pid_path(name).exists():
                remove_pid(layout.pid_path(name))
                typer.echo(f"{name} exited with code {code}; see {layout.log_path(name)}", err=True)
    typer.echo("Every process has exited.")


def _preflight(layout: DevLayout) -> None:
    running = _running(layout)
    if owned_pid(layout, SUPERVISOR) is None:
        remove_pid(layout.pid_path(SUPERVISOR))
    if running:
        listed = ", ".join(f"{name} (pid {pid})" for name, pid in running.items())
        raise DevError(f"already running: {listed}; run `shequ dev stop` (or `make stop`) first")
    busy = [f"{layout.broker_port} (broker)"] if port_in_use(layout.broker_port) else []
    busy += [f"{port} ({name})" for name, port in layout.ports.items() if port_in_use(port)]
    busy += [
        f"{port} ({name} metrics)"
        for name, port in layout.metrics_ports.items()
        if port_in_use(port)
    ]
    if busy:
        raise DevError(
            f"{'port' if len(busy) == 1 else 'ports'} {', '.join(busy)} already in use on {HOST}; "
            "stop whatever listens there "
            f"(another `make dev`?), or set {ENV_BROKER_PORT} / {ENV_PORT_OFFSET}"
        )


def _layout() -> DevLayout:
    try:
        return DevLayout.from_env(Path.cwd(), os.environ)
    except DevError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(code=1) from None


# --- commands -----------------------------------------------------------------------------------


@app.command()
def up(
    detach: bool = typer.Option(
        False, "--detach", "-d", help="Return once everything is ready, leaving it running."
    ),
    timeout: float = typer.Option(
        READY_TIMEOUT_S, "--timeout", min=1.0, help="Seconds to wait for every /readyz."
    ),
    city: str = typer.Option(
        "small",
        "--city",
        help="The synthetic city to load once ready (small, medium, city) or none; "
        "skipped when the register already holds it.",
    ),
    seed: int = typer.Option(CITY_SEED, "--seed", help="Seed of the synthetic city."),
) -> None:
    """Start the broker and the five services, load the small city; stop all on Ctrl-C."""
    if city not in (*CITY_SIZES, "none"):
        raise typer.BadParameter(f"one of {', '.join(CITY_SIZES)}, none", param_hint="'--city'")
    layout = _layout()
    cwd = Path.cwd()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    offsets: dict[str, int] = {}
    leave_running = False
    with _stop_signals():
        try:
            _preflight(layout)
            for directory in (layout.var_dir, layout.log_dir, layout.run_dir):
                directory.mkdir(parents=True, exist_ok=True)
            typer.echo(f"Starting the broker on {layout.bootstrap_servers} …")
            processes[BROKER], offsets[BROKER] = _start_broker(layout)
            write_pid(layout.pid_path(BROKER), processes[BROKER].pid)
            typer.echo(f"Starting {', '.join(SERVICE_NAMES)} …")
            for name in SERVICE_NAMES:
                processes[name], offsets[name] = _start_service(layout, name)
                write_pid(layout.pid_path(name), processes[name].pid)
            _wait_ready(layout, processes, offsets, timeout)
            if city != "none":
                _load_city(layout, size=city, seed=seed)
            _print_summary(layout, cwd)
            if detach:
                leave_running = True
                typer.echo(
                    "\nRunning in the background; `shequ dev stop` (or `make stop`) stops it."
                )
                return
            write_pid(layout.pid_path(SUPERVISOR), os.getpid())
            typer.echo("\nPress Ctrl-C to stop everything.")
            _supervise(layout, processes)
        except DevError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(code=1) from None
        except (KeyboardInterrupt, _StopRequested):
            typer.echo("\nStopping …")
        finally:
            if processes and not leave_running:
                with _signals_ignored():
                    _stop_started(layout, processes)
                    remove_pid(layout.pid_path(SUPERVISOR))


@app.command()
def stop() -> None:
    """Stop the broker and services started by `shequ dev up` (from var/run/*.pid)."""
    layout = _layout()
    supervisor = owned_pid(layout, SUPERVISOR)
    if supervisor is not None:
        before = _running(layout)
        typer.echo(f"asking `shequ dev up` (pid {supervisor}) to stop everything …")
        with contextlib.suppress(ProcessLookupError):
            os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + 2 * STOP_GRACE_S + 10.0
        while process_running(supervisor) and time.monotonic() < deadline:
            time.sleep(0.1)
        for name, pid in before.items():
            if not layout.pid_path(name).exists():
                typer.echo(f"stopped {name} (pid {pid})")
    remove_pid(layout.pid_path(SUPERVISOR))
    stopped = _stop_all(layout)
    if supervisor is None and not stopped:
        typer.echo("nothing to stop: no broker or service of `shequ dev up` is running")


@app.command()
def status() -> None:
    """Say which of the broker and services are running and ready; exit 1 unless all are."""
    layout = _layout()
    cwd = Path.cwd()
    rows: list[list[str]] = []
    all_ok = True
    pid = owned_pid(layout, BROKER)
    if pid is None:
        all_ok = False
        rows.append([BROKER, "-", "not running", layout.bootstrap_servers])
    else:
        listening = port_in_use(layout.broker_port)
        all_ok &= listening
        state = "running" if listening else "running, not listening"
        rows.append([BROKER, str(pid), state, layout.bootstrap_servers])
    with httpx.Client(timeout=2.0) as client:
        for name in SERVICE_NAMES:
            pid = owned_pid(layout, name)
            url = layout.url(name)
            if pid is None:
                all_ok = False
                rows.append([name, "-", "not running", url])
                continue
            code, body = _readyz(client, url)
            if code == 200:
                rows.append([name, str(pid), "ready", url])
            else:
                all_ok = False
                answer = f"HTTP {code}: {body}" if code is not None else body
                rows.append([name, str(pid), f"running, not ready ({answer})", url])
    for line in format_table(["NAME", "PID", "STATE", "ADDRESS"], rows):
        typer.echo(line)
    supervisor = owned_pid(layout, SUPERVISOR)
    if supervisor is not None:
        typer.echo(f"(supervised by `shequ dev up`, pid {supervisor})")
    typer.echo(f"logs: {display_path(layout.log_dir, cwd)}/")
    if not all_ok:
        raise typer.Exit(code=1)
