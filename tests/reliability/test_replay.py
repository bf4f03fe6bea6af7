"""Replay (issue 8, item 1): simulated events sent once, then replayed twice in a row and twice from
16 concurrent clients, over real HTTP. Event rows, daily revenue and persona versions must not move.

Each concurrent round has every client send the whole event set in its own order and batch sizes,
so every event arrives 16 times at once. The rollup and persona workers run to completion after
every round (an in-process dramatiq worker on the configured broker)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from analytics.rollup import daily_stats_rebuild
from profiles.models import Event, Persona
from profiles.services import api_key_create
from shop_ai_connect.client import ShopAIClient
from shop_ai_connect.client import ShopAIUnavailable
from tests.reliability.live import (
    dead_letters, drain, events_snapshot, personas_snapshot, rabbitmq_vhost, revenue_snapshot,  # noqa: F401
    simulated_store, stale_customers,
)

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
CLIENTS = 16


class Sender:
    """Sends batches without the client's own retries, so a 5xx is counted before it is retried."""

    def __init__(self, url: str, key: str):
        self.url, self.key = url, key
        self.accepted = self.duplicates = self.rejected = self.errors_5xx = 0
        self.latencies: list[float] = []
        self._lock = threading.Lock()

    def send(self, events: list[dict], *, batch_size: int = 500, seed: int | None = None) -> None:
        rng = random.Random(seed)
        with ShopAIClient(self.url, self.key, timeout=120, retries=0) as client:
            offset = 0
            while offset < len(events):
                size = batch_size if seed is None else rng.randint(50, batch_size)
                self._send_batch(client, events[offset:offset + size])
                offset += size

    def _send_batch(self, client: ShopAIClient, batch: list[dict]) -> None:
        for _ in range(5):
            start = time.perf_counter()
            try:
                answer = client.send_events(batch)
            except ShopAIUnavailable as exc:
                with self._lock:
                    self.errors_5xx += exc.status >= 500
                continue
            with self._lock:
                self.latencies.append(time.perf_counter() - start)
                self.accepted += answer.accepted
                self.duplicates += answer.duplicates
                self.rejected += len(answer.rejected)
            return
        raise AssertionError("a batch failed 5 times in a row")

    def concurrently(self, events: list[dict], clients: int, seed: int) -> None:
        def one(index: int) -> None:
            rng = random.Random(seed * 100 + index)
            mine = events[:]
            rng.shuffle(mine)
            barrier.wait()
            self.send(mine, seed=seed * 100 + index)

        barrier = threading.Barrier(clients)
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, range(clients)))

    def p95_ms(self) -> float:
        ranked = sorted(self.latencies)
        return 1000 * ranked[int(0.95 * (len(ranked) - 1))] if ranked else 0.0


def state(shop) -> dict:
    return {"events": events_snapshot(shop), "revenue": revenue_snapshot(shop), "personas": personas_snapshot(shop)}


def run_replay(shop, url, broker, worker, reliability, size: int) -> None:
    key = api_key_create(shop=shop).raw_key
    events = simulated_store(shop, events=size)
    first = Sender(url, key)
    first.send(events)
    drain(broker, worker)
    before = state(shop)
    assert first.accepted == len(events) and first.rejected == 0
    assert Persona.objects.filter(shop=shop, is_new_visitors=False).exists(), "no personas to keep stable"

    replays, changed = Sender(url, key), []
    for round_number in range(4):
        if round_number < 2:
            replays.send(events)
        else:
            replays.concurrently(events, CLIENTS, seed=round_number)
        drain(broker, worker)
        after = state(shop)
        changed += [f"round {round_number + 1}: {name}" for name in before if after[name] != before[name]]

    stored = Event.objects.filter(shop=shop).count()
    replayed = 2 * len(events) + 2 * CLIENTS * len(events)
    revenue = revenue_snapshot(shop)
    daily_stats_rebuild(shop=shop)
    exact_rollup = revenue_snapshot(shop) == revenue
    passed = (not changed and stored == len(events) and replays.accepted == 0 and replays.duplicates == replayed
              and exact_rollup and stale_customers(shop) == 0 and dead_letters(broker) == 0)
    reliability(sent=len(events), stored=stored, lost=len(events) - stored, duplicated=replays.accepted,
                errors_5xx=first.errors_5xx + replays.errors_5xx, p95_ms=replays.p95_ms(), passed=passed,
                notes=f"{replayed:,} replayed events (2 sequential rounds + 2 rounds of {CLIENTS} concurrent "
                      f"clients each sending all): {replays.duplicates:,} answered duplicates; "
                      f"{len(before['revenue'])} revenue rows, {len(before['personas']['personas'])} personas "
                      f"unchanged: {not changed}" + (f" ({', '.join(changed)})" if changed else "")
                      + f"; rollup == full recount: {exact_rollup}")
    assert not changed, changed
    assert stored == len(events) and replays.accepted == 0 and replays.duplicates == replayed
    assert exact_rollup and stale_customers(shop) == 0 and dead_letters(broker) == 0


def test_replays_change_nothing(shop, live_server, broker, worker, reliability):
    run_replay(shop, live_server.url, broker, worker, reliability, size=1_000)


@pytest.mark.reliability_full
def test_replays_change_nothing_10k(shop, live_server, broker, worker, reliability):
    run_replay(shop, live_server.url, broker, worker, reliability, size=10_000)


def test_concurrent_first_sends_store_and_count_each_event_once(shop, live_server, broker, worker, reliability):
    """16 clients race with the same new events: one row each, and `accepted` sums to the unique count."""
    key = api_key_create(shop=shop).raw_key
    events = simulated_store(shop, events=1_000, seed=12)
    sender = Sender(live_server.url, key)
    sender.concurrently(events, CLIENTS, seed=1)
    drain(broker, worker)
    stored = Event.objects.filter(shop=shop).count()
    revenue = revenue_snapshot(shop)
    daily_stats_rebuild(shop=shop)
    exact_rollup = revenue_snapshot(shop) == revenue
    passed = stored == sender.accepted == len(events) and exact_rollup and dead_letters(broker) == 0
    reliability(sent=len(events), stored=stored, lost=len(events) - stored, duplicated=sender.accepted - stored,
                errors_5xx=sender.errors_5xx, p95_ms=sender.p95_ms(), passed=passed,
                notes=f"{CLIENTS} clients each sent all {len(events)} new events at once; accepted summed to "
                      f"{sender.accepted}; rollup == full recount: {exact_rollup}")
    assert stored == sender.accepted == len(events)
    assert exact_rollup and dead_letters(broker) == 0
