"""Where the CPU went: CPU seconds (user + system) of every process, read from /proc.

Take a `cpu_snapshot()` before and after a measured stretch and `spent()` gives each process's
seconds between the two; callers group them (gunicorn, workers, Postgres, RabbitMQ, the rest).
Used by benchmarks/ingest.py and the load test (tests/reliability/test_load.py).
"""

from __future__ import annotations

import os
from typing import NamedTuple

TICKS = os.sysconf("SC_CLK_TCK")
RABBITMQ_COMMANDS = ("beam.smp", "erl_child_setup", "epmd", "inet_gethost")


class ProcessTime(NamedTuple):
    comm: str  # the command name, as ps shows it
    ppid: int
    pgid: int  # process group: a server started in a session of its own shares one with its children
    seconds: float  # CPU seconds since the process started


def cpu_snapshot() -> dict[int, ProcessTime]:
    snapshot = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                raw = handle.read().decode(errors="replace")
        except OSError:  # gone since listdir
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        snapshot[int(entry)] = ProcessTime(comm, int(fields[1]), int(fields[2]),
                                           (int(fields[11]) + int(fields[12])) / TICKS)
    return snapshot


def spent(before: dict[int, ProcessTime], after: dict[int, ProcessTime]) -> dict[int, tuple[ProcessTime, float]]:
    """{pid: (the process, CPU seconds it used between the snapshots)}; a process new since `before`
    (or a reused pid with another command) counts from its start."""
    used = {}
    for pid, now in after.items():
        then = before.get(pid)
        used[pid] = (now, now.seconds - then.seconds if then and then.comm == now.comm else now.seconds)
    return used


def is_postgres(comm: str) -> bool:
    return comm.startswith("postgres") or comm.startswith("postmaster")


def is_rabbitmq(comm: str) -> bool:
    return comm in RABBITMQ_COMMANDS or comm.startswith("1_scheduler")


def foreign_backends(database_url: str) -> set[int]:
    """Postgres backends serving other databases: whatever else runs on this machine, not us."""
    import psycopg

    name = database_url.rstrip("/").rsplit("/", 1)[1]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                            "AND datname IS DISTINCT FROM %s", [name]).fetchall()
    return {pid for (pid,) in rows}
