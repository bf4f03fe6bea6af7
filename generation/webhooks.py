"""Outbound webhooks: shop-ai tells the shop's systems when a listing goes live or is retired, and
when a benefit report is ready (`analytics/announcements.py`).

Each announcement becomes one `WebhookDelivery` per subscribed endpoint, written in the same
transaction as the listing move, and sent after commit by the `webhooks` queue. The body is fixed
when the delivery is created (so every attempt sends the same bytes and the same webhook id); each
attempt is signed afresh, with its own timestamp, as `shop_ai_connect.client.signing` describes.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from generation.models import DeliveryStatus, Listing, WebhookDelivery, WebhookEndpoint, WebhookTopic
from profiles.models import Shop
from shop_ai_connect.client.client import encode
from shop_ai_connect.client.signing import webhook_headers

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8  # with the actor's backoff (10 s doubling, capped at 1 h) about 40 minutes of tries
REQUEST_TIMEOUT = (3.05, 10)
RETRY_SILENCE = timedelta(hours=1, minutes=15)  # longer than the actor's longest backoff (1 h)
ENDPOINTS_PER_SHOP = 10
TOPIC_HEADER = "X-ShopAI-Topic"


class DeliveryFailed(Exception):
    """This attempt failed and the delivery is still pending: the actor raises it to be retried."""


def _check_url(url: str) -> str:
    url = url.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"url": f"{url!r} is not an http(s) URL; enter the full address that receives "
                                      "the webhooks, e.g. https://store.example.com/hooks/shop-ai"}) from None
    if problem := _address_refused(url):
        raise ValidationError({"url": problem})
    return url


def _address_refused(url: str) -> str | None:
    """Why shop-ai will not post to `url`, or None. A webhook URL must not reach our own network
    (localhost, private ranges, the cloud metadata address): checked when the endpoint is added and
    again before every attempt, since a name can be pointed elsewhere later."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        return None  # not resolvable now: the attempt itself will fail and say so
    if settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        return None
    inside = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_global)
    if inside:
        return (f"{host!r} resolves to {', '.join(inside)}, a private or local address; webhooks go to public "
                "addresses only (WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true allows them on a private deployment)")
    return None


@transaction.atomic
def webhook_endpoint_create(*, shop: Shop, url: str, topics: list[str] | None = None) -> WebhookEndpoint:
    topics = sorted(set(topics or []))
    unknown = [topic for topic in topics if topic not in WebhookTopic.values]
    if unknown:
        raise ValidationError({"topics": f"Unknown topic(s) {', '.join(unknown)}; choose from "
                                         f"{', '.join(WebhookTopic.values)}."})
    if WebhookEndpoint.objects.filter(shop=shop, is_active=True).count() >= ENDPOINTS_PER_SHOP:
        raise ValidationError({"url": f"A shop can have {ENDPOINTS_PER_SHOP} active endpoints; disable one first."})
    return WebhookEndpoint.objects.create(shop=shop, url=_check_url(url), topics=topics,
                                          secret="whsec_" + secrets.token_urlsafe(32))


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.is_active = False
    endpoint.save(update_fields=["is_active"])
    return endpoint


def webhook_subscribers(*, shop_id: int, topic: str) -> list[WebhookEndpoint]:
    """The shop's active endpoints that want `topic` (an endpoint with no topics wants them all)."""
    return [endpoint for endpoint in WebhookEndpoint.objects.filter(shop_id=shop_id, is_active=True)
            if not endpoint.topics or topic in endpoint.topics]


def _deliveries_create(endpoints: list[WebhookEndpoint], shop_id: int, topic: str, data: dict) -> list[WebhookDelivery]:
    deliveries = []
    for endpoint in endpoints:
        delivery_id = f"whd_{uuid.uuid4().hex}"
        payload = {"id": delivery_id, "topic": topic, "shop_id": shop_id,
                   "created_at": timezone.now().isoformat(), "data": data}
        deliveries.append(WebhookDelivery.objects.create(shop_id=shop_id, endpoint=endpoint, topic=topic,
                                                         delivery_id=delivery_id, payload=payload))
    if deliveries:
        ids = [delivery.id for delivery in deliveries]
        transaction.on_commit(lambda: _enqueue(ids), robust=True)
    return deliveries


def webhooks_announce(*, shop_id: int, topic: str, data: dict) -> list[WebhookDelivery]:
    """Queue `topic` to every active endpoint of the shop that wants it; sent after commit."""
    return _deliveries_create(webhook_subscribers(shop_id=shop_id, topic=topic), shop_id, topic, data)


def listing_announce(*, listing: Listing, topic: str) -> list[WebhookDelivery]:
    """As `webhooks_announce`, reading the listing's details only when someone listens."""
    endpoints = webhook_subscribers(shop_id=listing.shop_id, topic=topic)
    if not endpoints:
        return []
    return _deliveries_create(endpoints, listing.shop_id, topic, listing_webhook_data(listing=listing))


def _enqueue(delivery_ids: list[int]) -> None:
    from generation.actors import deliver_webhook

    for delivery_id in delivery_ids:
        deliver_webhook.send(delivery_id)


def listing_webhook_data(*, listing: Listing) -> dict:
    image = listing.image.best_file
    return {"listing_id": listing.id, "product_id": listing.product.external_id, "persona_id": listing.persona_id,
            "status": listing.status, "title": listing.title,
            "image_url": f"{settings.PUBLIC_URL.rstrip('/')}{image.url}" if image else None,
            "published_at": listing.published_at.isoformat() if listing.published_at else None,
            "retired_at": listing.retired_at.isoformat() if listing.retired_at else None}


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    if problem := _address_refused(delivery.endpoint.url):
        return None, f"Not sent: {problem}"
    body = encode(delivery.payload)
    headers = webhook_headers(secret=delivery.endpoint.secret, body=body, webhook_id=delivery.delivery_id)
    headers[TOPIC_HEADER] = delivery.topic
    try:
        # No redirects: the owner entered this URL, not wherever it points today.
        response = requests.post(delivery.endpoint.url, data=body, headers=headers, timeout=REQUEST_TIMEOUT,
                                 allow_redirects=False)
    except requests.RequestException as problem:
        return None, f"{type(problem).__name__}: {problem}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """One attempt. Idempotent: a delivered or failed delivery is left alone. Raises `DeliveryFailed`
    while attempts remain, so the actor's retry (with backoff) makes the next one."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return delivery
    if not delivery.endpoint.is_active:
        status_code, error = None, "The endpoint was disabled before delivery."
        delivery.attempts = MAX_ATTEMPTS
    else:
        status_code, error = _post(delivery)
        delivery.attempts += 1
    delivery.response_status, delivery.last_error = status_code, error
    delivery.last_attempt_at = timezone.now()
    if not error:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, delivery.last_attempt_at
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    delivery.save()
    if delivery.status == DeliveryStatus.PENDING:
        raise DeliveryFailed(f"{delivery.delivery_id} attempt {delivery.attempts}: {error}")
    return delivery


def webhook_deliveries_resend_lost(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Pending deliveries whose message a broker lost, sent again: never attempted after
    `older_than`, or silent since their last attempt for longer than any retry backoff. Sending
    twice is harmless (the attempt is idempotent, and receivers drop a repeated webhook id)."""
    now = timezone.now()
    lost = list(WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(last_attempt_at__isnull=True, created_at__lt=now - older_than)
        | Q(last_attempt_at__lt=now - max(older_than, RETRY_SILENCE))).order_by("id").values_list("id", flat=True))
    _enqueue(lost)
    return lost
