"""A real django-oscar shop (tests/integrations/oscar_project, its own process and SQLite file) with
shop-ai's Oscar app installed talks to a real shop-ai server: a shopper views a product, adds it to
the basket, reviews it and orders it; the events arrive once each, a re-run order handler adds
nothing, and the product image tag shows the shopper their persona's published variant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from generation.models import Exposure, GenerationSettings
from generation.storefront import exposure_log
from profiles.models import Customer, CustomerProfile, Event, Product
from profiles.services import api_key_create, shop_create
from tests.dashboard.factories import job_for, persona_for
from tests.integrations.readme import readme_snippet

ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT_SECONDS = 90

pytestmark = pytest.mark.django_db(transaction=True)


class Scenario:
    """The Oscar shop's process, spoken to one JSON line at a time."""

    def __init__(self, env: dict, log: Path):
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.integrations.oscar_project.scenario"], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     stderr=log.open("w"))
        self.watchdog = threading.Timer(STEP_TIMEOUT_SECONDS * 2, self.proc.kill)
        self.watchdog.start()

    def step(self, name: str) -> dict:
        line = self.proc.stdout.readline()
        assert line, f"the Oscar shop stopped before {name!r}:\n{self.log.read_text()[-4000:]}"
        answer = json.loads(line)
        assert answer["step"] == name, answer
        return answer

    def go_on(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        self.watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def shop_ai(db):
    shop = shop_create(name="Lotus & Ink")
    GenerationSettings.objects.create(shop=shop, holdout_share=Decimal("0"))  # nobody held out: the variant shows
    return shop, api_key_create(shop=shop, label="oscar").raw_key


@pytest.fixture
def oscar_shop(live_server, shop_ai, tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.integrations.oscar_project.settings",
           "OSCAR_DB": str(tmp_path / "oscar.sqlite3"), "OSCAR_MEDIA": str(tmp_path / "media"),
           "SHOP_AI_URL": live_server.url, "SHOP_AI_API_KEY": shop_ai[1], "PYTHONPATH": str(ROOT)}
    scenario = Scenario(env, tmp_path / "oscar.log")
    yield scenario
    scenario.close()


def test_the_oscar_project_is_set_up_with_the_readme_settings_word_for_word():
    settings_source = (ROOT / "tests/integrations/oscar_project/settings.py").read_text(encoding="utf-8")
    assert readme_snippet("oscar-settings") in settings_source


def test_an_oscar_order_arrives_once_and_the_shopper_then_sees_their_variant(oscar_shop, shop_ai, live_server):
    shop = shop_ai[0]
    ordered = oscar_shop.step("ordered")
    assert ordered["rejected"] == [] and ordered["accepted"] == 4 and ordered["duplicates"] == 0

    product = Product.objects.get(shop=shop, external_id=ordered["product_id"])
    assert (product.title, product.category, product.price) == ("祥云折扇", "Fans", Decimal("68.00"))
    assert product.description == "手绘祥云，竹骨。" and product.image  # the catalogue sync sent the photo
    events = {event.type: event for event in Event.objects.filter(shop=shop).select_related("customer", "product")}
    assert sorted(events) == ["add_to_cart", "purchase", "review", "view"]
    assert {event.customer.external_id for event in events.values()} == {ordered["customer_id"]}
    assert {event.product_id for event in events.values()} == {product.id}
    purchase = events["purchase"]
    assert (purchase.quantity, purchase.unit_price, purchase.currency) == (2, Decimal("68.00"), "CNY")
    assert purchase.event_id.startswith(f"oscar-order-{ordered['order_number']}-line-")
    assert events["add_to_cart"].quantity == 2
    assert events["review"].rating == 5 and "祥云图案" in events["review"].text

    retried = oscar_shop.step("retried")
    assert (retried["accepted"], retried["duplicates"]) == (0, 1)
    assert Event.objects.filter(shop=shop, type="purchase").count() == 1

    persona = persona_for(shop, "Heritage lovers")
    customer = Customer.objects.get(shop=shop, external_id=ordered["customer_id"])
    CustomerProfile.objects.create(customer=customer, shop=shop, persona=persona, keywords={"祥云": 1.0})
    listing = job_for(shop, product, persona, listing_status="published").listing
    oscar_shop.go_on()
    images = oscar_shop.step("images")
    assert images["shopper"] == live_server.url + listing.image.image.url
    assert images["anonymous"] == ordered["original_image"]
    exposure_log.flush()  # the tag's storefront call logged what the shopper was shown
    shown = Exposure.objects.get(shop=shop)
    assert (shown.customer_external_id, shown.variant, shown.listing_id) == (
        ordered["customer_id"], f"persona:{persona.id}", listing.id)
