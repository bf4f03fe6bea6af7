"""Signed webhooks from hosted stores: the generic shape and Shopify's orders and products; bad
signatures, stale timestamps, replays, unknown sources and shops, and payloads of the wrong shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from profiles.connect.services import shopify_secret_set, store_connection_for, webhook_secret_rotate
from profiles.models import Event, FailedEvent, InboundWebhook, Product, StoreConnection
from profiles.services import shop_create
from tests.conftest import recent
from tests.integrations.conftest import signed_post
from tests.integrations.readme import readme_snippet

pytestmark = pytest.mark.django_db


def purchase(event_id: str, product_id: str = "fan-1", **extra) -> dict:
    return {"event_id": event_id, "type": "purchase", "customer_id": "c-7", "product_id": product_id,
            "occurred_at": recent(), "quantity": 1, "unit_price": "68.00", **extra}


def post(connection, payload, **options):
    return signed_post(payload, shop_id=connection.shop_id, secret=connection.webhook_secret, **options)


def nothing_stored(shop) -> bool:
    return not (Event.objects.filter(shop=shop).exists() or FailedEvent.objects.filter(shop=shop).exists()
                or InboundWebhook.objects.filter(shop=shop).exists())


def test_a_generic_delivery_stores_products_and_events_and_keeps_the_bad_event_with_its_reason(connection):
    payload = {"products": [{"product_id": "vase-9", "title": "青花瓷瓶", "price": "199.00", "tags": ["青花"]}],
               "events": [purchase("o-1"), purchase("o-2", product_id="vase-9"), purchase("o-3", quantity=-1)]}
    response = post(connection, payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["products"], body["accepted"], body["duplicates"], body["duplicate"]) == (1, 2, 0, False)
    assert [(item["index"], item["event_id"]) for item in body["rejected"]] == [(2, "o-3")]
    assert Product.objects.get(shop=connection.shop, external_id="vase-9").price == Decimal("199.00")
    assert set(Event.objects.filter(shop=connection.shop).values_list("event_id", flat=True)) == {"o-1", "o-2"}
    failed = FailedEvent.objects.get(shop=connection.shop)
    assert (failed.event_id, failed.source, failed.errors) == ("o-3", "webhook:generic",
                                                               {"quantity": "must be at least 1"})
    record = InboundWebhook.objects.get(shop=connection.shop)
    assert (record.webhook_id, record.accepted, record.rejected, record.products) == ("wh-1", 2, 1, 1)


def test_a_replayed_webhook_id_stores_nothing_again_and_new_ids_for_old_events_are_duplicates(connection):
    payload = {"events": [purchase("o-1"), purchase("o-2", quantity=0)]}
    assert post(connection, payload).json()["accepted"] == 1
    replay = post(connection, payload)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True and replay.json()["accepted"] == 0
    assert FailedEvent.objects.filter(shop=connection.shop).count() == 1  # the bad event was not kept twice
    resent = post(connection, {"events": [purchase("o-1")]}, webhook_id="wh-2")
    assert (resent.json()["accepted"], resent.json()["duplicates"]) == (0, 1)
    assert Event.objects.filter(shop=connection.shop).count() == 1


@pytest.mark.parametrize("tamper, code", [
    ("secret", "bad_signature"), ("body", "bad_signature"), ("headers", "missing_signature"),
    ("old", "stale_timestamp"), ("future", "stale_timestamp"),
])
def test_unsigned_tampered_or_stale_deliveries_are_401_logged_and_store_nothing(connection, caplog, tamper, code):
    options = {"secret": {"secret": "whsec_guessed"}, "headers": {"webhook_id": ""},
               "body": {"signed_body": b'{"events": []}'},  # signed for one body, sent with another
               "old": {"timestamp": int(time.time()) - 301}, "future": {"timestamp": int(time.time()) + 400}}
    caplog.set_level(logging.WARNING, logger="profiles.api.connect_views")
    response = signed_post({"events": [purchase("o-1")]}, shop_id=connection.shop_id,
                           **{"secret": connection.webhook_secret, **options[tamper]})
    assert response.status_code == 401, response.content
    assert response.json()["code"] == code and response.json()["detail"]
    assert nothing_stored(connection.shop)
    assert any(code in record.getMessage() for record in caplog.records)


def test_unknown_sources_and_shops_are_refused_with_what_to_do(connection):
    unknown = post(connection, {"events": []}, source="magento")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_source"
    assert "generic, shopify" in unknown.json()["detail"]
    no_such_shop = signed_post({"events": []}, shop_id=connection.shop_id + 1000, secret=connection.webhook_secret)
    assert no_such_shop.status_code == 401 and no_such_shop.json()["code"] == "unknown_shop"
    assert nothing_stored(connection.shop)


def test_one_shops_secret_cannot_write_into_another_shop(connection):
    other = store_connection_for(shop=shop_create(name="Paper Cranes"))
    response = signed_post({"events": [purchase("o-1")]}, shop_id=other.shop_id, secret=connection.webhook_secret)
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    assert nothing_stored(other.shop) and nothing_stored(connection.shop)


def test_wrong_shapes_and_broken_json_are_kept_as_failed_events_with_the_reason(connection):
    wrong = post(connection, {"orders": [1, 2]})
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_shape"
    broken = post(connection, None, body=b'{"events": [', webhook_id="wh-2")
    assert broken.status_code == 400 and broken.json()["code"] == "malformed_json"
    failures = list(FailedEvent.objects.filter(shop=connection.shop).order_by("id"))
    assert [failure.source for failure in failures] == ["webhook:generic", "webhook:generic"]
    assert "products" in failures[0].errors["payload"] and failures[0].payload == {"orders": [1, 2]}
    assert "not valid JSON" in failures[1].errors["request"]
    assert not InboundWebhook.objects.exists()  # a corrected resend under the same id is still taken


def test_a_bad_product_in_a_delivery_is_kept_and_the_others_stored(connection):
    payload = {"products": [{"product_id": "p-ok", "title": "书签"}, {"product_id": "p-bad", "price": "-3"}]}
    body = post(connection, payload).json()
    assert body["products"] == 1
    assert body["rejected_products"] == [{"index": 1, "product_id": "p-bad", "errors": {
        "title": "is required", "price": "must be a non-negative amount with at most two decimals"}}]
    assert FailedEvent.objects.get(shop=connection.shop).payload == {"product_id": "p-bad", "price": "-3"}


def test_after_a_rotation_the_old_secret_works_for_a_day_then_stops(connection):
    old = connection.webhook_secret
    rotated = webhook_secret_rotate(shop=connection.shop)
    assert rotated.webhook_secret != old
    assert signed_post({"events": []}, shop_id=connection.shop_id, secret=old).status_code == 200
    assert signed_post({"events": []}, shop_id=connection.shop_id, secret=rotated.webhook_secret,
                       webhook_id="wh-2").status_code == 200
    StoreConnection.objects.filter(pk=rotated.pk).update(previous_secret_expires_at=timezone.now() - timedelta(1))
    late = signed_post({"events": []}, shop_id=connection.shop_id, secret=old, webhook_id="wh-3")
    assert late.status_code == 401


# --- Shopify ---------------------------------------------------------------------------------------------

def shopify_order(order_id: int = 5001) -> dict:
    """The parts of Shopify's orders/create webhook body that shop-ai reads (the real body has many more)."""
    return {"id": order_id, "email": "Lin@Example.com", "created_at": recent(10), "processed_at": recent(9),
            "currency": "CNY", "customer": {"id": 207119551, "email": "lin@example.com"},
            "line_items": [
                {"id": 1071823172, "product_id": 632910392, "variant_id": 808950810, "title": "祥云折扇",
                 "quantity": 2, "price": "68.00", "sku": "FAN-001"},
                {"id": 1071823173, "product_id": None, "variant_id": None, "title": "Gift wrapping",
                 "quantity": 1, "price": "5.00", "sku": ""},
            ]}


def test_a_shopify_order_becomes_purchases_once_even_when_created_and_paid_both_arrive(connection):
    created = post(connection, shopify_order(), source="shopify", topic="orders/create", webhook_id="b54557e4")
    assert created.status_code == 200, created.content
    assert created.json()["accepted"] == 1
    assert created.json()["rejected"][0]["errors"] == {"product_id": "is required for purchase events"}
    sale = Event.objects.select_related("customer", "product").get(shop=connection.shop)
    assert (sale.event_id, sale.customer.external_id) == ("shopify-order-5001-line-1071823172",
                                                          "shopify-customer-207119551")
    assert (sale.product.external_id, sale.product.title, sale.quantity, sale.unit_price) == (
        "632910392", "祥云折扇", 2, Decimal("68.00"))
    assert FailedEvent.objects.get(shop=connection.shop).source == "webhook:shopify"  # the gift-wrap line
    paid = post(connection, shopify_order(), source="shopify", topic="orders/paid", webhook_id="c2a1f6d0")
    assert (paid.json()["accepted"], paid.json()["duplicates"]) == (0, 1)
    assert Event.objects.filter(shop=connection.shop).count() == 1


def test_a_shopify_product_update_upserts_the_product_and_keeps_its_richer_record(connection):
    post(connection, shopify_order(), source="shopify", topic="orders/create")
    product = {"id": 632910392, "title": "祥云折扇 · 手绘", "body_html": "<p>手绘<strong>祥云</strong>，竹骨。</p>",
               "product_type": "Folding fan", "tags": "祥云, 手绘", "variants": [{"id": 808950810, "price": "72.00"}]}
    response = post(connection, product, source="shopify", topic="products/update", webhook_id="d1")
    assert response.status_code == 200 and response.json()["products"] == 1
    stored = Product.objects.get(shop=connection.shop, external_id="632910392")
    assert (stored.title, stored.description, stored.category, stored.price, stored.tags) == (
        "祥云折扇 · 手绘", "手绘祥云，竹骨。", "Folding fan", Decimal("72.00"), ["祥云", "手绘"])
    post(connection, shopify_order(5002), source="shopify", topic="orders/create", webhook_id="e1")
    assert Product.objects.get(pk=stored.pk).title == "祥云折扇 · 手绘"  # an order line does not overwrite it


SHOPIFY_SECRET = "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"


def shopify_post(shop_id: int, payload, *, secret: str = SHOPIFY_SECRET, webhook_id: str = "sh-1",
                 topic: str = "orders/create", body: bytes | None = None):
    """A delivery as Shopify itself sends it: its HMAC of the raw body, base64, and its own headers."""
    body = json.dumps(payload).encode() if body is None else body
    hmac_b64 = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return APIClient().post(f"/api/v1/webhooks/shopify?shop={shop_id}", data=body, content_type="application/json",
                            headers={"X-Shopify-Hmac-Sha256": hmac_b64, "X-Shopify-Webhook-Id": webhook_id,
                                     "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": "crane.myshopify.com"})


def test_shopify_can_deliver_directly_signed_its_own_way_once_its_secret_is_saved(connection):
    refused = shopify_post(connection.shop_id, shopify_order())
    assert refused.status_code == 401 and refused.json()["code"] == "no_shopify_secret"
    assert "dashboard settings" in refused.json()["detail"] and nothing_stored(connection.shop)
    shopify_secret_set(shop=connection.shop, secret=SHOPIFY_SECRET)
    created = shopify_post(connection.shop_id, shopify_order())
    assert created.status_code == 200, created.content
    assert created.json()["accepted"] == 1 and created.json()["webhook_id"] == "sh-1"
    assert InboundWebhook.objects.get(shop=connection.shop).topic == "orders/create"
    replay = shopify_post(connection.shop_id, shopify_order())  # no timestamp signed: the id stops replays
    assert replay.json()["duplicate"] is True and Event.objects.filter(shop=connection.shop).count() == 1


def test_a_shopify_signature_made_with_another_secret_or_over_other_bytes_is_refused(connection, other_shop):
    shopify_secret_set(shop=connection.shop, secret=SHOPIFY_SECRET)
    wrong = shopify_post(connection.shop_id, shopify_order(), secret="shpss_" + "0" * 32)
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_signature"
    body = json.dumps(shopify_order()).encode()
    tampered = APIClient().post(f"/api/v1/webhooks/shopify?shop={connection.shop_id}", data=body + b" ",
                                content_type="application/json",
                                headers={"X-Shopify-Hmac-Sha256": base64.b64encode(hmac.new(
                                    SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()).decode(),
                                         "X-Shopify-Webhook-Id": "sh-2"})
    assert tampered.status_code == 401
    # Shopify's signature counts on the Shopify address only, and for the shop whose secret it is.
    generic = APIClient().post(f"/api/v1/webhooks/generic?shop={connection.shop_id}", data=body,
                               content_type="application/json",
                               headers={"X-Shopify-Hmac-Sha256": "x", "X-Shopify-Webhook-Id": "sh-3"})
    assert generic.status_code == 401 and generic.json()["code"] == "missing_signature"
    store_connection_for(shop=other_shop)
    assert shopify_post(other_shop.id, shopify_order()).json()["code"] == "no_shopify_secret"
    assert nothing_stored(connection.shop) and nothing_stored(other_shop)


def test_a_shopify_secret_that_cannot_be_one_is_refused_with_what_to_paste(connection):
    with pytest.raises(ValidationError, match="16 to 200 characters"):
        shopify_secret_set(shop=connection.shop, secret="short")
    assert shopify_secret_set(shop=connection.shop, secret=f"  {SHOPIFY_SECRET}\n").shopify_secret == SHOPIFY_SECRET
    assert shopify_secret_set(shop=connection.shop, secret="").shopify_secret == ""


def test_a_shopify_topic_we_do_not_handle_is_refused_and_kept(connection):
    response = post(connection, {"id": 1}, source="shopify", topic="customers/create")
    assert response.status_code == 400 and response.json()["code"] == "wrong_shape"
    assert "orders/create" in response.json()["errors"]["topic"]
    assert FailedEvent.objects.get(shop=connection.shop).source == "webhook:shopify"


@pytest.mark.django_db(transaction=True)
def test_the_readme_sender_works_against_a_real_server(live_server, monkeypatch, capsys):
    connection = store_connection_for(shop=shop_create(name="Hosted store"))
    monkeypatch.setenv("SHOP_AI_URL", live_server.url)
    monkeypatch.setenv("SHOP_AI_SHOP_ID", str(connection.shop_id))
    monkeypatch.setenv("SHOP_AI_WEBHOOK_SECRET", connection.webhook_secret)
    exec(readme_snippet("webhook-send"), {})  # noqa: S102 - the README's snippet, run as written
    printed = capsys.readouterr().out
    assert "'webhook_id': 'order-1001'" in printed and "'accepted': 1" in printed
    sale = Event.objects.select_related("product").get(shop=connection.shop)
    assert (sale.event_id, sale.product.title, sale.unit_price) == ("order-1001-1", "祥云折扇", Decimal("68.00"))
