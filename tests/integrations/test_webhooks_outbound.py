"""Outbound webhooks: publishing or retiring a listing is announced to the shop's endpoints, signed,
delivered by the `webhooks` queue, retried with backoff, and logged."""

from __future__ import annotations

import json
import time

import pytest
from django.core.exceptions import ValidationError

from generation.actors import deliver_webhook
from generation.models import DeliveryStatus, WebhookDelivery
from generation.webhooks import MAX_ATTEMPTS, DeliveryFailed, webhook_delivery_attempt, webhook_endpoint_create
from profiles.services import shop_create
from tests.conftest import client_for
from tests.dashboard.factories import job_for, persona_for, product_for
from tests.integrations.readme import readme_snippet


def readme_verifier():
    scope: dict = {}
    exec(readme_snippet("webhook-verify"), scope)  # noqa: S102 - the README's snippet, run as written
    return scope["is_from_shop_ai"]


def approved_listing(shop, product_id: str = "vase-1"):
    return job_for(shop, product_for(shop, product_id), persona_for(shop), listing_status="approved").listing


def wait_until(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_publishing_is_announced_signed_and_a_failed_attempt_is_retried_by_the_queue(
        shop, receiver_factory, worker, monkeypatch):
    monkeypatch.setitem(deliver_webhook.options, "min_backoff", 50)  # 10 s in production
    monkeypatch.setitem(deliver_webhook.options, "max_backoff", 100)
    receiver = receiver_factory([503, 200])
    endpoint = webhook_endpoint_create(shop=shop, url=receiver.url)
    listing = approved_listing(shop)
    response = client_for(shop).post(f"/api/v1/listings/{listing.id}/publish")
    assert response.status_code == 200

    delivery = WebhookDelivery.objects.get(shop=shop)
    wait_until(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_status, delivery.last_error) == (2, 200, "")
    assert len(receiver.requests) == 2
    (first_headers, first_body), (headers, body) = receiver.requests
    assert first_body == body and first_headers["X-ShopAI-Webhook-Id"] == headers["X-ShopAI-Webhook-Id"]
    assert readme_verifier()(endpoint.secret, headers, body)
    assert not readme_verifier()("whsec_someone-else", headers, body)
    announced = json.loads(body)
    assert (announced["id"], announced["topic"], announced["shop_id"]) == (
        delivery.delivery_id, "listing.published", shop.id)
    assert announced["data"]["listing_id"] == listing.id and announced["data"]["product_id"] == "vase-1"
    assert announced["data"]["status"] == "published" and announced["data"]["image_url"].endswith("/a.png")


@pytest.mark.django_db
def test_retiring_is_announced_to_subscribers_of_that_topic_and_only_in_the_listings_shop(shop, receiver_factory,
                                                                                         django_capture_on_commit_callbacks):
    everything = webhook_endpoint_create(shop=shop, url=receiver_factory([200]).url)
    webhook_endpoint_create(shop=shop, url=receiver_factory([200]).url, topics=["listing.published"])
    other_shop = shop_create(name="Paper Cranes")
    webhook_endpoint_create(shop=other_shop, url=receiver_factory([200]).url)
    listing = approved_listing(shop)
    with django_capture_on_commit_callbacks() as callbacks:
        client_for(shop).post(f"/api/v1/listings/{listing.id}/retire")
    retired = WebhookDelivery.objects.get()
    assert (retired.endpoint, retired.topic, retired.payload["data"]["status"]) == (
        everything, "listing.retired", "retired")
    assert len(callbacks) == 1  # the delivery is enqueued after commit
    assert not WebhookDelivery.objects.filter(shop=other_shop).exists()


@pytest.mark.django_db
def test_an_endpoint_that_keeps_failing_is_given_up_after_the_last_attempt_and_logged(shop, receiver_factory):
    receiver = receiver_factory([500])
    webhook_endpoint_create(shop=shop, url=receiver.url)
    listing = approved_listing(shop)
    client_for(shop).post(f"/api/v1/listings/{listing.id}/publish")
    delivery = WebhookDelivery.objects.get()
    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(DeliveryFailed):
            webhook_delivery_attempt(delivery_id=delivery.id)
        assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == attempt
    final = webhook_delivery_attempt(delivery_id=delivery.id)  # the last: no raise, nothing more to retry
    assert (final.status, final.attempts, final.response_status) == (DeliveryStatus.FAILED, MAX_ATTEMPTS, 500)
    assert final.last_error.startswith("HTTP 500")
    assert webhook_delivery_attempt(delivery_id=delivery.id).attempts == MAX_ATTEMPTS  # idempotent once finished
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert deliver_webhook.options["max_retries"] == MAX_ATTEMPTS - 1 and deliver_webhook.queue_name == "webhooks"


@pytest.mark.django_db
def test_an_unreachable_endpoint_is_an_attempt_with_the_reason(shop, receiver_factory):
    receiver = receiver_factory([200])
    endpoint = webhook_endpoint_create(shop=shop, url=receiver.url)
    receiver.close()  # nothing listens there any more
    client_for(shop).post(f"/api/v1/listings/{approved_listing(shop).id}/publish")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    with pytest.raises(DeliveryFailed):
        webhook_delivery_attempt(delivery_id=delivery.id)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_status is None
    assert "ConnectionError" in delivery.last_error


@pytest.mark.django_db
def test_endpoints_need_an_http_url_and_known_topics(shop):
    with pytest.raises(ValidationError, match="not an http"):
        webhook_endpoint_create(shop=shop, url="ftp://store.example.com/hook")
    with pytest.raises(ValidationError, match="Unknown topic"):
        webhook_endpoint_create(shop=shop, url="https://store.example.com/hook", topics=["report.sent"])


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "http://localhost/hook", "http://10.1.2.3/hook",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/hook"])
def test_webhooks_to_our_own_network_are_refused(shop, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(ValidationError, match="private or local address"):
        webhook_endpoint_create(shop=shop, url=url)


@pytest.mark.django_db
def test_an_endpoint_pointed_inside_after_it_was_added_is_not_posted_to(shop, receiver_factory, settings):
    receiver = receiver_factory([200])
    endpoint = webhook_endpoint_create(shop=shop, url=receiver.url)
    delivery = WebhookDelivery.objects.create(shop=shop, endpoint=endpoint, topic="listing.published",
                                              delivery_id="whd_inside", payload={"id": "whd_inside"})
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(DeliveryFailed):
        webhook_delivery_attempt(delivery_id=delivery.id)
    delivery.refresh_from_db()
    assert receiver.requests == [] and "private or local address" in delivery.last_error


@pytest.mark.django_db
def test_the_sweeper_resends_deliveries_whose_message_was_lost_and_leaves_waiting_retries_alone(
        shop, receiver_factory, django_capture_on_commit_callbacks, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from generation import webhooks
    from shop_ai.sweeper import stuck_work_sweep

    endpoint = webhook_endpoint_create(shop=shop, url=receiver_factory([200]).url)
    now = timezone.now()

    def delivery(name, created_minutes_ago, last_attempt_minutes_ago=None, status=DeliveryStatus.PENDING):
        made = WebhookDelivery.objects.create(shop=shop, endpoint=endpoint, topic="listing.published",
                                              delivery_id=f"whd_{name}", payload={"id": name}, status=status)
        last = now - timedelta(minutes=last_attempt_minutes_ago) if last_attempt_minutes_ago is not None else None
        WebhookDelivery.objects.filter(pk=made.pk).update(created_at=now - timedelta(minutes=created_minutes_ago),
                                                          last_attempt_at=last)
        return made.pk

    never_sent = delivery("never", 10)
    fresh = delivery("fresh", 0)
    waiting_retry = delivery("waiting", 90, last_attempt_minutes_ago=40)
    silent = delivery("silent", 200, last_attempt_minutes_ago=120)
    delivery("done", 300, last_attempt_minutes_ago=200, status=DeliveryStatus.DELIVERED)
    sent = []
    monkeypatch.setattr(webhooks, "_enqueue", sent.extend)
    report = stuck_work_sweep()
    assert report.webhook_deliveries == sent == [never_sent, silent]
    assert fresh not in sent and waiting_retry not in sent and "2 webhook delivery(ies)" in str(report)
