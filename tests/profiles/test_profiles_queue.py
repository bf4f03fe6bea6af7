"""After commit, one message per batch reaches the `profiles` queue through the configured broker."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from unittest import mock

import dramatiq
import pytest

from profiles.actors import customers_changed
from profiles.models import Customer, Event
from profiles.services import product_upsert
from tests.conftest import client_for, recent

pytestmark = pytest.mark.broker


@pytest.mark.django_db(transaction=True)
def test_a_batch_sends_one_message_and_the_worker_marks_its_customers(shop, broker, worker):
    product_upsert(shop=shop, external_id="p1", title="剪纸书签", price=Decimal("12.00"))
    events = [{"event_id": f"q{n}", "type": "view", "customer_id": f"c{n % 4}", "product_id": "p1",
               "occurred_at": recent()} for n in range(10)]
    client = client_for(shop)
    with mock.patch("profiles.actors.customers_changed.send", wraps=customers_changed.send) as send:
        response = client.post("/api/v1/events/batch", data=json.dumps({"events": events}),
                               content_type="application/json")
        assert response.json()["accepted"] == 10
        assert send.call_count == 1
        shop_id, customer_ids, product_days = send.call_args.args
        assert shop_id == shop.id and len(customer_ids) == 4
        assert [product_id for product_id, _ in product_days] == [shop.products.get().id]  # one product, one day
    # The worker marks them stale, then its debounced refresh profiles them and clears the mark.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Customer.objects.filter(shop=shop, profiled_at__isnull=False).count() < 4:
        time.sleep(0.05)
    assert Customer.objects.filter(shop=shop, profiled_at__isnull=False).count() == 4
    assert Customer.objects.filter(shop=shop, profile_stale_since__isnull=False).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_replayed_batch_sends_no_message(shop, broker):
    product_upsert(shop=shop, external_id="p1", title="剪纸书签", price=Decimal("12.00"))
    events = [{"event_id": "only", "type": "view", "customer_id": "c", "product_id": "p1", "occurred_at": recent()}]
    client = client_for(shop)
    client.post("/api/v1/events/batch", data=json.dumps({"events": events}), content_type="application/json")
    with mock.patch("profiles.actors.customers_changed.send") as send:
        client.post("/api/v1/events/batch", data=json.dumps({"events": events}), content_type="application/json")
    assert send.call_count == 0


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_loses_no_event(shop):
    product_upsert(shop=shop, external_id="p1", title="剪纸书签", price=Decimal("12.00"))
    events = [{"event_id": "kept", "type": "view", "customer_id": "c", "product_id": "p1", "occurred_at": recent()}]
    with mock.patch("profiles.actors.customers_changed.send", side_effect=ConnectionError("broker down")):
        response = client_for(shop).post("/api/v1/events/batch", data=json.dumps({"events": events}),
                                         content_type="application/json")
    assert response.status_code == 200 and response.json()["accepted"] == 1
    assert Event.objects.filter(shop=shop, event_id="kept").exists()
    customer = Customer.objects.get(shop=shop, external_id="c")
    assert customer.profiled_at is None  # still derivable as "needs a recompute"


@pytest.mark.django_db(transaction=True)
def test_the_persona_refresh_waits_on_its_own_queue_not_behind_the_profiles_workers(shop, broker):
    """A profiles-queue worker only marks customers stale: the CPU-bound refresh it asks for goes to
    the personas queue, whose own worker processes run it."""
    product_upsert(shop=shop, external_id="p1", title="剪纸书签", price=Decimal("12.00"))
    events = [{"event_id": f"o{n}", "type": "view", "customer_id": f"c{n}", "product_id": "p1",
               "occurred_at": recent()} for n in range(3)]
    customers = Customer.objects.filter(shop=shop)
    client_for(shop).post("/api/v1/events/batch", data=json.dumps({"events": events}), content_type="application/json")

    run_queue(broker, "profiles")
    assert customers.filter(profile_stale_since__isnull=False).count() == 3
    assert not customers.filter(profiled_at__isnull=False).exists()

    run_queue(broker, "personas")
    assert customers.filter(profiled_at__isnull=False).count() == 3
    assert not customers.filter(profile_stale_since__isnull=False).exists()


def run_queue(broker, queue: str) -> None:
    """A worker on this queue alone, until the queue is empty."""
    worker = dramatiq.Worker(broker, queues={queue}, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        broker.join(queue, timeout=30_000)
        worker.join()
    finally:
        worker.stop()
