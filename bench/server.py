"""The app started through its production entry point (``app.py``: gunicorn) on a free local port, for benchmarks and tests."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    base: str  # http://127.0.0.1:<port>
    log: Path  # the server's output (gunicorn's log, warnings of cli/warm.py)
    first: requests.Response  # the first answer of /login


@contextlib.contextmanager
def running(database_url: str, instance: Path, *, wait_warm: bool = False, up_timeout: float = 120,
            warm_timeout: float = 1800, **env):
    """Start ``app.py`` on 127.0.0.1, wait until it answers (and, with ``wait_warm``, until it has warmed
    the default views, as it does after every start), yield a ``Running``; stop it with gunicorn's quick
    shutdown (SIGINT: SIGTERM waits for open keep-alive connections).

    Extra keyword arguments are environment variables of the server (``CACHE_TIMEOUT="0"``…).
    """
    port = free_port()
    full = {**os.environ, "DATABASE_URL": database_url, "IAM_DEMO": "0", "HOST": "127.0.0.1", "PORT": str(port),
            "INSTANCE_DIR": str(instance), "SECRET_KEY": "local-server-" + "x" * 40, **env}
    full.pop("DEBUG", None)
    log = instance / "server.log"
    out = open(log, "w")
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=full, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        first = None
        end = time.monotonic() + up_timeout
        while first is None and time.monotonic() < end and server.poll() is None:
            try:
                first = requests.get(base + "/login", timeout=5)
            except requests.RequestException:
                time.sleep(0.5)
        if first is None:
            raise RuntimeError(f"the server did not answer in {up_timeout:.0f} s:\n{log.read_text()}")
        if wait_warm:
            t = time.monotonic()
            while "cache warmed" not in log.read_text() and time.monotonic() - t < warm_timeout:
                time.sleep(1)
            print(f"warm-up took {time.monotonic() - t:.0f} s", flush=True)
        yield Running(base, log, first)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
        out.close()
