"""Oscar objects → shop-ai products and events. Ids are stable where Oscar has an id (orders,
reviews), so a handler that runs twice sends the same event twice and shop-ai keeps one; views and
basket additions get an id when the signal fires, which every retry of the send reuses."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

from django.utils import timezone
from django.utils.html import strip_tags

VISITOR_SESSION_KEY = "shop_ai_visitor"


def product_id_for(product) -> str:
    """Variants (child products) count as their parent: that is the product a shopper looks at."""
    return str(product.parent_id or product.pk)


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:24]


def customer_id_for_user(user) -> str | None:
    return f"oscar-user-{user.pk}" if user is not None and user.is_authenticated else None


def customer_id_for_request(request, *, create: bool = True) -> str | None:
    """The signed-in user, or an anonymous visitor id kept in the session."""
    known = customer_id_for_user(getattr(request, "user", None))
    if known or request is None or not hasattr(request, "session"):
        return known
    visitor = request.session.get(VISITOR_SESSION_KEY)
    if visitor is None and create:
        visitor = request.session[VISITOR_SESSION_KEY] = f"oscar-visitor-{uuid.uuid4().hex}"
    return visitor


def _price(product) -> Decimal | None:
    record = product.stockrecords.order_by("id").first()
    return record.price if record is not None else None


def product_fields(product) -> dict:
    """Keyword arguments of `ShopAIClient.upsert_product` (without the photo)."""
    product = product.parent or product
    category = product.get_categories().first()
    return {"title": product.get_title()[:300] or f"Product {product.pk}",
            "description": strip_tags(product.description or "").strip()[:20_000],
            "category": (category.name if category else product.get_product_class().name)[:100],
            "price": _price(product), "tags": []}


def product_photo(product) -> bytes | None:
    image = (product.parent or product).primary_image()
    if isinstance(image, dict):  # Oscar's stand-in for a product without images
        return None
    with image.original.open("rb") as photo:
        return photo.read()


def _now() -> str:
    return timezone.now().isoformat()


def view_event(*, product, customer_id: str) -> dict:
    return {"event_id": f"oscar-view-{uuid.uuid4().hex}", "type": "view", "customer_id": customer_id,
            "product_id": product_id_for(product), "occurred_at": _now()}


def basket_event(*, product, customer_id: str, quantity: int) -> dict:
    return {"event_id": f"oscar-basket-{uuid.uuid4().hex}", "type": "add_to_cart", "customer_id": customer_id,
            "product_id": product_id_for(product), "occurred_at": _now(), "quantity": quantity}


def order_customer_id(order) -> str:
    by_user = customer_id_for_user(order.user)
    if by_user:
        return by_user
    email = order.guest_email or order.email or ""
    return f"oscar-guest-{_digest(email)}" if email else f"oscar-order-{order.number}"


def order_events(*, order) -> list[dict]:
    """One purchase per order line, with the price the shopper paid for one item."""
    customer_id = order_customer_id(order)
    events = []
    for line in order.lines.select_related("product").order_by("id"):
        event = {"event_id": f"oscar-order-{order.number}-line-{line.pk}", "type": "purchase",
                 "customer_id": customer_id, "occurred_at": order.date_placed.isoformat(),
                 "quantity": line.quantity, "currency": order.currency,
                 "unit_price": str(line.unit_price_incl_tax if line.unit_price_incl_tax is not None
                                   else line.unit_price_excl_tax),
                 "properties": {"order_number": order.number, "sku": line.partner_sku or ""}}
        if line.product is not None:  # a deleted product: refused by shop-ai and kept as a failed event
            event["product_id"] = product_id_for(line.product)
        events.append(event)
    return events


def review_event(*, review) -> dict:
    customer_id = customer_id_for_user(review.user) or f"oscar-reviewer-{_digest(review.email or review.name or '')}"
    event = {"event_id": f"oscar-review-{review.pk}", "type": "review", "customer_id": customer_id,
             "product_id": product_id_for(review.product), "occurred_at": review.date_created.isoformat(),
             "text": f"{review.title}。{review.body}" if review.title else review.body}
    if 1 <= review.score <= 5:  # Oscar allows 0; shop-ai's ratings are 1-5
        event["rating"] = review.score
    return event
