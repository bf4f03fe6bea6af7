"""One persona computation per shop at a time, across threads, worker processes and machines.

A full re-cluster and an incremental assignment of the same shop must not interleave: each reads
the personas the other is rewriting. Postgres: a session-level advisory lock (released when the
work ends or the process dies; not a transaction, so ingestion never waits on the recompute's
writes). SQLite (one process, the embedded set-up): a re-entrant lock per shop.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.db import connection

PERSONAS_LOCK_SPACE = 0x5A1  # first key of the two-key advisory lock; the shop id is the second
_guard = threading.Lock()
_local_locks: dict[int, threading.RLock] = {}


def _local_lock(shop_id: int) -> threading.RLock:
    with _guard:
        return _local_locks.setdefault(shop_id, threading.RLock())


@contextmanager
def shop_personas_lock(shop_id: int):
    if connection.vendor != "postgresql":
        with _local_lock(shop_id):
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [PERSONAS_LOCK_SPACE, shop_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [PERSONAS_LOCK_SPACE, shop_id])
