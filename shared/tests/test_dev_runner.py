"""Unit tests for the pure parts of ``shequ dev`` (no processes, no network)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.cli import dev
from shared.cli.dev import (
    DevError,
    DevLayout,
    display_path,
    find_repo_root,
    format_table,
    read_pid,
    remove_pid,
    service_ports,
    tail_lines,
    write_pid,
)

WORKSPACE_PYPROJECT = """\
[project]
name = "demo"

[tool.uv.workspace]
members = ["shared", "services/*"]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A directory that looks like the workspace root."""
    root = tmp_path / "repo"
    (root / "services" / "registry").mkdir(parents=True)
    (root / "pyproject.toml").write_text(WORKSPACE_PYPROJECT)
    return root


# --- ports ---------------------------------------------------------------------------------------


def test_service_ports_default_is_8001_to_8005_in_start_order() -> None:
    assert service_ports() == {
        "registry": 8001,
        "casework": 8002,
        "employment": 8003,
        "eldercare": 8004,
        "metrics": 8005,
    }


def test_service_ports_shift_by_offset() -> None:
    ports = service_ports(1000)
    assert list(ports.values()) == [9001, 9002, 9003, 9004, 9005]
    assert list(ports) == list(dev.SERVICE_NAMES)


def test_layout_defaults(repo: Path) -> None:
    layout = DevLayout.from_env(repo, {})
    assert layout.root == repo.resolve()
    assert layout.var_dir == repo.resolve() / "var"
    assert layout.broker_port == 9092
    assert layout.bootstrap_servers == "127.0.0.1:9092"
    assert layout.ports["metrics"] == 8005
    assert layout.url("registry") == "http://127.0.0.1:8001"


def test_layout_reads_the_overrides(repo: Path, tmp_path: Path) -> None:
    var = tmp_path / "elsewhere"
    layout = DevLayout.from_env(
        repo,
        {
            "SHEQU_DEV_VAR_DIR": str(var),
            "SHEQU_DEV_BROKER_PORT": "19999",
            "SHEQU_DEV_PORT_OFFSET": "100",
        },
    )
    assert layout.var_dir == var
    assert layout.bootstrap_servers == "127.0.0.1:19999"
    assert layout.ports == {
        "registry": 8101,
        "casework": 8102,
        "employment": 8103,
        "eldercare": 8104,
        "metrics": 8105,
    }
    assert layout.log_path("broker") == var / "log" / "broker.log"
    assert layout.pid_path("casework") == var / "run" / "casework.pid"


def test_relative_var_dir_is_below_the_repository_root(repo: Path) -> None:
    layout = DevLayout.from_env(repo / "services", {"SHEQU_DEV_VAR_DIR": "tmp/var"})
    assert layout.var_dir == repo.resolve() / "tmp" / "var"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SHEQU_DEV_PORT_OFFSET", "ten", "must be an integer"),
        ("SHEQU_DEV_BROKER_PORT", "70000", "outside 1..65535"),
        ("SHEQU_DEV_PORT_OFFSET", "60000", "outside 1..65535"),
    ],
)
def test_bad_overrides_are_refused(repo: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(DevError, match=message):
        DevLayout.from_env(repo, {name: value})


# --- what each service gets ----------------------------------------------------------------------


def test_service_environment(repo: Path, tmp_path: Path) -> None:
    layout = DevLayout.from_env(
        repo, {"SHEQU_DEV_VAR_DIR": str(tmp_path / "v"), "SHEQU_DEV_PORT_OFFSET": "10"}
    )
    base = {
        "PATH": "/usr/bin",
        "KAFKA_BOOTSTRAP_SERVERS": "elsewhere:9092",
        "ENVIRONMENT": "production",
    }
    env = layout.service_env("casework", base)
    assert env["PATH"] == "/usr/bin"
    assert env["ENVIRONMENT"] == "development"  # said explicitly: the default refuses dev keys
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert env["DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'v' / 'casework.db'}"
    assert env["DATABASE_URL"].startswith("sqlite+aiosqlite:////")  # absolute path
    assert env["HTTP_PORT"] == "8012"
    assert env["LOG_JSON"] == "true"
    assert env["EVENTS_SCHEMA_BASE_URL"] == "http://127.0.0.1:8011/schemas/events"  # its registry
    for service in ("registry", "casework", "employment", "eldercare", "metrics"):
        # no service loads its own demo: `up` feeds them the small synthetic city
        assert "DEMO_DATA" not in layout.service_env(service, {**base, "DEMO_DATA": "true"})
    assert base["ENVIRONMENT"] == "production"  # the caller's mapping is left alone


def test_the_printed_token_is_a_development_one_whatever_the_shell_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.auth import TokenVerifier
    from shared.settings import ServiceSettings

    monkeypatch.setenv("ENVIRONMENT", "production")  # `make dev` is development regardless
    token = dev._dev_token()
    assert token is not None
    services = ServiceSettings(service_name="registry", environment="development")
    assert TokenVerifier(services).verify(token).subject == "dev"


def test_service_command_runs_the_app_factory_with_uvicorn(repo: Path) -> None:
    layout = DevLayout.from_env(repo, {"SHEQU_DEV_PORT_OFFSET": "2"})
    assert layout.service_command("eldercare", python="/py") == [
        "/py",
        "-m",
        "uvicorn",
        "--factory",
        "eldercare.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        "8006",
    ]


# --- pid files -----------------------------------------------------------------------------------


def test_pid_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run" / "registry.pid"
    write_pid(path, 4242)
    assert path.read_text() == "4242\n"
    assert read_pid(path) == 4242
    write_pid(path, 4343)
    assert read_pid(path) == 4343
    assert sorted(p.name for p in path.parent.iterdir()) == ["registry.pid"]


@pytest.mark.parametrize("content", ["", "abc", "-5", "0", "12 34", "\xff"])
def test_unreadable_pid_files_hold_no_pid(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.pid"
    path.write_text(content, encoding="latin-1")
    assert read_pid(path) is None


def test_missing_pid_file(tmp_path: Path) -> None:
    assert read_pid(tmp_path / "missing.pid") is None
    remove_pid(tmp_path / "missing.pid")  # idempotent


def test_remove_pid(tmp_path: Path) -> None:
    path = tmp_path / "broker.pid"
    write_pid(path, 1)
    remove_pid(path)
    assert not path.exists()


def test_a_pid_file_naming_a_dead_process_is_stale(repo: Path, tmp_path: Path) -> None:
    layout = DevLayout.from_env(repo, {"SHEQU_DEV_VAR_DIR": str(tmp_path / "v")})
    # pid_max is at most 2**22 on Linux: this pid cannot exist
    write_pid(layout.pid_path("registry"), 2**22 + 1)
    assert dev.owned_pid(layout, "registry") is None


def test_a_pid_file_naming_a_foreign_process_is_stale(repo: Path, tmp_path: Path) -> None:
    layout = DevLayout.from_env(repo, {"SHEQU_DEV_VAR_DIR": str(tmp_path / "v")})
    # the test process itself is alive but is not a registry started by `shequ dev up`
    write_pid(layout.pid_path("registry"), os.getpid())
    assert dev.owned_pid(layout, "registry") is None


# --- repository root -----------------------------------------------------------------------------


def test_repo_root_is_found_from_a_subdirectory(repo: Path) -> None:
    assert find_repo_root(repo / "services" / "registry") == repo.resolve()
    assert find_repo_root(repo) == repo.resolve()


def test_a_member_pyproject_is_not_the_root(repo: Path) -> None:
    member = repo / "services" / "registry"
    (member / "pyproject.toml").write_text('[project]\nname = "shequ-registry"\n')
    assert find_repo_root(member) == repo.resolve()


def test_no_workspace_root_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("this is [not toml")
    with pytest.raises(DevError, match="not inside the Shequ repository"):
        find_repo_root(tmp_path)


def test_this_repository_is_a_workspace_root() -> None:
    root = find_repo_root(Path(__file__).parent)
    assert (root / "shared" / "src" / "shared" / "cli" / "dev.py").is_file()


# --- output helpers ------------------------------------------------------------------------------


def test_format_table_aligns_columns() -> None:
    lines = format_table(["A", "BB"], [["long value", "x"], ["s", "yy"]])
    assert lines == [
        "  A           BB",
        "  long value  x",
        "  s           yy",
    ]


def test_tail_lines_reads_from_an_offset(tmp_path: Path) -> None:
    log = tmp_path / "svc.log"
    log.write_text("old run\n")
    start = log.stat().st_size
    with log.open("a") as handle:
        handle.writelines(f"line {i}\n" for i in range(50))
    assert tail_lines(log, 3, start) == ["line 47", "line 48", "line 49"]
    assert tail_lines(log, 100, start)[0] == "line 0"
    assert tail_lines(tmp_path / "missing.log") == []


def test_display_path(tmp_path: Path) -> None:
    assert display_path(tmp_path / "var" / "log", tmp_path) == "var/log"
    assert display_path(Path("/elsewhere/x"), tmp_path) == "/elsewhere/x"
