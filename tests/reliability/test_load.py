"""Load (issue 8, item 9): locust, headless and bounded, against the ingestion API on 127.0.0.1 with
the persona and rollup workers running. Checked: error rate < 0.1 %, the queues drained within
2 minutes after the load, stored events == unique events sent, revenue rows == a full recount.

The target is twice the sustained rate benchmarks/ingest.py measured on this machine (batch API
≈ 20,000 events/s, single-event API ≈ 380 requests/s) for 5 minutes, offered by locust at a
constant rate per user; what the server reached is measured, and a shortfall fails the row rather
than lowering the target. locust runs as a subprocess: it patches the standard library with gevent.
The fast version is a smoke run of the same harness at a low rate (live server, in-process worker).
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import dramatiq
import pika
import pytest
from django.db import OperationalError, connection
from django.db.models import Count
from django.utils import timezone

from analytics.rollup import daily_stats_rebuild
from benchmarks.cpu import cpu_snapshot, foreign_backends, is_postgres, is_rabbitmq, spent
from profiles.ingestion import storage
from profiles.ingestion.services import events_ingest
from profiles.locks import shop_personas_lock
from profiles.models import Customer, CustomerProfile, Event, PersonaClustering
from profiles.personas import services as personas_services
from profiles.personas.services import personas_recompute_full
from profiles.services import (
    ProductRow, api_key_create, customers_mark_profiled, customers_mark_stale, products_import,
)
from tests.reliability.live import (
    BIN, ROOT, database_url, dead_letters, drain, dramatiq_workers, gunicorn, needs_postgres_and_rabbitmq,  # noqa: F401
    post_raw,
    post_request, rabbitmq_outstanding, rabbitmq_vhost, revenue_snapshot, stale_customers,
)

pytestmark = [pytest.mark.django_db(transaction=True)]
LOCUSTFILE = ROOT / "tests" / "reliability" / "locustfile.py"
BENCH_BATCH_EVENTS_PER_S, BENCH_SINGLE_REQ_PER_S = 20_000, 380  # benchmarks/ingest.py, measured sustained
DRAIN_LIMIT_S = 120
MAX_ERROR_RATE = 0.001


def catalogue(shop, products: int) -> None:
    products_import(shop=shop, rows=[ProductRow(f"p{n}", f"祥云折扇 {n}", category="fan", price=Decimal("68.00"),
                                                tags=("祥云", "折扇")) for n in range(products)])


def seed_history(shop, customers: int, products: int) -> None:
    """A shop that already has its personas: every customer with a little history, clustered."""
    rng, now = random.Random(5), timezone.now()
    texts = ("扇面的祥云图案很精致。", "包装很用心，颜色好看。", "做工一般，边角毛糙。", "书签的书法字很有味道。")
    history = [{"event_id": f"seed-{n}-{k}", "type": kind, "customer_id": f"c{n}",
                "product_id": f"p{rng.randrange(products)}",
                "occurred_at": (now - timedelta(days=rng.randint(4, 30))).isoformat(),
                **({"text": rng.choice(texts), "rating": rng.randint(1, 5)} if kind == "review" else {})}
               for n in range(customers) for k, kind in enumerate(("view", "review"))]
    for start in range(0, len(history), 500):
        events_ingest(shop=shop, raw_events=history[start:start + 500], source="simulator")
    personas_recompute_full(shop=shop)
    daily_stats_rebuild(shop=shop)


def run_locust(tmp_path: Path, url: str, key: str, *, seconds: int, batch_users: int, batch_rate: float,
               batch_size: int, single_users: int, single_rate: float, customers: int, products: int) -> dict:
    env = {**os.environ, "LOAD_API_KEY": key, "LOAD_RUN": f"load{random.randrange(10**6)}",
           "LOAD_RESULT": str(tmp_path / "sent.json"), "LOAD_BATCH_USERS": str(batch_users),
           "LOAD_BATCH_RATE": str(batch_rate), "LOAD_BATCH_SIZE": str(batch_size),
           "LOAD_SINGLE_USERS": str(single_users), "LOAD_SINGLE_RATE": str(single_rate),
           "LOAD_CUSTOMERS": str(customers), "LOAD_PRODUCTS": str(products)}
    users = batch_users + single_users
    args = [str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users),
            "-t", f"{seconds}s", "--stop-timeout", "10", "--host", url, "--csv", str(tmp_path / "load"),
            "--only-summary", "--loglevel", "WARNING"]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=seconds + 180)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # locust has exited by now, so /proc no longer shows it: its CPU comes from its rusage.
    cpu_seconds = children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
    assert (tmp_path / "sent.json").exists(), done.stderr[-3000:]
    with open(tmp_path / "load_stats.csv", encoding="utf-8") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    return {"sent": json.loads((tmp_path / "sent.json").read_text(encoding="utf-8")), "stats": rows,
            "seconds": seconds, "exit": done.returncode, "cpu_seconds": cpu_seconds}


def resend_pending(port: int, key: str, pending: list) -> int:
    """What locust had not seen acknowledged (failed, or cut by the end of the run), sent again."""
    for path, body in pending:
        status, _ = post_raw(port, post_request(port, key, path, body.encode()))
        assert status in (200, 201), status
    return len(pending)


def wait_drained(shop, limit: float, broker=None, worker=None) -> float | None:
    """Seconds until every profiles/analytics message is handled and no customer waits for a persona
    refresh; None if that takes longer than `limit`."""
    start = time.monotonic()
    if worker is not None:  # in-process worker
        try:
            drain(broker, worker, timeout=limit)
        except Exception:  # noqa: BLE001 - QueueJoinTimeout of whichever broker
            return None
        return time.monotonic() - start
    quiet, backlog = 0, []
    while time.monotonic() - start < limit:
        refresh_open = PersonaClustering.objects.filter(shop=shop, refresh_requested_at__isnull=False).exists()
        queues = rabbitmq_outstanding()
        backlog.append((round(time.monotonic() - start), {k: v for k, v in queues.items() if v}, stale_customers(shop)))
        quiet = quiet + 1 if not sum(queues.values()) and not backlog[-1][2] and not refresh_open else 0
        if quiet == 2:
            if backlog[-1][0] > DRAIN_LIMIT_S:  # late: which queue was still behind at the limit, and last
                at_limit = next(sample for sample in backlog if sample[0] >= DRAIN_LIMIT_S)
                print("backlog while draining (late):", backlog[0], at_limit, backlog[-3])
            return time.monotonic() - start
        time.sleep(1)
    # What was left, for the report: (seconds after the load, messages per queue, stale customers).
    print("backlog while draining:", backlog[0], backlog[len(backlog) // 2], backlog[-1])
    return None


def cpu_by_part(before: dict, after: dict, workers: dict[str, int], foreign: set[int],
                locust: float = 0.0) -> dict[str, float]:
    """CPU seconds between two snapshots: gunicorn, each worker (by the process group its session
    started), the test database's Postgres backends, RabbitMQ, locust (given: it has exited), this
    test, and the rest."""
    parts = dict.fromkeys(["gunicorn", *workers, "postgres", "rabbitmq", "this test", "other"], 0.0)
    parts["locust"] = locust
    worker_of_group = {group: name for name, group in workers.items()}
    for pid, (process, seconds) in spent(before, after).items():
        if process.comm == "gunicorn":
            part = "gunicorn"
        elif process.pgid in worker_of_group:
            part = worker_of_group[process.pgid]
        elif is_postgres(process.comm):
            part = "other" if pid in foreign else "postgres"
        elif is_rabbitmq(process.comm):
            part = "rabbitmq"
        else:
            part = "this test" if pid == os.getpid() else "other"
        parts[part] += seconds
    return {part: round(seconds, 1) for part, seconds in parts.items()}


def cpu_note(cpu: dict[str, tuple[dict[str, float], float]]) -> str:
    """'CPU seconds during the load (612 available): gunicorn 250.1, …' for each {phase: (parts, wall seconds)}."""
    cores = os.cpu_count() or 1
    return "; ".join(f"CPU seconds during the {phase} ({wall * cores:,.0f} available): "
                     + ", ".join(f"{part} {value:,.1f}" for part, value in parts.items())
                     for phase, (parts, wall) in cpu.items())


def judge(shop, reliability, result: dict, *, drained: float | None, targets: dict | None, resent: int,
          label: str, seeded: int = 0, cpu: dict | None = None) -> None:
    sent, stats = result["sent"], result["stats"]
    total = stats["Aggregated"]
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    error_rate = failures / requests if requests else 1.0
    stored = Event.objects.filter(shop=shop).count() - seeded
    revenue = revenue_snapshot(shop)
    daily_stats_rebuild(shop=shop)
    exact_rollup = revenue_snapshot(shop) == revenue
    behind = profiles_behind(shop)
    reached = _rates(stats, result)
    fast_enough = targets is None or all(reached[name] >= 0.95 * target for name, target in targets.items())
    in_time = drained is not None and drained <= DRAIN_LIMIT_S
    passed = (error_rate < MAX_ERROR_RATE and in_time and stored == sent["events"] and exact_rollup
              and behind == 0 and sent["rejected"] == 0 and fast_enough)
    rates = ", ".join(f"{name} {reached[name]:,.0f}" + (f" of {targets[name]:,.0f} targeted" if targets else "")
                      for name in reached)
    reliability(sent=sent["events"], stored=stored, lost=max(0, sent["events"] - stored),
                duplicated=max(0, stored - sent["events"]), errors_5xx=_server_errors(result),
                p95_ms=float(total["95%"]),
                passed=passed,
                notes=f"{label}: {requests:,} requests, {failures} failed ({100 * error_rate:.3f} %), reached {rates}; "
                      f"queues drained in " + (f"{drained:.0f} s" if drained is not None else "(not within the wait)")
                      + f" (limit {DRAIN_LIMIT_S} s)"
                      + f"; {resent} unacknowledged requests re-sent; rollup == full recount: {exact_rollup}; "
                      f"profiles missing events: {behind}"
                      + ("" if fast_enough else "; TARGET RATE NOT REACHED on this machine")
                      + (f"; {cpu_note(cpu)}" if cpu else ""))
    assert error_rate < MAX_ERROR_RATE, total
    assert stored == sent["events"] and sent["rejected"] == 0
    assert in_time, f"the queues drained in {drained} s, not within {DRAIN_LIMIT_S} s"
    assert exact_rollup and behind == 0
    assert fast_enough, f"reached {rates}"


def _rates(stats: dict, result: dict) -> dict:
    batch_size = result.get("batch_size", 500)
    return {"batch events/s": float(stats["batch"]["Requests/s"]) * batch_size if "batch" in stats else 0.0,
            "single requests/s": float(stats["single"]["Requests/s"]) if "single" in stats else 0.0}


def _server_errors(result: dict) -> int:
    path = Path(result.get("csv_dir", ".")) / "load_failures.csv"
    if not path.exists():
        return 0
    with open(path, encoding="utf-8") as failures:
        return sum(int(row["Occurrences"]) for row in csv.DictReader(failures) if "HTTP 5" in row["Error"])


def test_load_smoke(shop, live_server, broker, worker, reliability, tmp_path):
    """The harness end to end at a low rate: locust, workers, drain, exact counts (seconds, not minutes)."""
    key = api_key_create(shop=shop).raw_key
    catalogue(shop, 20)
    before_load, load_started = cpu_snapshot(), time.monotonic()
    result = run_locust(tmp_path, live_server.url, key, seconds=8, batch_users=1, batch_rate=2, batch_size=100,
                        single_users=1, single_rate=10, customers=200, products=20)
    foreign = foreign_backends(database_url()) if connection.vendor == "postgresql" else set()
    load = cpu_by_part(before_load, cpu_snapshot(), {}, foreign, locust=result["cpu_seconds"])
    # The live server and the worker run in this test's process; locust in its own.
    assert load["locust"] > 0 and load["this test"] > 0, load
    result.update(batch_size=100, csv_dir=str(tmp_path))
    port = urlsplit(live_server.url).port
    resent = resend_pending(port, key, result["sent"]["pending"])
    drained = wait_drained(shop, DRAIN_LIMIT_S, broker, worker)
    assert dead_letters(broker) == 0
    judge(shop, reliability, result, drained=drained, targets=None, resent=resent,
          cpu={"load": (load, time.monotonic() - load_started)},
          label="smoke at ~200 events/s + 10 req/s for 8 s (not the 2x target: see the full test)")


def purge_queues() -> None:
    """Empty this run's queues; after minutes idle (or a broker restart) the connection may be gone."""
    broker = dramatiq.get_broker()
    try:
        broker.flush_all()
    except pika.exceptions.AMQPError:
        del broker.connection
        broker.flush_all()


@pytest.mark.reliability_full
@needs_postgres_and_rabbitmq
def test_load_twice_the_benchmark_rate_for_5_minutes(shop, reliability, tmp_path):
    customers, products = 5_000, 1_000
    key = api_key_create(shop=shop).raw_key
    catalogue(shop, products)
    seed_history(shop, customers, products)
    seeded = Event.objects.filter(shop=shop).count()
    purge_queues()  # the seed's own messages: its customers are profiled already
    targets = {"batch events/s": 2 * BENCH_BATCH_EVENTS_PER_S, "single requests/s": 2 * BENCH_SINGLE_REQ_PER_S}
    # Constant rate per user; enough users that each waits on the server, not on its pacing.
    batch_users, single_users = 16, 24
    # One worker process per queue, as production runs them: sharing one process's threads, rollups
    # waiting for their shop's rollup lock held every thread and starved the profiles queue, and so
    # did the persona recompute, holding the process's GIL.
    with gunicorn(tmp_path) as port, dramatiq_workers(tmp_path, queues=("profiles",), threads=2) as profiles, \
            dramatiq_workers(tmp_path, queues=("personas",), threads=2) as personas, \
            dramatiq_workers(tmp_path, queues=("analytics",), threads=2) as analytics:
        before_load, load_started = cpu_snapshot(), time.monotonic()
        result = run_locust(tmp_path, f"http://127.0.0.1:{port}", key, seconds=300,
                            batch_users=batch_users, batch_rate=targets["batch events/s"] / 500 / batch_users,
                            batch_size=500, single_users=single_users,
                            single_rate=targets["single requests/s"] / single_users,
                            customers=customers, products=products)
        after_load, load_ended = cpu_snapshot(), time.monotonic()
        foreign = foreign_backends(database_url())  # other databases' backends, while ours still run
        result.update(batch_size=500, csv_dir=str(tmp_path))
        resent = resend_pending(port, key, result["sent"]["pending"])
        drained = wait_drained(shop, 3 * DRAIN_LIMIT_S)  # past the limit too, to report how long it took
        after_drain, drain_ended = cpu_snapshot(), time.monotonic()
        for workers in (profiles, personas, analytics):
            assert workers.proc.poll() is None, workers.tail()
    worker_groups = {"profiles worker": profiles.proc.pid, "personas worker": personas.proc.pid,
                     "analytics worker": analytics.proc.pid}
    cpu = {"load": (cpu_by_part(before_load, after_load, worker_groups, foreign, locust=result["cpu_seconds"]),
                    load_ended - load_started),
           "drain": (cpu_by_part(after_load, after_drain, worker_groups, foreign), drain_ended - load_ended)}
    try:
        judge(shop, reliability, result, drained=drained, targets=targets, resent=resent, seeded=seeded, cpu=cpu,
              label="gunicorn 2x8 threads, rundramatiq profiles, personas and analytics 1x2 threads each, 300 s")
    finally:
        purge_queues()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: Postgres (SQLite writes one at a time)")
def test_ingestion_and_the_profiles_worker_never_deadlock_on_customers(shop, broker, reliability):
    """The full load run hit `deadlock detected` (500s): ingestion locked customer rows in id order,
    the profiles worker's multi-row updates in whatever order the table scan met them. Here both run
    at once on customers whose rows are scattered over the table, as they are after a while."""
    catalogue(shop, 5)
    now = timezone.now().isoformat()
    first = [{"event_id": f"v{n}", "type": "view", "customer_id": f"c{n}", "product_id": "p0", "occurred_at": now}
             for n in range(400)]
    events_ingest(shop=shop, raw_events=first)
    ids = list(Customer.objects.filter(shop=shop).values_list("id", flat=True))
    rng = random.Random(3)
    for _ in range(2):  # new row versions in random order: the heap no longer follows the ids
        for customer_id in rng.sample(ids, len(ids)):
            Customer.objects.filter(id=customer_id).update(last_seen_at=timezone.now())
    errors: list[str] = []

    def ingest(number: int) -> None:
        rng = random.Random(number)
        for batch in range(15):
            events = [{"event_id": f"t{number}-{batch}-{k}", "type": "view", "customer_id": f"c{n}",
                       "product_id": "p0", "occurred_at": now} for k, n in enumerate(rng.sample(range(400), 200))]
            events_ingest(shop=shop, raw_events=events)

    def profiles_worker(number: int) -> None:
        rng = random.Random(100 + number)
        for _ in range(15):
            customers_mark_stale(shop_id=shop.id, customer_ids=rng.sample(ids, 200))
            profiled = rng.sample(ids, 200)
            counts = Event.objects.filter(customer_id__in=profiled).values_list("customer_id").annotate(Count("id"))
            customers_mark_profiled(shop_id=shop.id, event_counts={pk: 0 for pk in profiled} | dict(counts))

    def run(work, number: int) -> None:
        try:
            work(number)
        except OperationalError as exc:
            errors.append(str(exc).splitlines()[0])
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        jobs = [(ingest, n) for n in range(3)] + [(profiles_worker, n) for n in range(3)]
        list(pool.map(lambda job: run(*job), jobs))
    reliability(sent=400 + 3 * 15 * 200, stored=Event.objects.filter(shop=shop).count(), errors_5xx=len(errors),
                passed=not errors, notes=f"3 ingesting threads and 3 profile-marking threads on 400 customers; "
                                         f"deadlocks: {len(errors)}")
    assert not errors, errors


def profiles_behind(shop) -> int:
    """Customers whose profile does not count all their events (or who have none), once all is drained."""
    counted = dict(CustomerProfile.objects.filter(shop=shop).values_list("customer_id", "event_count"))
    events = Event.objects.filter(shop=shop).values_list("customer_id").annotate(n=Count("id"))
    return sum(counted.get(customer_id, -1) != n for customer_id, n in events)


def test_an_event_arriving_during_a_refresh_keeps_its_customer_stale(shop, broker, reliability):
    """Under load, events reach customers whose refresh is already under way. The refresh read their
    events before; clearing their stale mark anyway would leave the new event out of their profile
    until they happened to send another."""
    catalogue(shop, 2)
    now = timezone.now().isoformat()
    event = {"type": "view", "customer_id": "c1", "product_id": "p0", "occurred_at": now}
    events_ingest(shop=shop, raw_events=[{"event_id": "before", **event}])
    customers_mark_stale(shop_id=shop.id, customer_ids=list(Customer.objects.values_list("id", flat=True)))
    read_signals = personas_services.customer_signals

    def signals_then_a_new_event(**kwargs):
        signals = read_signals(**kwargs)
        events_ingest(shop=shop, raw_events=[{"event_id": "during", **event}])  # committed mid-refresh
        return signals

    with mock.patch.object(personas_services, "customer_signals", signals_then_a_new_event):
        personas_services.personas_refresh_stale(shop_id=shop.id)
    still_stale = stale_customers(shop)
    reliability(sent=2, stored=Event.objects.filter(shop=shop).count(), passed=still_stale == 1,
                notes=f"an event stored between the refresh's read and its write: customer still stale: "
                      f"{bool(still_stale)}")
    assert still_stale == 1
    personas_services.personas_refresh_stale(shop_id=shop.id)
    assert profiles_behind(shop) == 0 and stale_customers(shop) == 0


class Deadlock(Exception):
    sqlstate = "40P01"  # as psycopg's DeadlockDetected has it


def test_a_batch_chosen_as_a_deadlock_victim_is_run_again(shop, broker, reliability):
    """Postgres resolves a deadlock by rolling one transaction back; the batch is then retried once
    more instead of answering 500 (the full load run met one in ~5,000 batches)."""
    catalogue(shop, 2)
    now = timezone.now().isoformat()
    events = [{"event_id": f"e{n}", "type": "view", "customer_id": f"c{n}", "product_id": "p0", "occurred_at": now}
              for n in range(3)]
    insert, calls = storage.events_insert, []  # it also locks and touches the customers

    def deadlocked_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from Deadlock()
        return insert(**kwargs)

    with mock.patch.object(storage, "events_insert", deadlocked_once):
        result = events_ingest(shop=shop, raw_events=events)
    stored = Event.objects.filter(shop=shop).count()
    reliability(sent=3, stored=stored, passed=result.accepted == stored == 3 and len(calls) == 2,
                notes=f"first attempt a deadlock victim; accepted {result.accepted} on attempt {len(calls)}")
    assert result.accepted == stored == 3 and len(calls) == 2


def test_a_refresh_waiting_for_the_personas_lock_keeps_the_window_claimed(shop, broker, reliability):
    """The full load run left 2,500 messages on the profiles queue: each refresh re-opened the
    debounce window before waiting for the shop's personas lock, so events arriving meanwhile
    scheduled one more refresh to wait behind it, until every worker thread was waiting."""
    catalogue(shop, 2)
    now = timezone.now().isoformat()
    events_ingest(shop=shop, raw_events=[{"event_id": "e", "type": "view", "customer_id": "c", "product_id": "p0",
                                          "occurred_at": now}])
    assert personas_services.persona_refresh_request(shop_id=shop.id)
    holding, release = threading.Event(), threading.Event()

    def running_refresh() -> None:  # holds the lock, as a long recompute does
        with shop_personas_lock(shop.id):
            holding.set()
            release.wait(30)
        connection.close()

    def waiting_refresh() -> None:
        personas_services.personas_refresh_stale(shop_id=shop.id)
        connection.close()

    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(running_refresh)
        holding.wait(10)
        waiting = pool.submit(waiting_refresh)
        time.sleep(1)  # the second refresh is now waiting for the lock
        another = personas_services.persona_refresh_request(shop_id=shop.id)
        release.set()
        running.result(), waiting.result()
    reliability(passed=not another, notes=f"a refresh requested while one waits for the lock: scheduled {another}")
    assert not another, "a refresh waiting for the lock re-opened the window: more refreshes pile up behind it"
    assert stale_customers(shop) == 0
