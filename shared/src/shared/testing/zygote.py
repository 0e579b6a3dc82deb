"""A parent that has imported a service once and forks a fresh uvicorn process per request.

``python -m shared.testing.zygote <service>`` imports ``<service>.app`` and uvicorn, then reads
one JSON request per line on stdin, ``{"env": {...}, "port": 8001, "log": "/path"}``, forks,
and answers the child's pid on stdout. The child leads a session of its own (so a test kills
it and only it with ``killpg``), takes exactly the given environment (the settings are read
when the app is created, after the fork), appends its output to the log and serves the app.
The zygote reaps its children; it exits when stdin closes.

A process forked so is as fresh as a started one (its own sockets, database and Kafka
connections, created after the fork), but it does not spend seconds importing the service
again, which is what made restarts the slowest part of a chaos trial (gunicorn's
``preload_app`` does the same).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys


def _serve(service: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        f"{service}.app:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        access_log=False,
    )


def _child(service: str, request: dict[str, object]) -> None:
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    env = request["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update({str(key): str(value) for key, value in env.items()})
    log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    port = request["port"]
    assert isinstance(port, int)
    try:
        _serve(service, port)
    finally:
        os._exit(0)


def main(service: str) -> None:
    """Import ``service`` and fork a server per request line until stdin closes."""
    importlib.import_module(f"{service}.app")
    importlib.import_module("uvicorn")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(service, request)
        print(pid, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
