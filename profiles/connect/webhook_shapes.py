"""Webhook payload shapes → shop-ai products and events.

`generic`: `{"products": [...], "events": [...]}`, each item in the shape of
`PUT /api/v1/products/{id}` (plus `product_id`) and `POST /api/v1/events/batch`.

`shopify`: Shopify's REST webhook bodies, picked by the topic header: `orders/create` and
`orders/paid` (one purchase event per line item, id `shopify-order-<order>-line-<line>`, so the
two topics, or a redelivery, never count an order twice) and `products/create` / `products/update`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.html import strip_tags

MAX_ITEMS = 500


class PayloadShapeError(ValueError):
    def __init__(self, errors: dict):
        super().__init__(str(errors))
        self.errors = errors


@dataclass
class ShapedPayload:
    products: list = field(default_factory=list)  # upserted, in the generic product shape
    order_products: list[dict] = field(default_factory=list)  # created only if the shop lacks them
    events: list = field(default_factory=list)


def _items(payload: dict, name: str) -> list:
    items = payload.get(name, [])
    if not isinstance(items, list):
        raise PayloadShapeError({name: f"must be a list of objects (at most {MAX_ITEMS})"})
    if len(items) > MAX_ITEMS:
        raise PayloadShapeError({name: f"{len(items)} items; the limit is {MAX_ITEMS} a delivery. Split it."})
    return items


def generic(topic: str, payload) -> ShapedPayload:
    if not isinstance(payload, dict) or not {"events", "products"} & payload.keys():
        raise PayloadShapeError({"payload": 'send {"products": [...], "events": [...]}: products as for '
                                            "PUT /api/v1/products/{id} with a product_id, events as for "
                                            "POST /api/v1/events/batch"})
    return ShapedPayload(products=_items(payload, "products"), events=_items(payload, "events"))


def _shopify_customer(order: dict) -> str:
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    if customer.get("id") is not None:
        return f"shopify-customer-{customer['id']}"
    email = order.get("email") or customer.get("email")
    if isinstance(email, str) and email.strip():
        # A guest is known by their email; only a digest of it is kept.
        return "shopify-email-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]
    return f"shopify-order-{order.get('id')}"


def _shopify_line_event(order: dict, line, customer_id: str):
    if not isinstance(line, dict):
        return line  # refused by validation with its reason, like any malformed event
    event = {"event_id": f"shopify-order-{order['id']}-line-{line.get('id')}", "type": "purchase",
             "customer_id": customer_id, "occurred_at": order.get("processed_at") or order.get("created_at"),
             "quantity": line.get("quantity"), "unit_price": line.get("price"),
             "properties": {"order_id": str(order["id"]), "variant_id": line.get("variant_id"),
                            "sku": line.get("sku") or ""}}
    if order.get("currency"):
        event["currency"] = order["currency"]
    if line.get("product_id") is not None:  # a custom line item has none: refused as a purchase without product
        event["product_id"] = str(line["product_id"])
    return event


def _shopify_order(payload: dict) -> ShapedPayload:
    if payload.get("id") is None or not isinstance(payload.get("line_items"), list):
        raise PayloadShapeError({"payload": "a Shopify order needs `id` and a `line_items` list "
                                            "(the orders/create webhook body)"})
    customer_id = _shopify_customer(payload)
    lines = _items(payload, "line_items")
    known = [{"product_id": str(line["product_id"]), "title": str(line.get("title") or line["product_id"]),
              "price": line.get("price")}
             for line in lines if isinstance(line, dict) and line.get("product_id") is not None]
    return ShapedPayload(order_products=known, events=[_shopify_line_event(payload, line, customer_id)
                                                       for line in lines])


def _shopify_product(payload: dict) -> ShapedPayload:
    if payload.get("id") is None or not payload.get("title"):
        raise PayloadShapeError({"payload": "a Shopify product needs `id` and `title` "
                                            "(the products/create webhook body)"})
    variants = payload.get("variants") if isinstance(payload.get("variants"), list) else []
    prices = [variant.get("price") for variant in variants if isinstance(variant, dict) and variant.get("price")]
    tags = payload.get("tags") or ""
    return ShapedPayload(products=[{
        "product_id": str(payload["id"]), "title": payload["title"],
        "description": strip_tags(payload.get("body_html") or "").strip(),
        "category": payload.get("product_type") or "", "price": prices[0] if prices else None,
        "tags": [tag.strip() for tag in tags.split(",") if tag.strip()] if isinstance(tags, str) else tags,
    }])


SHOPIFY_TOPICS: dict[str, Callable[[dict], ShapedPayload]] = {
    "orders/create": _shopify_order, "orders/paid": _shopify_order,
    "products/create": _shopify_product, "products/update": _shopify_product,
}


def shopify(topic: str, payload) -> ShapedPayload:
    if topic not in SHOPIFY_TOPICS:
        raise PayloadShapeError({"topic": f"{topic or 'no topic'!s} is not handled; send X-ShopAI-Topic (or "
                                          f"X-Shopify-Topic) as one of {', '.join(SHOPIFY_TOPICS)}"})
    if not isinstance(payload, dict):
        raise PayloadShapeError({"payload": "must be a JSON object (a Shopify webhook body)"})
    return SHOPIFY_TOPICS[topic](payload)


SHAPES: dict[str, Callable[[str, object], ShapedPayload]] = {"generic": generic, "shopify": shopify}
