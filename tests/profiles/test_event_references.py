"""Events reference their shop, customer and product without database constraints (see the
comment on `Event`): deleting any of them must still take their events along, and only theirs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from profiles.ingestion.services import events_ingest
from profiles.models import Customer, Event, Product
from profiles.services import product_upsert
from tests.conftest import recent


def _ingest(shop, prefix: str) -> None:
    for number in range(2):
        product_upsert(shop=shop, external_id=f"p{number}", title="莲花书签", category="bookmarks",
                       price=Decimal("18.00"))
    events = [{"event_id": f"{prefix}-{number}", "type": "view", "customer_id": f"c{number % 2}",
               "product_id": f"p{number % 2}", "occurred_at": recent(number + 1)} for number in range(8)]
    assert events_ingest(shop=shop, raw_events=events).accepted == 8


@pytest.fixture
def two_shops(shop, other_shop):
    _ingest(shop, "a")
    _ingest(other_shop, "b")
    return shop, other_shop


@pytest.mark.django_db(transaction=True)
def test_deleting_a_product_deletes_its_events_only(two_shops):
    shop, other_shop = two_shops
    Product.objects.get(shop=shop, external_id="p0").delete()
    assert set(Event.objects.filter(shop=shop).values_list("product__external_id", flat=True)) == {"p1"}
    assert Event.objects.filter(shop=shop).count() == 4
    assert Event.objects.filter(shop=other_shop).count() == 8


@pytest.mark.django_db(transaction=True)
def test_deleting_a_customer_deletes_their_events_only(two_shops):
    shop, other_shop = two_shops
    Customer.objects.get(shop=shop, external_id="c1").delete()
    assert set(Event.objects.filter(shop=shop).values_list("customer__external_id", flat=True)) == {"c0"}
    assert Event.objects.filter(shop=other_shop).count() == 8


@pytest.mark.django_db(transaction=True)
def test_deleting_a_shop_leaves_no_event_behind(two_shops):
    shop, other_shop = two_shops
    shop_id = shop.id
    shop.delete()
    assert not Event.objects.filter(shop_id=shop_id).exists()
    assert Event.objects.count() == Event.objects.filter(shop=other_shop).count() == 8
    orphans = Event.objects.exclude(customer__in=Customer.objects.all())
    assert not orphans.exists()
