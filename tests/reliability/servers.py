"""Real gunicorn servers for the reliability tests (ports 8730-8739), on the test database.

The test must commit its data (`transactional_db`) so the server processes see it, and stop the
servers before the test database is flushed or dropped (`with serving(...)`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8730, 8740)


def database_url() -> str:
    """The test database, as a DATABASE_URL for another process."""
    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or "postgres"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{conf.get('HOST') or '127.0.0.1'}:{conf.get('PORT') or 5432}/{conf['NAME']}"


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@contextmanager
def serving(*, workers: int = 1, env: dict | None = None, log: Path):
    """gunicorn on a free port of 127.0.0.1 with production-like settings; yields the port."""
    port = free_port()
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop_ai.settings", "DATABASE_URL": database_url(),
                   "BROKER_URL": "stub://", "EMBEDDED_WORKER": "false", "DEBUG": "false",
                   "SECRET_KEY": "reliability-test-" + os.urandom(16).hex(), "SECURE_SSL_REDIRECT": "false",
                   "ALLOWED_HOSTS": "127.0.0.1,localhost", "DB_CONN_MAX_AGE": "0", "LOG_LEVEL": "WARNING",
                   "PYTHONUNBUFFERED": "1", **(env or {})}
    command = [sys.executable, "-m", "gunicorn", "shop_ai.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--timeout", "60", "--log-level", "warning"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        _wait_listening(process, port, log)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_listening(process, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on {port} within {timeout} s")


def raw_exchange(port: int, payload: bytes, *, read_timeout: float = 30) -> tuple[int, dict, bytes]:
    """Send bytes as they are (a lying Content-Length, chunks) and read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading it all; the answer is still there
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", 0))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body
