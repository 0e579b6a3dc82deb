"""Build the service images offline, and check that they run.

Usage (from the repository root; `make images` / `make check-images` call it):
    uv run --frozen python deploy/docker/images.py engine         # start dockerd if needed
    uv run --frozen python deploy/docker/images.py base           # the local base image
    uv run --frozen python deploy/docker/images.py wheelhouse [svc ...]
    uv run --frozen python deploy/docker/images.py build [svc ...]
    uv run --frozen python deploy/docker/images.py check [svc ...]

``wheelhouse`` is the only step that needs a package index: per service it exports the locked
third-party requirements with their hashes (``uv export``), downloads those wheels and pip's own
(``pip download``, cached by pip), and builds the two workspace wheels (``uv build``) into
``var/wheelhouse/<svc>/``. ``build`` uses that directory as the Docker build context, so the
image build itself reaches no network. ``base`` makes ``shequ/base-python:3.11-bookworm`` with
``debootstrap`` from Debian's packages when no registry is at hand; ``BASE_IMAGE`` (environment)
picks another base, e.g. ``python:3.11-slim``. ``check`` builds, then starts each image with
``--network host`` against a Tansu broker and a fresh PostgreSQL database, read-only, with every
capability dropped, and checks the migration command, ``/readyz``, the uid and the
HEALTHCHECK. Every step is idempotent and quick when nothing changed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from render import SERVICES  # noqa: E402  (deploy/docker/render.py: service -> port)

WHEELHOUSE = ROOT / "var" / "wheelhouse"
DOCKER_STATE = ROOT / "var" / "docker"
#: pip runs from its wheel inside the builder stage (never installed into the image's venv).
PIP_VERSION = "24.3.1"
BASE_IMAGE = os.environ.get("BASE_IMAGE", "shequ/base-python:3.11-bookworm")
LOCAL_BASE = "shequ/base-python:3.11-bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
#: Debian packages of the local base: the interpreter, CA certificates (TLS to Kafka and the
#: identity provider), time zones (the metrics service's TIMEZONE) and /etc/services.
BASE_PACKAGES = ("python3.11", "ca-certificates", "tzdata", "netbase")
#: Trimmed from the base after debootstrap: documentation, package lists, caches.
BASE_TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "var/cache/apt",
    "var/lib/apt/lists",
)
IMAGE_TAG = os.environ.get("IMAGE_TAG", "dev")
DOCKERD_FLAGS = ("--iptables=false", "--bridge=none", "--data-root=/var/lib/docker")
READY_TIMEOUT_S = 90.0


def log(message: str) -> None:
    print(f"[images] {message}", flush=True)


def run(command: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command, echoing it; raise with its output when it fails."""
    log("$ " + " ".join(command))
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def quiet(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def image_name(service: str) -> str:
    return f"shequ/{service}:{IMAGE_TAG}"


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------


def engine_running() -> bool:
    return quiet(["docker", "info", "--format", "{{.ServerVersion}}"]).returncode == 0


def ensure_engine() -> None:
    """Start dockerd in the background if no engine answers (needs root and Debian's docker.io).

    Tries the overlay2 storage driver, then vfs (slow, but works on any filesystem).
    """
    if engine_running():
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise SystemExit(
            "no Docker engine answers and dockerd is not installed (apt-get install docker.io)"
        )
    if os.geteuid() != 0:
        raise SystemExit("no Docker engine answers; starting dockerd needs root")
    DOCKER_STATE.mkdir(parents=True, exist_ok=True)
    for driver in ("overlay2", "vfs"):
        log_path = DOCKER_STATE / f"dockerd-{driver}.log"
        log(f"starting dockerd (storage driver {driver}, log {log_path})")
        with log_path.open("ab") as out:
            process = subprocess.Popen(
                [dockerd, *DOCKERD_FLAGS, f"--storage-driver={driver}"],
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            if engine_running():
                (DOCKER_STATE / "dockerd.pid").write_text(str(process.pid))
                return
            time.sleep(0.5)
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        log(f"dockerd did not start with {driver}: {log_path.read_text()[-2000:]}")
    raise SystemExit("dockerd did not start (see var/docker/dockerd-*.log)")


def build_env() -> dict[str, str]:
    """The legacy builder when the buildx plugin is absent (Debian's docker.io has none)."""
    env = dict(os.environ)
    if quiet(["docker", "buildx", "version"]).returncode != 0:
        env["DOCKER_BUILDKIT"] = "0"
    return env


# ---------------------------------------------------------------------------------------------
# the local base image
# ---------------------------------------------------------------------------------------------


def base_recipe() -> str:
    """A fingerprint of how the base is made: a changed recipe makes a new base."""
    text = json.dumps([BASE_PACKAGES, BASE_TRIM, "bookworm", "minbase"])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def image_label(image: str, label: str) -> str | None:
    done = quiet(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", image])
    if done.returncode != 0:
        return None
    labels = json.loads(done.stdout or "null") or {}
    value = labels.get(label)
    return value if isinstance(value, str) else ""


def ensure_base() -> None:
    """Make the local base image with debootstrap unless it exists with the same recipe.

    Another ``BASE_IMAGE`` (e.g. python:3.11-slim) is used as it is: it must be present or
    pullable.
    """
    if BASE_IMAGE != LOCAL_BASE:
        return
    recipe = base_recipe()
    if image_label(LOCAL_BASE, "org.shequ.base.recipe") == recipe:
        log(f"{LOCAL_BASE} is up to date (recipe {recipe})")
        return
    if shutil.which("debootstrap") is None:
        raise SystemExit("debootstrap is not installed (apt-get install debootstrap)")
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var", prefix="base-") as scratch:
        target = Path(scratch) / "root"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                "bookworm",
                str(target),
                DEBIAN_MIRROR,
            ],
            stdout=subprocess.DEVNULL,
        )
        for relative in BASE_TRIM:
            shutil.rmtree(target / relative, ignore_errors=True)
        (target / "var" / "lib" / "apt" / "lists").mkdir(parents=True, exist_ok=True)
        changes = [
            "ENV LANG=C.UTF-8",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            f"LABEL org.shequ.base.recipe={recipe}",
            'CMD ["python3.11"]',
        ]
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(target), "-c", "."], stdout=subprocess.PIPE
        )
        command = ["docker", "import"]
        for change in changes:
            command += ["--change", change]
        run([*command, "-", LOCAL_BASE], stdin=tar.stdout, stdout=subprocess.DEVNULL)
        if tar.wait() != 0:
            raise SystemExit("tar of the debootstrap tree failed")
    log(f"made {LOCAL_BASE} (recipe {recipe})")


# ---------------------------------------------------------------------------------------------
# the wheelhouse
# ---------------------------------------------------------------------------------------------


def uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    return found


def pip_command() -> list[str]:
    """A pinned pip run by uv in its own environment (the workspace venv has no pip)."""
    return [uv(), "tool", "run", "--python", "3.11", "--from", f"pip=={PIP_VERSION}", "pip"]


def fetch(requirements: Path, target: Path) -> None:
    """The wheels of a hashed requirements file into ``target``, via a shared pool.

    The pool (var/wheelhouse/pool) is filled from the index once; every service then copies
    from it without the network (``--no-index``), hashes checked both times.
    """
    pool = WHEELHOUSE / "pool"
    pool.mkdir(parents=True, exist_ok=True)
    pip = [*pip_command(), "--disable-pip-version-check", "download", "--quiet", "--no-deps"]
    pip += ["--only-binary=:all:", "--require-hashes", "-r", str(requirements)]
    local = [*pip, "--no-index", "--find-links", str(pool), "-d", str(target)]
    if quiet(local).returncode == 0:
        log(f"wheels of {requirements.relative_to(ROOT)} taken from the pool")
        return
    run([*pip, "-d", str(pool)])
    run(local)


def fetch_pip(target: Path) -> None:
    """pip's own wheel as ``target/pip.whl`` (the builder runs ``python pip.whl/pip``)."""
    pool = WHEELHOUSE / "pool"
    wheel = pool / f"pip-{PIP_VERSION}-py3-none-any.whl"
    if not wheel.exists():
        pip = [*pip_command(), "--disable-pip-version-check", "download", "--quiet"]
        run([*pip, "--only-binary=:all:", "--no-deps", f"pip=={PIP_VERSION}", "-d", str(pool)])
    shutil.copyfile(wheel, target / "pip.whl")


def make_wheelhouse(service: str) -> Path:
    """``var/wheelhouse/<svc>``: requirements.txt (hashes), wheels/, workspace/, tools/pip.whl."""
    out = WHEELHOUSE / service
    for part in ("wheels", "workspace", "tools"):
        (out / part).mkdir(parents=True, exist_ok=True)
    requirements = out / "requirements.txt"
    run(
        [
            uv(),
            "export",
            "--frozen",
            "--no-dev",
            "--package",
            f"shequ-{service}",
            "--no-emit-workspace",
            "--format",
            "requirements-txt",
            "--quiet",
            "-o",
            str(requirements),
        ],
        cwd=ROOT,
    )
    # The downloads are skipped when this exact requirements file was fetched before.
    stamp = out / "downloaded.sha256"
    fingerprint = hashlib.sha256(requirements.read_bytes() + PIP_VERSION.encode()).hexdigest()
    if not stamp.exists() or stamp.read_text() != fingerprint:
        fetch(requirements, out / "wheels")
        fetch_pip(out / "tools")
        stamp.write_text(fingerprint)
    # Only the wheels the requirements name stay (an older lock's leftovers would bloat the
    # build context; pip ignores them anyway).
    wanted = {
        line.split("==")[0].strip().lower().replace("-", "_")
        for line in requirements.read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    for wheel in (out / "wheels").glob("*.whl"):
        if wheel.name.split("-")[0].lower() not in wanted:
            wheel.unlink()
    for wheel in (out / "workspace").glob("*.whl"):
        wheel.unlink()
    for package in ("shequ-shared", f"shequ-{service}"):
        run(
            [
                uv(),
                "build",
                "--quiet",
                "--wheel",
                "--package",
                package,
                "-o",
                str(out / "workspace"),
            ],
            cwd=ROOT,
        )
    return out


# ---------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------


def render_check() -> None:
    run([sys.executable, str(ROOT / "deploy" / "docker" / "render.py"), "--check"])


def build(service: str) -> str:
    context = make_wheelhouse(service)
    image = image_name(service)
    run(
        [
            "docker",
            "build",
            # No network for the build's RUN steps: the wheelhouse must be enough.
            "--network",
            "none",
            "--quiet",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "--label",
            "org.opencontainers.image.source=shequ",
            "-f",
            str(ROOT / "services" / service / "Dockerfile"),
            "-t",
            image,
            str(context),
        ],
        env=build_env(),
        stdout=subprocess.DEVNULL,
    )
    log(f"built {image}")
    return image


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------


def container_env(env: dict[str, str]) -> list[str]:
    return [item for name, value in env.items() for item in ("-e", f"{name}={value}")]


#: How every check container runs: what the Kubernetes manifests require of the pods.
HARDENED = (
    "--network",
    "host",
    "--read-only",
    "--tmpfs",
    "/tmp",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
)


def wait_ready(port: int, container: str) -> dict[str, object]:
    """Poll /readyz until it answers 200; fail with the container's log otherwise."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                body: dict[str, object] = json.loads(answer.read())
                return body
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read()[:300]!r}"
        except (OSError, ValueError) as exc:
            last = repr(exc)
        state = quiet(
            ["docker", "inspect", "--format", "{{.State.Status}}", container]
        ).stdout.strip()
        if state not in ("running", "created"):
            break
        time.sleep(1)
    logs = quiet(["docker", "logs", "--tail", "40", container])
    raise AssertionError(f"{container}: /readyz not ready ({last})\n{logs.stdout}{logs.stderr}")


def wait_healthy(container: str, timeout_s: float = 90.0) -> str:
    deadline = time.monotonic() + timeout_s
    status = ""
    while time.monotonic() < deadline:
        status = quiet(
            ["docker", "inspect", "--format", "{{.State.Health.Status}}", container]
        ).stdout.strip()
        if status in ("healthy", "unhealthy"):
            return status
        time.sleep(1)
    return status


@contextlib.contextmanager
def started(name: str, image: str, env: dict[str, str], *command: str) -> Iterator[str]:
    quiet(["docker", "rm", "-f", name])
    run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            *HARDENED,
            "--health-interval",
            "2s",
            *container_env(env),
            image,
            *command,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield name
    finally:
        # A graceful stop: the relay gives its lease back, as in a Kubernetes rollout.
        quiet(["docker", "stop", "-t", "10", name])
        quiet(["docker", "rm", "-f", name])


def manifest_workloads(service: str) -> dict[str, dict[str, object]]:
    """Component -> the container of the service's Deployments and Job in deploy/k8s/base."""
    import yaml

    folder = ROOT / "deploy" / "k8s" / "base" / service
    found: dict[str, dict[str, object]] = {}
    for name in ("deployments.yaml", "migrate-job.yaml"):
        for doc in yaml.safe_load_all((folder / name).read_text()):
            if doc:
                component = doc["metadata"]["labels"]["app.kubernetes.io/component"]
                found[component] = doc["spec"]["template"]["spec"]["containers"][0]
    return found


def on_port(command: list[str], port: int) -> list[str]:
    """A Deployment's command with its ``--port`` moved (the host network is shared)."""
    moved = list(command)
    moved[moved.index("--port") + 1] = str(port)
    return moved


#: Log lines proving what a role runs, and what it must not: (expected, forbidden).
ROLE_MARKERS = {
    "relay": ("relay leadership acquired", "consumer started"),
    "consumer": ("consumer started", "relay leadership"),
}


def wait_for_log(container: str, expected: str, timeout_s: float = 40.0) -> str:
    """The container's log once it holds ``expected`` (or at the deadline)."""
    deadline = time.monotonic() + timeout_s
    while True:
        done = quiet(["docker", "logs", container])
        text = done.stdout + done.stderr
        if expected in text or time.monotonic() > deadline:
            return text
        time.sleep(1)


def check_roles(service: str, image: str, env: dict[str, str]) -> list[str]:
    """Start the relay and consumer Deployments' commands and role switches from the
    manifests in the image; each must become ready and run its part only (its log says)."""
    from shared.testing.broker import free_port

    problems = []
    for role, container in manifest_workloads(service).items():
        if role in ("api", "migration"):
            continue
        port = free_port()
        switches = {
            str(item["name"]): str(item["value"])
            for item in container["env"]  # type: ignore[attr-defined]
            if item["name"] in ("RELAY_ENABLED", "CONSUMER_ENABLED", "JOBS_ENABLED")
        }
        command = on_port(container["command"], port)  # type: ignore[arg-type]
        role_env = {**env, **switches, "HTTP_PORT": str(port), "METRICS_PORT": str(free_port())}
        try:
            with started(f"shequ-check-{service}-{role}", image, role_env, *command) as name:
                body = wait_ready(port, name)
                flags = " ".join(f"{key}={value}" for key, value in switches.items())
                log(f"{service}-{role} ({flags}): /readyz {body}")
                expected, forbidden = ROLE_MARKERS[role]
                text = wait_for_log(name, expected)
                if expected not in text:
                    problems.append(f"{service}-{role}: no {expected!r} in its log")
                if forbidden in text:
                    problems.append(f"{service}-{role}: {forbidden!r} in its log")
        except AssertionError as exc:
            problems.append(f"{service}: the {role} Deployment's command: {exc}")
    return problems


def check_service(service: str, image: str, bootstrap: str) -> list[str]:
    """Run one image as Kubernetes would; return what went wrong (empty: all good)."""
    from shared.testing.broker import free_port
    from shared.testing.postgres import create_database, drop_database

    problems: list[str] = []
    database = create_database(prefix=f"shequ_image_{service}")
    try:
        port, metrics_port = free_port(), free_port()
        env = {
            "ENVIRONMENT": "development",
            "DATABASE_URL": database,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "HTTP_PORT": str(port),
            "UVICORN_PORT": str(port),
            "METRICS_PORT": str(metrics_port),
            "MIGRATE_ON_START": "false",
            "DEMO_DATA": "false",
        }
        # The migration Job's command (deploy/k8s), on the read-only filesystem.
        job = manifest_workloads(service)["migration"]["command"]
        migrate = subprocess.run(
            ["docker", "run", "--rm", *HARDENED, *container_env(env), image, *job],  # type: ignore[misc]
            capture_output=True,
            text=True,
            check=False,
        )
        if migrate.returncode != 0:
            return [f"{service}: migration failed: {migrate.stderr[-1500:]}"]
        # The image's own command (CMD: the API, as docker compose runs it).
        with started(f"shequ-check-{service}", image, env) as container:
            try:
                body = wait_ready(port, container)
            except AssertionError as exc:
                return [f"{service}: {exc}"]
            log(f"{service}: /readyz {body}")
            # What the PodMonitors scrape: Prometheus' text on METRICS_PORT.
            try:
                url = f"http://127.0.0.1:{metrics_port}/metrics"
                with urllib.request.urlopen(url, timeout=5) as answer:
                    if "shequ_" not in answer.read().decode():
                        problems.append(f"{service}: no shequ_ metric on METRICS_PORT")
            except OSError as exc:
                problems.append(f"{service}: METRICS_PORT does not answer: {exc!r}")
            uid = quiet(["docker", "exec", container, "id", "-u"]).stdout.strip()
            if uid == "0" or not uid.isdigit():
                problems.append(f"{service}: runs as uid {uid!r}")
            config_user = quiet(
                ["docker", "image", "inspect", "--format", "{{.Config.User}}", image]
            ).stdout.strip()
            if config_user.split(":")[0] in ("", "0", "root"):
                problems.append(f"{service}: image USER is {config_user!r}")
            write = quiet(["docker", "exec", container, "touch", "/app/written"])
            if write.returncode == 0:
                problems.append(f"{service}: the root filesystem is writable")
            health = wait_healthy(container)
            if health != "healthy":
                problems.append(f"{service}: HEALTHCHECK says {health!r}")
            # No compiler, no uv, and no pip in the service's venv (python:3.11-slim itself
            # ships a pip outside it).
            for tool in ("gcc", "cc", "uv", "/app/.venv/bin/pip"):
                found = quiet(["docker", "exec", container, "sh", "-c", f"command -v {tool}"])
                if found.returncode == 0:
                    problems.append(f"{service}: {tool} in the final image")
        problems += check_roles(service, image, env)
    finally:
        drop_database(database)
    return problems


def check(services: Sequence[str]) -> int:
    from shared.testing.broker import TansuBroker

    started_at = time.monotonic()
    ensure_engine()
    ensure_base()
    render_check()
    images = {service: build(service) for service in services}
    problems: list[str] = []
    DOCKER_STATE.mkdir(parents=True, exist_ok=True)
    with TansuBroker(log_path=DOCKER_STATE / "tansu.log") as broker:
        for service, image in images.items():
            found = check_service(service, image, broker.bootstrap_servers)
            problems += found
            log(f"{service}: {'ok' if not found else 'FAILED'}")
    for problem in problems:
        print(f"[images] FAILED {problem}", file=sys.stderr)
    log(
        f"check-images: {len(services) - len({p.split(':')[0] for p in problems})}"
        f"/{len(services)} images ok in {time.monotonic() - started_at:.0f} s"
    )
    return 1 if problems else 0


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=["engine", "base", "wheelhouse", "build", "check"])
    parser.add_argument("services", nargs="*", help=f"default: all of {', '.join(SERVICES)}")
    args = parser.parse_args(argv)
    services: list[str] = args.services or list(SERVICES)
    unknown = set(services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown services: {sorted(unknown)}")
    if args.step == "engine":
        ensure_engine()
    elif args.step == "base":
        ensure_engine()
        ensure_base()
    elif args.step == "wheelhouse":
        for service in services:
            make_wheelhouse(service)
    elif args.step == "build":
        ensure_engine()
        ensure_base()
        render_check()
        for service in services:
            build(service)
    else:
        return check(services)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
