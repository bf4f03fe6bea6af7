"""The simulator's HTTP mode stores exactly what its in-process mode stores, through the real API."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from profiles.models import Event, Product
from profiles.services import api_key_create, shop_create
from shop_ai.simulator import SimulationConfig, simulate_store

pytestmark = pytest.mark.django_db(transaction=True)
ARGS = ["--customers", "25", "--products", "6", "--weeks", "2", "--seed", "5", "--image-size", "32"]


def test_simulate_store_over_http_stores_what_the_in_process_path_stores(live_server, tmp_path):
    over_http, in_process = shop_create(name="Over HTTP"), shop_create(name="In process")
    key = api_key_create(shop=over_http).raw_key
    out = io.StringIO()
    call_command("simulate_store", "--shop", "Over HTTP", "--url", live_server.url, "--api-key", key,
                 "--truth", str(tmp_path / "http.json"), *ARGS, stdout=out)
    config = SimulationConfig(customers=25, products=6, weeks=2, seed=5, image_size=32)
    simulate_store(shop=in_process, config=config, truth_path=tmp_path / "local.json", progress=False)
    assert "0 duplicates, 0 rejected" in out.getvalue()

    def stored(shop):
        products = sorted(Product.objects.filter(shop=shop).values_list("external_id", "title", "price", "tags"))
        events = sorted(Event.objects.filter(shop=shop).values_list("event_id", "type", "quantity", "unit_price"))
        return products, events

    assert stored(over_http) == stored(in_process) and len(stored(over_http)[1]) > 50
    assert all(product.image for product in Product.objects.filter(shop=over_http))


def test_http_mode_needs_both_the_url_and_the_key(tmp_path):
    shop_create(name="Half configured")
    with pytest.raises(CommandError, match="--url and --api-key together"):
        call_command("simulate_store", "--shop", "Half configured", "--url", "http://127.0.0.1:9", *ARGS)
