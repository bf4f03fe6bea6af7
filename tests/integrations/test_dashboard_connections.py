"""The settings page's store connection and outbound webhooks: the owner sees the webhook secret,
snippet key and delivery log of their own shop only, rotates the secret, lists storefront origins
and adds or disables endpoints; bad input says what to do."""

from __future__ import annotations

import pytest
from django.test import Client

from generation.models import WebhookDelivery, WebhookEndpoint
from generation.webhooks import webhook_endpoint_create
from profiles.models import InboundWebhook, StoreConnection
from tests.dashboard.factories import days_ago, owner_of
from tests.integrations.conftest import signed_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def dash(shop) -> Client:
    client = Client()
    client.force_login(owner_of(shop))
    return client


def page_of(dash) -> str:
    response = dash.get("/dashboard/settings/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_the_connection_received_webhooks_and_the_delivery_log(dash, shop, other_shop):
    connection = StoreConnection.objects.get(shop=shop)
    signed_post({"events": []}, shop_id=shop.id, secret=connection.webhook_secret, webhook_id="order-77")
    endpoint = webhook_endpoint_create(shop=shop, url="https://store.example.com/hooks/shop-ai")
    WebhookDelivery.objects.create(shop=shop, endpoint=endpoint, delivery_id="whd_1", topic="listing.published",
                                   payload={}, status="failed", attempts=8, response_status=500,
                                   last_error="HTTP 500: upstream down")
    theirs = webhook_endpoint_create(shop=other_shop, url="https://cranes.example.com/hook")
    html = page_of(dash)
    assert connection.webhook_secret in html and connection.publishable_key in html
    assert f"/api/v1/webhooks/shopify?shop={shop.id}" in html and "/snippet/shop-ai.js" in html
    assert "order-77" in html and "HTTP 500: upstream down" in html and endpoint.secret in html
    assert theirs.url not in html and theirs.secret not in html
    assert StoreConnection.objects.get(shop=other_shop).webhook_secret not in html


def test_rotating_the_secret_keeps_the_old_one_for_a_day(dash, shop):
    old = StoreConnection.objects.get(shop=shop).webhook_secret
    response = dash.post("/dashboard/settings/webhook-secret/rotate/", follow=True)
    assert "keeps working until" in response.content.decode()
    connection = StoreConnection.objects.get(shop=shop)
    assert connection.webhook_secret != old and connection.previous_webhook_secret == old
    assert connection.previous_secret_expires_at > days_ago(-0.9)


def test_origins_are_saved_normalised_or_refused_with_the_form_to_use(dash, shop):
    dash.post("/dashboard/settings/origins/", {"origins": "https://Store.example.com/\n\nhttp://localhost:8080"})
    assert StoreConnection.objects.get(shop=shop).allowed_origins == ["http://localhost:8080",
                                                                      "https://store.example.com"]
    refused = dash.post("/dashboard/settings/origins/", {"origins": "store.example.com/shop"}, follow=True)
    assert "scheme and host, no path" in refused.content.decode()
    assert StoreConnection.objects.get(shop=shop).allowed_origins == ["http://localhost:8080",
                                                                      "https://store.example.com"]


def test_endpoints_are_added_checked_and_disabled_only_in_the_owners_shop(dash, shop, other_shop):
    added = dash.post("/dashboard/settings/webhooks/", {"url": "https://store.example.com/hook",
                                                        "topics": ["listing.retired"]}, follow=True)
    assert "Webhooks will go to https://store.example.com/hook" in added.content.decode()
    endpoint = WebhookEndpoint.objects.get(shop=shop)
    assert endpoint.topics == ["listing.retired"] and endpoint.secret.startswith("whsec_")
    bad = dash.post("/dashboard/settings/webhooks/", {"url": "not a url"}, follow=True)
    assert "The endpoint was not added" in bad.content.decode() and WebhookEndpoint.objects.count() == 1
    theirs = webhook_endpoint_create(shop=other_shop, url="https://cranes.example.com/hook")
    assert dash.post(f"/dashboard/settings/webhooks/{theirs.id}/disable/").status_code == 404
    dash.post(f"/dashboard/settings/webhooks/{endpoint.id}/disable/")
    assert not WebhookEndpoint.objects.get(pk=endpoint.pk).is_active
    assert WebhookEndpoint.objects.get(pk=theirs.pk).is_active


def test_a_received_webhook_is_listed_with_what_it_stored(dash, shop):
    InboundWebhook.objects.create(shop=shop, source="shopify", webhook_id="b54557e4", topic="orders/create",
                                  received_at=days_ago(0), accepted=3, duplicates=1, rejected=1)
    html = page_of(dash)
    assert "orders/create" in html and "3 (+1 already known)" in html


def test_the_shopify_signing_secret_is_saved_never_shown_and_refused_when_it_cannot_be_one(dash, shop):
    secret = "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"
    assert "No Shopify signing secret yet" in page_of(dash)
    saved = dash.post("/dashboard/settings/shopify-secret/", {"shopify_secret": secret}, follow=True).content.decode()
    assert "send its webhooks straight here" in saved and "A Shopify signing secret is saved" in saved
    assert secret not in saved and StoreConnection.objects.get(shop=shop).shopify_secret == secret
    refused = dash.post("/dashboard/settings/shopify-secret/", {"shopify_secret": "abc"}, follow=True)
    assert "was not saved" in refused.content.decode() and "16 to 200 characters" in refused.content.decode()
    assert StoreConnection.objects.get(shop=shop).shopify_secret == secret
