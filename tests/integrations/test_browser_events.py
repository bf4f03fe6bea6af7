"""The browser snippet's endpoints without a browser: publishable keys, allowed origins, what a
browser may send, CORS answers, and tenancy."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from generation.models import GenerationSettings
from generation.storefront import exposure_log
from profiles.connect.services import allowed_origins_update, store_connection_for
from profiles.models import Event, FailedEvent
from profiles.services import shop_create
from tests.conftest import recent
from tests.dashboard.factories import customer_for, job_for, persona_for

pytestmark = pytest.mark.django_db
STORE = "https://store.example.com"


def beacon(key: str, events: list, origin: str = STORE):
    body = json.dumps({"key": key, "events": events})
    return APIClient().post("/api/v1/browser/events", data=body, content_type="text/plain;charset=UTF-8",
                            headers={"Origin": origin})


def event(event_id: str, kind: str = "view", **extra) -> dict:
    return {"event_id": event_id, "type": kind, "customer_id": "anon-1", "product_id": "fan-1",
            "occurred_at": recent(), **extra}


def test_views_and_cart_additions_are_stored_and_the_answer_is_readable_cross_origin(connection):
    response = beacon(connection.publishable_key, [event("w-1"), event("w-2", "add_to_cart", quantity=2)])
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert response["Access-Control-Allow-Origin"] == STORE
    assert beacon(connection.publishable_key, [event("w-1")]).json()["duplicates"] == 1  # a resent batch
    assert Event.objects.filter(shop=connection.shop).count() == 2


def test_a_browser_cannot_send_purchases_and_the_refused_event_is_kept(connection):
    body = beacon(connection.publishable_key, [event("w-1"), event("w-2", "purchase", unit_price="1.00")]).json()
    assert body["accepted"] == 1
    assert "not taken from browser" in body["rejected"][0]["errors"]["type"]
    failed = FailedEvent.objects.get(shop=connection.shop)
    assert (failed.event_id, failed.source) == ("w-2", "browser")


def test_unknown_keys_other_origins_and_big_batches_are_refused_with_what_to_do(connection):
    unknown = beacon("pk_nope", [event("w-1")])
    assert unknown.status_code == 401 and unknown.json()["code"] == "unknown_publishable_key"
    allowed_origins_update(shop=connection.shop, origins=[STORE])
    elsewhere = beacon(connection.publishable_key, [event("w-1")], origin="https://copycat.example")
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "origin_not_allowed"
    assert "dashboard settings" in elsewhere.json()["detail"]
    assert beacon(connection.publishable_key, [event("w-1")]).status_code == 200
    big = beacon(connection.publishable_key, [event(f"w-{n}") for n in range(101)])
    assert big.status_code == 413 and "at most 100" in big.json()["detail"]
    assert Event.objects.filter(shop=connection.shop).count() == 1


def test_a_preflight_is_answered(connection):
    response = APIClient().options("/api/v1/browser/events", headers={"Origin": STORE,
                                                                      "Access-Control-Request-Method": "POST"})
    assert response.status_code == 204 and "POST" in response["Access-Control-Allow-Methods"]


def test_one_shops_key_writes_into_that_shop_only(connection):
    other = store_connection_for(shop=shop_create(name="Paper Cranes"))
    response = beacon(other.publishable_key, [event("w-1")])
    assert response.json()["rejected"][0]["errors"]["product_id"].startswith("unknown product")  # not its fan-1
    assert not Event.objects.exists()


def test_the_variant_answer_for_the_snippet(connection):
    GenerationSettings.objects.create(shop=connection.shop, holdout_share=0)
    persona = persona_for(connection.shop)
    customer_for(connection.shop, "c-9", persona)
    listing = job_for(connection.shop, connection.shop.products.get(external_id="fan-1"), persona,
                      listing_status="published").listing
    response = APIClient().get("/api/v1/browser/products/fan-1", {"key": connection.publishable_key,
                                                                  "customer_id": "c-9"}, headers={"Origin": STORE})
    assert response.status_code == 200
    assert response.json()["variant"] == f"persona:{persona.id}"
    assert response.json()["image_url"].endswith(listing.image.image.url)
    assert response["Access-Control-Allow-Origin"] == STORE
    missing = APIClient().get("/api/v1/browser/products/fan-1", {"key": "pk_nope"})
    assert missing.status_code == 401
    assert exposure_log.flush() == 1  # the shopper's view of the variant, for the benefit report
