"""Signed webhooks from hosted stores: check who sent them, then store their products and events.

A delivery is remembered by the sender's webhook id (`InboundWebhook`), so a replay stores nothing
again; its events are also deduplicated by their own ids, as every ingestion path is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from profiles.connect.services import webhook_secrets_valid
from profiles.connect.webhook_shapes import SHAPES, PayloadShapeError, ShapedPayload
from profiles.ingestion.services import IngestResult, events_ingest, failed_request_record
from profiles.ingestion.validation import NUL_REASON
from profiles.models import InboundWebhook, Shop, StoreConnection
from profiles.services import ProductRow, product_upsert, products_ensure
from shop_ai_connect.client.signing import SignatureError, is_shopify_signed, shopify_webhook_verify, webhook_verify

logger = logging.getLogger(__name__)
MAX_WEBHOOK_ID_CHARS = 200
MAX_PRICE = Decimal("9999999999.99")


def webhook_authenticate(*, shop_id: str | None, headers: Mapping[str, str], body: bytes,
                         source: str = "generic") -> tuple[Shop, str]:
    """The shop that signed this delivery and the delivery's id; `SignatureError` otherwise. Shopify
    deliveries may carry Shopify's own signature instead of ours."""
    if not shop_id or not shop_id.isdigit():
        raise SignatureError("unknown_shop", "Add ?shop=<your shop id> to the webhook URL (the dashboard "
                                             "settings show the whole URL).")
    connection = StoreConnection.objects.select_related("shop").filter(shop_id=int(shop_id)).first()
    if connection is None:
        raise SignatureError("unknown_shop", f"Shop {shop_id} has no webhook secret yet; open the dashboard "
                                             "settings to create one.")
    if source == "shopify" and is_shopify_signed(headers):
        webhook_id = shopify_webhook_verify(secret=connection.shopify_secret, headers=headers, body=body)
    else:
        webhook_id = webhook_verify(secrets=webhook_secrets_valid(connection=connection), headers=headers, body=body)
    if len(webhook_id) > MAX_WEBHOOK_ID_CHARS:
        raise SignatureError("bad_webhook_id", f"The webhook id must be at most {MAX_WEBHOOK_ID_CHARS} characters.")
    return connection.shop, webhook_id


@dataclass
class WebhookOutcome:
    webhook_id: str
    duplicate: bool = False
    products: int = 0
    rejected_products: list[dict] = field(default_factory=list)
    result: IngestResult = field(default_factory=IngestResult)

    def as_response(self) -> dict:
        return {"webhook_id": self.webhook_id, "duplicate": self.duplicate, "products": self.products,
                "rejected_products": self.rejected_products, **self.result.as_response()}


def webhook_receive(*, shop: Shop, source: str, topic: str, webhook_id: str, payload,
                    now: datetime | None = None) -> WebhookOutcome:
    """Store an authenticated delivery. A payload of the wrong shape is kept as a failed event and
    `PayloadShapeError` raised; bad products or events inside a good payload are kept as failed
    events while the rest is stored."""
    if InboundWebhook.objects.filter(shop=shop, source=source, webhook_id=webhook_id).exists():
        return WebhookOutcome(webhook_id=webhook_id, duplicate=True)
    try:
        shaped = SHAPES[source](topic, payload)
    except PayloadShapeError as exc:
        failed_request_record(shop=shop, errors=exc.errors, payload=payload, source=f"webhook:{source}")
        raise
    return _store(shop=shop, source=source, topic=topic, webhook_id=webhook_id, shaped=shaped,
                  now=now or timezone.now())


@transaction.atomic
def _store(*, shop: Shop, source: str, topic: str, webhook_id: str, shaped: ShapedPayload,
           now: datetime) -> WebhookOutcome:
    record, created = InboundWebhook.objects.get_or_create(
        shop=shop, source=source, webhook_id=webhook_id, defaults={"topic": topic[:100], "received_at": now})
    outcome = WebhookOutcome(webhook_id=webhook_id, duplicate=not created)
    if not created:  # the same delivery, stored by a concurrent request since we looked
        return outcome
    products_ensure(shop=shop, rows=[ProductRow(external_id=item["product_id"],
                                                title=item["title"][:300].replace("\x00", ""),
                                                price=_price(item.get("price"), {}))
                                     for item in shaped.order_products if _usable_id(item["product_id"])])
    _upsert_products(shop, source, shaped.products, outcome)
    outcome.result = events_ingest(shop=shop, raw_events=shaped.events, source=f"webhook:{source}", now=now)
    record.products, record.accepted = outcome.products, outcome.result.accepted
    record.duplicates = outcome.result.duplicates
    record.rejected = len(outcome.result.rejected) + len(outcome.rejected_products)
    record.save(update_fields=["products", "accepted", "duplicates", "rejected"])
    return outcome


def _usable_id(product_id: str) -> bool:
    """An order line's product id we can store; the line's event is refused with the reason otherwise."""
    return len(product_id) <= 100 and "\x00" not in product_id


def _upsert_products(shop: Shop, source: str, products: list, outcome: WebhookOutcome) -> None:
    for index, raw in enumerate(products):
        fields, errors = product_fields_clean(raw)
        if errors:
            product_id = raw.get("product_id") if isinstance(raw, dict) else None
            outcome.rejected_products.append({"index": index, "product_id": product_id, "errors": errors})
            failed_request_record(shop=shop, errors=errors, payload=raw, source=f"webhook:{source}")
            continue
        product_upsert(shop=shop, **fields)
        outcome.products += 1


def _text(raw: dict, name: str, limit: int, errors: dict, required: bool = False) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            errors[name] = "is required"
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors[name] = "must be a string"
        return ""
    text = str(value).strip()
    if len(text) > limit:
        errors[name] = f"must be at most {limit} characters"
    elif "\x00" in text:
        errors[name] = NUL_REASON
    return text


def _price(value, errors: dict) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        errors["price"] = f"{value!r} is not a decimal number such as \"68.00\""
        return None
    if not price.is_finite() or price < 0 or price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        errors["price"] = "must be a non-negative amount with at most two decimals"
        return None
    return price


def product_fields_clean(raw) -> tuple[dict | None, dict]:
    """The keyword arguments of `product_upsert` from a product in a webhook, or the errors."""
    if not isinstance(raw, dict):
        return None, {"product": "must be a JSON object"}
    errors: dict[str, str] = {}
    fields = {"external_id": _text(raw, "product_id", 100, errors, required=True),
              "title": _text(raw, "title", 300, errors, required=True),
              "description": _text(raw, "description", 20_000, errors),
              "category": _text(raw, "category", 100, errors), "price": _price(raw.get("price"), errors)}
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or len(tags) > 50 or not all(isinstance(t, str) and len(t) <= 50 and "\x00" not in t
                                                               for t in tags):
        errors["tags"] = "must be a list of at most 50 strings of at most 50 characters"
    fields["tags"] = tags
    return (None, errors) if errors else (fields, {})
