"""Coalesced `customers_changed` announcements (EVENT_ANNOUNCE_SECONDS > 0, the production default):
one message per shop and interval instead of one per request, and nothing lost when a process dies
holding some: the sweeper finds its customers and cells from the events themselves."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.test import override_settings

from analytics.models import DailyProductStats
from profiles.ingestion.announcements import MESSAGE_MAX_ITEMS, announcer
from profiles.models import Customer, Event
from profiles.services import product_upsert, shop_create
from shop_ai.sweeper import stuck_work_sweep
from tests.conftest import client_for, recent

pytestmark = pytest.mark.broker


def _event(event_id: str, customer: str, kind: str = "view", **extra) -> dict:
    return {"event_id": event_id, "type": kind, "customer_id": customer, "product_id": "p1",
            "occurred_at": recent(), **extra}


@pytest.fixture
def coalescing():
    announcer.discard()
    with override_settings(EVENT_ANNOUNCE_SECONDS=3600), mock.patch.object(announcer, "_ensure_thread"):
        yield announcer
    announcer.discard()


@pytest.mark.django_db(transaction=True)
def test_requests_of_one_interval_send_one_message_per_shop(shop, coalescing):
    other = shop_create(name="Paper Cranes")
    for owner in (shop, other):
        product_upsert(shop=owner, external_id="p1", title="团扇", price=Decimal("30.00"))
    ours, theirs = client_for(shop), client_for(other)
    with mock.patch("profiles.actors.customers_changed.send") as send:
        for number, customer in enumerate(("c1", "c2", "c1")):
            response = ours.post("/api/v1/events", data=json.dumps(_event(f"e{number}", customer)),
                                 content_type="application/json")
            assert response.status_code == 201
        theirs.post("/api/v1/events", data=json.dumps(_event("x", "c9")), content_type="application/json")
        assert send.call_count == 0  # gathered, not yet sent
        assert coalescing.flush() == 2
        assert coalescing.flush() == 0  # nothing twice
    calls = {call.args[0]: call.args[1:] for call in send.call_args_list}
    our_customers = sorted(Customer.objects.filter(shop=shop).values_list("id", flat=True))
    assert calls[shop.id][0] == our_customers and len(our_customers) == 2
    assert calls[other.id][0] == list(Customer.objects.filter(shop=other).values_list("id", flat=True))
    product_id = shop.products.get().id
    assert [cell[0] for cell in calls[shop.id][1]] == [product_id]  # one product, one day


@pytest.mark.django_db(transaction=True)
def test_a_failed_send_is_kept_for_the_next_round(shop, coalescing):
    coalescing.announce(shop.id, [3, 1], [(7, "2026-11-30")])
    with mock.patch("profiles.actors.customers_changed.send", side_effect=ConnectionError("broker down")):
        with pytest.raises(ConnectionError):
            coalescing.flush()
    coalescing.announce(shop.id, [2], [])
    with mock.patch("profiles.actors.customers_changed.send") as send:
        assert coalescing.flush() == 1
    assert send.call_args.args == (shop.id, [1, 2, 3], [[7, "2026-11-30"]])


@pytest.mark.django_db(transaction=True)
def test_a_large_interval_is_split_into_bounded_messages(shop, coalescing):
    coalescing.announce(shop.id, range(MESSAGE_MAX_ITEMS + 10), [(1, "2026-11-30")])
    with mock.patch("profiles.actors.customers_changed.send") as send:
        assert coalescing.flush() == 2
    sent = [customer for call in send.call_args_list for customer in call.args[1]]
    assert sent == list(range(MESSAGE_MAX_ITEMS + 10))


@pytest.mark.django_db(transaction=True)
def test_an_announcement_lost_with_its_process_is_made_good_by_the_sweeper(shop, broker, worker, coalescing):
    product_upsert(shop=shop, external_id="p1", title="剪纸书签", price=Decimal("12.00"))
    client = client_for(shop)
    events = [_event(f"s{n}", f"c{n % 3}", "purchase", quantity=1, unit_price="12.00") for n in range(6)]
    for event in events:
        assert client.post("/api/v1/events", data=json.dumps(event), content_type="application/json").status_code == 201
    assert coalescing.pending()[shop.id][0] == set(Customer.objects.filter(shop=shop).values_list("id", flat=True))
    coalescing.discard()  # the web worker died before its thread sent them
    assert Event.objects.filter(shop=shop).count() == 6  # committed first

    stuck_work_sweep(older_than=timedelta(0))  # revenue recounted; customers found stale
    stuck_work_sweep(older_than=timedelta(0))  # a minute later: still stale, so their refresh is sent
    broker.join("profiles")
    broker.join("personas")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Customer.objects.filter(shop=shop, profiled_at__isnull=True).exists():
        time.sleep(0.05)
    assert Customer.objects.filter(shop=shop, profiled_at__isnull=False).count() == 3
    assert Customer.objects.filter(shop=shop, profile_stale_since__isnull=False).count() == 0
    assert sum(row.revenue for row in DailyProductStats.objects.filter(shop=shop)) == Decimal("72.00")
