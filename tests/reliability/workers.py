"""Real `rundramatiq` worker processes for the reliability suite: start, SIGKILL, restart, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ["profiles", "personas", "analytics", "gpu"]


def database_url() -> str:
    """The test database the test process is using, as a URL for the worker (Postgres only)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class WorkerProcess:
    """One `rundramatiq --processes 1 --threads 1` in its own process group (killpg takes its forks too)."""

    def __init__(self, *, queues: list[str] | None = None, env: dict | None = None):
        self.queues = queues or QUEUES
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.kills = 0
        self.log = open(os.environ.get("WORKER_LOG", os.devnull), "ab")  # noqa: SIM115 - closed in stop()

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": database_url(), "BROKER_URL": settings.BROKER_URL,
               "DJANGO_SETTINGS_MODULE": "tests.reliability.worker_settings", "MEDIA_ROOT": str(settings.MEDIA_ROOT),
               "EMBEDDED_WORKER": "false", "GENERATION_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1",
               **self.extra_env}
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1", "--queues",
             *self.queues], cwd=ROOT, env=env, start_new_session=True, stdout=self.log, stderr=subprocess.STDOUT)
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown hooks, no acks, no cleanup."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self.process = None

    def crash_and_restart(self) -> None:
        self.kill()
        self.kills += 1
        self.start()

    def stop(self) -> None:
        self.kill()
        self.log.close()
