"""An event flows through the broker to a persona: ingestion → profiles queue → debounced refresh."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from profiles.models import Customer, CustomerProfile
from profiles.personas.services import personas_recompute_full
from shop_ai.simulator import SimulationConfig, simulate_store
from tests.conftest import client_for

pytestmark = pytest.mark.broker


@pytest.mark.django_db(transaction=True)
def test_a_new_event_reaches_the_customers_persona_through_the_worker(shop, broker, worker, tmp_path):
    config = SimulationConfig(customers=80, products=30, weeks=2, seed=9, images=False,
                              end=datetime.now(timezone.utc) - timedelta(hours=1))
    simulate_store(shop=shop, config=config, truth_path=tmp_path / "t.json", progress=False)
    personas_recompute_full(shop=shop)
    broker.flush_all()
    product = shop.products.first()
    events = [{"event_id": "live-1", "type": "purchase", "customer_id": "walk-in-1", "product_id": product.external_id,
               "unit_price": "10.00", "occurred_at": datetime.now(timezone.utc).isoformat()}]
    response = client_for(shop).post("/api/v1/events/batch", data=json.dumps({"events": events}),
                                     content_type="application/json")
    assert response.json()["accepted"] == 1
    # customers_changed runs, then the personas_refresh it sends (one per window).
    deadline = time.monotonic() + 30
    customer = Customer.objects.get(shop=shop, external_id="walk-in-1")
    # The profile is written first and placed in a persona right after: wait for the placement.
    while time.monotonic() < deadline and not CustomerProfile.objects.filter(customer=customer,
                                                                             persona__isnull=False).exists():
        time.sleep(0.05)
    customer.refresh_from_db()
    assert customer.profiled_at is not None and customer.profile_stale_since is None
    profile = CustomerProfile.objects.get(customer=customer)
    assert profile.persona is not None and profile.keywords


@pytest.mark.django_db
def test_a_late_message_does_not_mark_customers_profiled_since_their_events(shop):
    """A backlog of `customers_changed` behind a full recompute must not send every customer round again;
    a customer with an event received after their profile is marked, and so is one never profiled."""
    from profiles.actors import customers_changed
    from profiles.services import STALE_CLOCK_MARGIN

    now = datetime.now(timezone.utc)
    seen = {"profiled-since": (now - timedelta(minutes=10), now - timedelta(minutes=5)),
            "event-after-profile": (now - timedelta(minutes=1), now - timedelta(minutes=5)),
            "within-clock-margin": (now - timedelta(minutes=5) - STALE_CLOCK_MARGIN / 2, now - timedelta(minutes=5)),
            "never-profiled": (now - timedelta(minutes=10), None)}
    ids = {name: Customer.objects.create(shop=shop, external_id=name, first_seen_at=last_seen, last_seen_at=last_seen,
                                         profiled_at=profiled).id
           for name, (last_seen, profiled) in seen.items()}
    customers_changed.fn(shop.id, list(ids.values()))
    stale = set(Customer.objects.filter(shop=shop, profile_stale_since__isnull=False).values_list("external_id",
                                                                                                  flat=True))
    assert stale == {"event-after-profile", "within-clock-margin", "never-profiled"}
