"""Persona computations of one shop never interleave; other shops' are not held up."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from profiles.locks import shop_personas_lock


def _hold(shop_id: int, log: list, name: str, seconds: float) -> None:
    try:
        with shop_personas_lock(shop_id):
            log.append((name, "in", time.monotonic()))
            time.sleep(seconds)
            log.append((name, "out", time.monotonic()))
    finally:
        connection.close()  # each thread has its own connection (and Postgres session)


@pytest.mark.django_db(transaction=True)
def test_the_second_computation_of_a_shop_waits_and_another_shop_does_not():
    log: list = []
    first = threading.Thread(target=_hold, args=(1, log, "first", 0.4))
    first.start()
    time.sleep(0.1)
    same_shop = threading.Thread(target=_hold, args=(1, log, "same shop", 0.0))
    other_shop = threading.Thread(target=_hold, args=(2, log, "other shop", 0.0))
    same_shop.start(), other_shop.start()
    for thread in (first, same_shop, other_shop):
        thread.join(5)
    at = {(name, edge): moment for name, edge, moment in log}
    assert at[("same shop", "in")] >= at[("first", "out")]
    assert at[("other shop", "in")] < at[("first", "out")]


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_reentrant_for_a_full_recompute_inside_an_incremental_one():
    with shop_personas_lock(7):
        with shop_personas_lock(7):
            pass
    done = threading.Event()
    threading.Thread(target=lambda: (_hold(7, [], "later", 0.0), done.set())).start()
    assert done.wait(5), "the lock was not released"
