#!/usr/bin/env python
"""Revenue rollup benchmark (issue 8, the analytics queue stalling under load): one run, one table.

1. Recreates a Postgres database (`shop_ai_bench_rollup`), migrates it, and stores one shop's
   events: `--products` products × 2 days, `--events` events in each (product, day) cell (views,
   carts, purchases, refunds from 2,000 customers).
2. Recount time of every cell, median of `--repeats`: the Python path (every event streamed into
   Python and summed with Decimal: what Postgres ran before) against the SQL path (one query).
   Both must return the same totals, or the run fails.
3. Lock wait: all cells are noted as pending, then one thread drains them as the `events_rollup`
   actor does while another notes one of those cells again every 10 ms, as the other analytics
   thread does under load, and pg_locks is sampled. Before: the drain as it was (its cells' pending
   rows deleted before a Python count, 2,000 cells a transaction); after: the drain as it is.

Run:  .venv/bin/python benchmarks/rollup.py [--products 100] [--events 500] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "shop_ai_bench_rollup"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
os.environ["BROKER_URL"] = "stub://"
os.environ["DJANGO_SETTINGS_MODULE"] = "shop_ai.settings"
os.environ["EMBEDDED_WORKER"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")

OLD_CELLS_PER_DRAIN = 2000
CUSTOMERS = 2000
KINDS = ["view"] * 12 + ["add_to_cart"] * 3 + ["purchase"] * 4 + ["refund"]


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{BENCH_DB}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def store_events(products: int, per_cell: int):
    """The shop and its cells: `products` products on yesterday and today (Shanghai), `per_cell` events each."""
    from django.db import connection

    from analytics.rollup import shop_zone
    from profiles.models import Customer, Event, Product
    from profiles.services import shop_create

    shop = shop_create(name="Rollup bench")
    zone, rng = shop_zone(shop), random.Random(8)
    now = datetime.now(zone).replace(hour=12, minute=0, second=0, microsecond=0)
    customers = Customer.objects.bulk_create([Customer(shop=shop, external_id=f"c{n}", first_seen_at=now,
                                                       last_seen_at=now) for n in range(CUSTOMERS)])
    catalogue = Product.objects.bulk_create([Product(shop=shop, external_id=f"p{n}", title=f"折扇 {n}",
                                                     price=Decimal("68.00")) for n in range(products)])
    cells = set()
    for product in catalogue:
        for noon in (now - timedelta(days=1), now):
            cells.add((product.id, noon.date()))
            rows = []
            for number in range(per_cell):
                moment = noon + timedelta(seconds=rng.uniform(-43_000, 43_000))  # within the local day
                kind = rng.choice(KINDS)
                rows.append(Event(
                    shop=shop, event_id=f"{product.id}-{noon.date()}-{number}", type=kind,
                    customer=rng.choice(customers), product=product, occurred_at=moment, client_occurred_at=moment,
                    received_at=moment, quantity=rng.randint(1, 3) if kind != "view" else None,
                    unit_price=Decimal("68.00") if kind in ("purchase", "refund") else None, currency=shop.currency))
            Event.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE profiles_event")
    return shop, cells


def time_counts(shop, cells, repeats: int) -> dict:
    from analytics.rollup import cells_count_in_python, cells_count_in_sql

    figures = {}
    for name, count in (("python", cells_count_in_python), ("sql", cells_count_in_sql)):
        seconds, totals = [], None
        for _ in range(repeats):
            started = time.perf_counter()
            totals = count(shop=shop, cells=cells)
            seconds.append(time.perf_counter() - started)
        figures[name] = {"median_s": statistics.median(seconds), "runs_s": seconds, "totals": totals}
    assert figures["python"]["totals"] == figures["sql"]["totals"], "the SQL path disagrees with the Python path"
    assert len(figures["sql"]["totals"]) == len(cells)
    return {name: {k: v for k, v in figure.items() if k != "totals"} for name, figure in figures.items()}


def old_drain_some(shop):
    """The drain before issue 8's fix: pending rows deleted first, then the Python count, then commit."""
    from django.db import transaction

    from analytics import rollup
    from analytics.models import PendingRollupCell, RollupState

    with transaction.atomic():
        RollupState.objects.get_or_create(shop=shop)
        if not RollupState.objects.select_for_update(skip_locked=True).filter(shop=shop).exists():
            return None
        taken = list(PendingRollupCell.objects.filter(shop=shop).order_by("id")
                     .values_list("id", "product_id", "day")[:OLD_CELLS_PER_DRAIN])
        PendingRollupCell.objects.filter(id__in=[pk for pk, _, _ in taken]).delete()
        return rollup.daily_stats_recount(shop=shop, cells={(product_id, day) for _, product_id, day in taken})


def drain_with_a_noter(shop, cells, *, old: bool) -> dict:
    """Drain every cell while another connection keeps noting one of them; the longest note and what pg_locks saw."""
    from django.db import connection

    from analytics import rollup
    from analytics.models import DailyProductStats

    saved = rollup.cells_count, rollup._drain_some
    if old:
        rollup.cells_count, rollup._drain_some = rollup.cells_count_in_python, old_drain_some
    DailyProductStats.objects.filter(shop=shop).delete()
    rollup.rollup_cells_note(shop=shop, cells=cells)
    watched = {min(cells)}
    done, notes, waits = threading.Event(), [], set()

    def every_cell_written_once() -> bool:
        return DailyProductStats.objects.filter(shop=shop).count() == len(cells)

    def noter() -> None:  # until every cell was recounted once: a cell noted again is recounted again
        while not done.is_set() and not every_cell_written_once():
            started = time.perf_counter()
            rollup.rollup_cells_note(shop=shop, cells=watched)
            notes.append(time.perf_counter() - started)
            time.sleep(0.01)
        connection.close()

    def sampler() -> None:
        with connection.cursor() as cursor:
            while not done.is_set():
                cursor.execute("SELECT l.locktype, l.mode, a.query FROM pg_locks l JOIN pg_stat_activity a "
                               "ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()")
                waits.update((locktype, mode, query[:60]) for locktype, mode, query in cursor.fetchall())
                time.sleep(0.02)
        connection.close()

    threads = [threading.Thread(target=noter), threading.Thread(target=sampler)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    started = time.perf_counter()
    try:
        rollup.rollup_pending_drain(shop=shop)
    finally:
        drained = time.perf_counter() - started
        done.set()
        for thread in threads:
            thread.join()
        rollup.cells_count, rollup._drain_some = saved
    return {"drain_s": drained, "longest_note_s": max(notes), "notes": len(notes),
            "lock_waits_seen": sorted(waits)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--events", type=int, default=500, help="events per (product, day) cell")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    recreate_database()
    from analytics.rollup import CELLS_PER_DRAIN

    shop, cells = store_events(args.products, args.events)
    counts = time_counts(shop, cells, args.repeats)
    before = drain_with_a_noter(shop, cells, old=True)
    after = drain_with_a_noter(shop, cells, old=False)
    print(f"{len(cells)} cells x {args.events} events ({len(cells) * args.events:,} events), Postgres")
    print(f"recount, median of {args.repeats}:  Python {counts['python']['median_s']:.2f} s   "
          f"SQL {counts['sql']['median_s']:.2f} s   (same totals)")
    for label, figures in ((f"before (delete first, Python count, {OLD_CELLS_PER_DRAIN} cells/transaction)", before),
                           (f"after  (delete if not noted again, SQL count, {CELLS_PER_DRAIN} cells/transaction)",
                            after)):
        print(f"drain {label}: {figures['drain_s']:.2f} s; a note of a drained cell waited up to "
              f"{figures['longest_note_s']:.3f} s ({figures['notes']} notes); lock waits seen: "
              f"{figures['lock_waits_seen'] or 'none'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"cells": len(cells), "events_per_cell": args.events, "counts": counts,
                                         "before": before, "after": after}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
