"""The revenue rollup equals a recount from the raw events, whatever order and however often they come."""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from analytics.actors import events_rollup
from analytics.models import DailyProductStats
from analytics.rollup import daily_stats_rebuild, daily_stats_recount
from profiles.ingestion.services import events_ingest
from profiles.services import product_upsert
from tests.conftest import client_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
PRICES = {"fan": Decimal("19.99"), "vase": Decimal("128.50"), "scarf": Decimal("0.01")}


def _at(days_ago: int, hour: int, minute: int = 0) -> str:
    now = datetime.now(timezone.utc).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return (now - timedelta(days=days_ago)).isoformat()


def _store_events(seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)
    events = []
    for number in range(count):
        product = rng.choice(sorted(PRICES))
        kind = rng.choice(["view", "view", "add_to_cart", "purchase", "refund"])
        event = {"event_id": f"e{seed}-{number}", "type": kind, "customer_id": f"c{rng.randrange(12)}",
                 "product_id": product, "occurred_at": _at(rng.randrange(1, 9), rng.randrange(24), rng.randrange(60))}
        if kind in ("purchase", "refund", "add_to_cart"):
            event["quantity"] = rng.randrange(1, 4)
        if kind in ("purchase", "refund"):
            event["unit_price"] = str(PRICES[product])
        events.append(event)
    return events


def _expected(events: list[dict]) -> dict:
    """An independent recount: {(product, local day): (net revenue, views, units, visitors)}."""
    net, views, units, visitors = defaultdict(Decimal), defaultdict(int), defaultdict(int), defaultdict(set)
    for event in {e["event_id"]: e for e in events}.values():
        day = datetime.fromisoformat(event["occurred_at"]).astimezone(SHANGHAI).date()
        key = (event["product_id"], day)
        money = event.get("quantity", 1) * Decimal(event.get("unit_price", "0"))
        net[key] += money if event["type"] == "purchase" else -money if event["type"] == "refund" else 0
        views[key] += event["type"] == "view"
        units[key] += event.get("quantity", 1) if event["type"] == "purchase" else 0
        if event["type"] != "refund":
            visitors[key].add(event["customer_id"])
    keys = net.keys() | views.keys()
    return {key: (net[key], views[key], units[key], len(visitors[key])) for key in keys}


def _rolled_up(shop) -> dict:
    return {(row.product.external_id, row.day): (row.net_revenue, row.views, row.units, row.visitors)
            for row in DailyProductStats.objects.filter(shop=shop).select_related("product")}


@pytest.fixture
def catalogue(shop):
    for external_id, price in PRICES.items():
        product_upsert(shop=shop, external_id=external_id, title=external_id, price=price)
    return shop


def test_rebuild_equals_an_independent_recount_and_reconciles_to_the_cent(catalogue):
    shop = catalogue
    events = _store_events(seed=1, count=400)
    events_ingest(shop=shop, raw_events=events)
    daily_stats_rebuild(shop=shop)
    assert _rolled_up(shop) == _expected(events)
    sales = sum(e["quantity"] * Decimal(e["unit_price"]) for e in events if e["type"] == "purchase")
    refunds = sum(e["quantity"] * Decimal(e["unit_price"]) for e in events if e["type"] == "refund")
    stored = DailyProductStats.objects.filter(shop=shop)
    assert sum(row.revenue for row in stored) == sales and sum(row.refunds for row in stored) == refunds
    assert sum(row.net_revenue for row in stored) == sales - refunds


def test_an_event_at_23_30_shanghai_time_lands_on_that_shanghai_day(catalogue):
    shop = catalogue
    late_evening = datetime(2026, 11, 10, 15, 30, tzinfo=timezone.utc)  # 23:30 in Shanghai, still the 10th
    after_midnight = late_evening + timedelta(minutes=45)  # 00:15 on the 11th in Shanghai, the 10th in UTC
    events = [{"event_id": "late", "type": "purchase", "customer_id": "c", "product_id": "fan", "quantity": 1,
               "unit_price": "19.99", "occurred_at": late_evening.isoformat()},
              {"event_id": "early", "type": "purchase", "customer_id": "c", "product_id": "fan", "quantity": 2,
               "unit_price": "19.99", "occurred_at": after_midnight.isoformat()}]
    events_ingest(shop=shop, raw_events=events, now=after_midnight + timedelta(hours=1))
    daily_stats_rebuild(shop=shop)
    days = dict(DailyProductStats.objects.filter(shop=shop).values_list("day", "net_revenue"))
    assert days == {late_evening.date(): Decimal("19.99"), late_evening.date() + timedelta(days=1): Decimal("39.98")}


def test_a_refund_subtracts_on_its_own_day_not_the_purchase_day(catalogue):
    shop = catalogue
    events = [{"event_id": "buy", "type": "purchase", "customer_id": "c", "product_id": "vase", "quantity": 2,
               "unit_price": "128.50", "occurred_at": _at(5, 4)},
              {"event_id": "back", "type": "refund", "customer_id": "c", "product_id": "vase", "quantity": 1,
               "unit_price": "128.50", "occurred_at": _at(2, 4)}]
    events_ingest(shop=shop, raw_events=events)
    daily_stats_rebuild(shop=shop)
    rows = list(DailyProductStats.objects.filter(shop=shop).order_by("day"))
    assert [(r.revenue, r.refunds, r.net_revenue, r.units, r.refunded_units) for r in rows] == [
        (Decimal("257.00"), 0, Decimal("257.00"), 2, 0), (0, Decimal("128.50"), Decimal("-128.50"), 0, 1)]
    assert rows[1].visitors == 0 and rows[0].visitors == 1 and rows[0].conversion == 1.0


def test_recounting_a_cell_twice_or_with_no_events_left_writes_the_same_rows(catalogue, other_shop):
    shop = catalogue
    events = _store_events(seed=2, count=200)
    events_ingest(shop=shop, raw_events=events)
    product_upsert(shop=other_shop, external_id="fan", title="fan", price=Decimal("1"))
    events_ingest(shop=other_shop, raw_events=_store_events(seed=3, count=50))
    daily_stats_rebuild(shop=other_shop)
    cells = {(p, d) for p, d in DailyProductStats.objects.filter(shop=other_shop).values_list("product_id", "day")}
    daily_stats_rebuild(shop=shop)
    before = _rolled_up(shop)
    daily_stats_rebuild(shop=shop)
    events_rollup(shop.id, [[p, d.isoformat()] for p, d in DailyProductStats.objects.filter(shop=shop)
                            .values_list("product_id", "day")])
    assert _rolled_up(shop) == before == _expected(events)
    # A recount of another shop's cells through this shop finds none of its events and writes nothing.
    daily_stats_recount(shop=shop, cells=cells)
    assert DailyProductStats.objects.filter(shop=other_shop).count() == len(cells)
    assert _rolled_up(shop) == before


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_batches_replays_and_late_events_through_the_api_and_the_analytics_queue(shop, broker, worker):
    for external_id, price in PRICES.items():
        product_upsert(shop=shop, external_id=external_id, title=external_id, price=price)
    client = client_for(shop)
    events = _store_events(seed=4, count=600)
    on_time, late = events[:450], events[450:]
    batches = [on_time[:200], on_time[200:], on_time[100:300], late, late[:50]]  # with replays, late last
    for batch in batches:
        response = client.post("/api/v1/events/batch", data=json.dumps({"events": batch}),
                               content_type="application/json")
        assert response.status_code in (200, 207), response.content
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _rolled_up(shop) != _expected(events):
        time.sleep(0.1)
    assert _rolled_up(shop) == _expected(events)


def _cells_of(shop, events) -> list[list]:
    from profiles.models import Product

    ids = dict(Product.objects.filter(shop=shop).values_list("external_id", "id"))
    return sorted({(ids[e["product_id"]], datetime.fromisoformat(e["occurred_at"]).astimezone(SHANGHAI).date().isoformat())
                   for e in events})


def test_the_actor_notes_its_cells_and_recounts_every_pending_one(catalogue, other_shop):
    from analytics.models import PendingRollupCell

    events = _store_events(seed=21, count=60)
    events_ingest(shop=catalogue, raw_events=events)
    events_rollup.fn(catalogue.id, _cells_of(catalogue, events))
    assert _rolled_up(catalogue) == _expected(events) and not PendingRollupCell.objects.exists()
    events_rollup.fn(other_shop.id, _cells_of(catalogue, events))  # another shop's product ids: nothing noted
    assert not PendingRollupCell.objects.exists() and not DailyProductStats.objects.filter(shop=other_shop).exists()


def test_noting_cells_is_one_insert_select_that_keeps_only_the_shops_own_products(
        catalogue, other_shop, django_assert_num_queries):
    from analytics.models import PendingRollupCell
    from analytics.rollup import rollup_cells_note

    theirs = product_upsert(shop=other_shop, external_id="fan", title="fan", price=PRICES["fan"])[0]
    ours = _cells_of(catalogue, _store_events(seed=23, count=40))
    cells = {(product_id, datetime.fromisoformat(day).date()) for product_id, day in ours}
    foreign = {(theirs.id, day) for _, day in cells} | {(10**9, day) for _, day in cells}  # another shop's, no one's
    with django_assert_num_queries(1):
        rollup_cells_note(shop=catalogue, cells=cells | foreign)
    rollup_cells_note(shop=catalogue, cells=cells)  # noted again: still once each
    noted = set(PendingRollupCell.objects.values_list("shop_id", "product_id", "day"))
    assert noted == {(catalogue.id, product_id, day) for product_id, day in cells}
    with django_assert_num_queries(0):
        rollup_cells_note(shop=catalogue, cells=set())


@pytest.mark.django_db(transaction=True)
def test_a_message_that_finds_the_shop_busy_leaves_its_cells_to_the_holder_and_returns_at_once(shop):
    """Under load, messages used to queue on the shop's lock and hold every analytics thread."""
    import threading

    from django.db import connection, transaction

    from analytics.models import PendingRollupCell, RollupState
    from analytics.rollup import rollup_pending_drain

    if connection.vendor != "postgresql":
        pytest.skip("row locks that skip: Postgres (SQLite serialises every write anyway)")
    for external_id, price in PRICES.items():
        product_upsert(shop=shop, external_id=external_id, title=external_id, price=price)
    events = _store_events(seed=22, count=80)
    events_ingest(shop=shop, raw_events=events)
    RollupState.objects.get_or_create(shop=shop)
    locked, release, holder_done = threading.Event(), threading.Event(), threading.Event()

    def holder():
        with transaction.atomic():
            RollupState.objects.select_for_update().get(shop=shop)
            locked.set()
            release.wait(30)
        rollup_pending_drain(shop=shop)  # what every holder does after letting go
        connection.close()
        holder_done.set()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(30)
    started = time.monotonic()
    events_rollup.fn(shop.id, _cells_of(shop, events))
    assert time.monotonic() - started < 5 and PendingRollupCell.objects.filter(shop=shop).exists()
    assert not DailyProductStats.objects.filter(shop=shop).exists()
    release.set()
    assert holder_done.wait(60)
    thread.join()
    assert _rolled_up(shop) == _expected(events) and not PendingRollupCell.objects.exists()


def _raw_events(shop, *, start: datetime, hours: int, seed: int) -> None:
    """Events written straight to the table, including what validation refuses today but older rows
    may hold (no quantity or price, a blank or foreign currency), every 20 minutes around the clock."""
    from profiles.models import Customer, Event, Product

    rng = random.Random(seed)
    customers = [Customer.objects.get_or_create(shop=shop, external_id=f"raw{n}",
                                                defaults={"first_seen_at": start, "last_seen_at": start})[0]
                 for n in range(9)]
    products = list(Product.objects.filter(shop=shop).order_by("id"))
    rows = []
    for step in range(hours * 3):
        moment = start + timedelta(minutes=20 * step, seconds=rng.randrange(60))
        kind = rng.choice(["view", "view", "add_to_cart", "purchase", "purchase", "refund", "review"])
        money = kind in ("purchase", "refund")
        rows.append(Event(
            shop=shop, event_id=f"raw-{seed}-{step}", type=kind, customer=rng.choice(customers),
            product=rng.choice(products), occurred_at=moment, client_occurred_at=moment, received_at=moment,
            quantity=rng.choice([None, 0, 1, 2, 7]) if kind != "view" else None,
            unit_price=rng.choice([None, Decimal("0.0001"), Decimal("19.99"), Decimal("12345.6789")]) if money else None,
            currency=rng.choice(["", shop.currency, shop.currency, "USD"]) if money else ""))
    Event.objects.bulk_create(rows)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_the_sql_count_equals_the_python_count_cell_for_cell(catalogue, zone):
    from django.db import connection

    from analytics.rollup import MIXED_CURRENCIES, cells_count_in_python, cells_count_in_sql
    from profiles.models import Event

    if connection.vendor != "postgresql":
        pytest.skip("the SQL path runs on Postgres only (SQLite would sum money as floats)")
    shop = catalogue
    shop.timezone = zone
    shop.save(update_fields=["timezone"])
    # Across both 2026 DST changes in New York (a 23-hour and a 25-hour day) and a week of midnights.
    _raw_events(shop, start=datetime(2026, 3, 5, tzinfo=timezone.utc), hours=24 * 7, seed=31)
    _raw_events(shop, start=datetime(2026, 10, 29, tzinfo=timezone.utc), hours=24 * 6, seed=32)
    events_ingest(shop=shop, raw_events=_store_events(seed=33, count=300))
    events_ingest(shop=shop, raw_events=[{"event_id": "only-a-review", "type": "review", "customer_id": "c1",
                                          "product_id": "vase", "text": "好看", "rating": 5,
                                          "occurred_at": datetime(2026, 6, 15, 4, tzinfo=timezone.utc).isoformat()}])
    local = ZoneInfo(zone)
    cells = {(product_id, moment.astimezone(local).date())
             for product_id, moment in Event.objects.filter(shop=shop).values_list("product_id", "occurred_at")}
    nobody = (min(p for p, _ in cells), datetime(2026, 1, 1).date())
    in_python = cells_count_in_python(shop=shop, cells=cells | {nobody})
    in_sql = cells_count_in_sql(shop=shop, cells=cells | {nobody})
    assert in_sql == in_python
    assert in_sql.keys() == cells  # the empty cell is absent from both: daily_stats_recount removes its row
    values = list(in_sql.values())
    assert {t.currency for t in values} == {shop.currency, MIXED_CURRENCIES}
    assert any(t.refunds and t.revenue and t.buyers and t.visitors > t.buyers for t in values)
    assert any(not (t.views or t.carts or t.purchases or t.refunded_units) for t in values)  # reviews only
    assert sum(t.revenue for t in values) % Decimal("0.01") != 0  # sub-cent prices summed exactly


def test_a_drain_recounts_a_bounded_slice_per_transaction_and_says_when_it_stopped_early(catalogue, monkeypatch):
    """Each slice commits on its own, and a holder out of time says it left cells pending."""
    from analytics import rollup
    from analytics.models import PendingRollupCell

    events = _store_events(seed=24, count=120)
    events_ingest(shop=catalogue, raw_events=events)
    cells = {(product_id, datetime.fromisoformat(day).date()) for product_id, day in _cells_of(catalogue, events)}
    rollup.rollup_cells_note(shop=catalogue, cells=cells)
    monkeypatch.setattr(rollup, "CELLS_PER_DRAIN", 2)
    assert rollup.rollup_pending_drain_for(shop=catalogue, seconds=0) is True
    assert DailyProductStats.objects.filter(shop=catalogue).count() == 2
    assert PendingRollupCell.objects.filter(shop=catalogue).count() == len(cells) - 2
    assert rollup.rollup_pending_drain_for(shop=catalogue, seconds=60) is False
    assert _rolled_up(catalogue) == _expected(events) and not PendingRollupCell.objects.exists()


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_holder_out_of_time_sends_the_rest_on_in_a_fresh_message(catalogue, broker, monkeypatch):
    """Under sustained load the pending cells never run out; the holder must not run into its time limit."""
    import dramatiq

    from analytics import actors, rollup
    from analytics.models import PendingRollupCell

    shop = catalogue
    events = _store_events(seed=25, count=120)
    events_ingest(shop=shop, raw_events=events)
    broker.flush_all()  # what ingestion sent, before any worker ran it: the one message is sent below
    monkeypatch.setattr(rollup, "CELLS_PER_DRAIN", 3)
    monkeypatch.setattr(actors, "DRAIN_SECONDS", 0)  # one slice per message
    events_rollup.send(shop.id, _cells_of(shop, events))
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (PendingRollupCell.objects.filter(shop=shop).exists()
                                               or _rolled_up(shop) != _expected(events)):
            time.sleep(0.1)
    finally:
        worker.stop()
    assert len(_cells_of(shop, events)) > 3 * 2  # so it took at least three messages
    assert _rolled_up(shop) == _expected(events) and not PendingRollupCell.objects.exists()


def test_a_cell_noted_again_during_its_recount_stays_pending_for_the_next_pass(catalogue, monkeypatch):
    from analytics import rollup
    from analytics.models import PendingRollupCell
    from profiles.models import Event

    buy = {"type": "purchase", "customer_id": "c1", "product_id": "fan", "quantity": 1, "unit_price": "19.99"}
    first = {**buy, "event_id": "first", "occurred_at": _at(1, 4)}
    events_ingest(shop=catalogue, raw_events=[first])
    rollup.rollup_cells_note(shop=catalogue, cells={(p, datetime.fromisoformat(d).date())
                                                    for p, d in _cells_of(catalogue, [first])})
    recount = rollup.daily_stats_recount
    late = {**buy, "event_id": "late", "occurred_at": _at(1, 4, 30)}

    def recount_then_a_late_event(**kwargs):  # stored and noted after the count read the events
        written = recount(**kwargs)
        if not Event.objects.filter(event_id="late").exists():
            events_ingest(shop=catalogue, raw_events=[late])
            rollup.rollup_cells_note(shop=catalogue, cells={(p, datetime.fromisoformat(d).date())
                                                            for p, d in _cells_of(catalogue, [late])})
        return written

    monkeypatch.setattr(rollup, "daily_stats_recount", recount_then_a_late_event)
    assert rollup.rollup_pending_drain_for(shop=catalogue, seconds=0) is True  # one pass: the cell is kept
    assert PendingRollupCell.objects.filter(shop=catalogue).count() == 1
    assert _rolled_up(catalogue) == _expected([first])
    rollup.rollup_pending_drain(shop=catalogue)
    assert _rolled_up(catalogue) == _expected([first, late]) and not PendingRollupCell.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_noting_a_cell_does_not_wait_for_the_recount_that_holds_it(catalogue, monkeypatch):
    """Under load the other analytics thread's notes waited out whole recounts, one message per recount."""
    import threading

    from django.db import connection

    from analytics import rollup
    from analytics.models import PendingRollupCell

    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent writers: Postgres (SQLite serialises every write anyway)")
    shop = catalogue
    events = _store_events(seed=26, count=80)
    events_ingest(shop=shop, raw_events=events)
    cells = {(p, datetime.fromisoformat(d).date()) for p, d in _cells_of(shop, events)}
    rollup.rollup_cells_note(shop=shop, cells=cells)
    recount, counted, release = rollup.daily_stats_recount, threading.Event(), threading.Event()

    def recount_and_hold(**kwargs):  # the drain's transaction stays open until the note is timed
        written = recount(**kwargs)
        counted.set()
        release.wait(20)
        return written

    monkeypatch.setattr(rollup, "daily_stats_recount", recount_and_hold)

    def drain() -> None:
        rollup.rollup_pending_drain_for(shop=shop, seconds=0)
        connection.close()

    thread = threading.Thread(target=drain)
    thread.start()
    try:
        assert counted.wait(20)
        started = time.monotonic()
        rollup.rollup_cells_note(shop=shop, cells=cells)
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join()
    assert waited < 2, f"the note waited {waited:.1f} s for the drain's transaction"
    assert set(PendingRollupCell.objects.values_list("product_id", "day")) == cells  # noted again: kept
    monkeypatch.setattr(rollup, "daily_stats_recount", recount)
    rollup.rollup_pending_drain(shop=shop)
    assert _rolled_up(shop) == _expected(events) and not PendingRollupCell.objects.exists()


def test_slices_go_round_every_pending_cell_when_each_is_noted_again_during_its_recount(catalogue, monkeypatch):
    """Under sustained load every cell is noted again while it is recounted, so it stays pending with
    its id: slices that always started from the lowest id recounted the same cells forever."""
    from analytics import rollup
    from analytics.models import PendingRollupCell

    events = _store_events(seed=27, count=150)
    events_ingest(shop=catalogue, raw_events=events)
    cells = {(product_id, datetime.fromisoformat(day).date()) for product_id, day in _cells_of(catalogue, events)}
    rollup.rollup_cells_note(shop=catalogue, cells=cells)
    recount = rollup.daily_stats_recount

    def recount_then_noted_again(*, shop, cells):
        written = recount(shop=shop, cells=cells)
        rollup.rollup_cells_note(shop=shop, cells=cells)
        return written

    monkeypatch.setattr(rollup, "CELLS_PER_DRAIN", 3)
    monkeypatch.setattr(rollup, "daily_stats_recount", recount_then_noted_again)
    for _ in range(-(-len(cells) // 3)):  # one holder after another, one slice each
        assert rollup.rollup_pending_drain_for(shop=catalogue, seconds=0) is True
    assert len(cells) > 3 * 3
    assert set(DailyProductStats.objects.filter(shop=catalogue).values_list("product_id", "day")) == cells
    assert set(PendingRollupCell.objects.values_list("product_id", "day")) == cells  # all noted again
    assert _rolled_up(catalogue) == _expected(events)
