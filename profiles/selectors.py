"""Reads of the profiles app. Every query is scoped by shop."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from profiles.models import Customer, Event, Persona, Product, Shop
from profiles.nlp.keywords import EVENT_TYPE_WEIGHTS


@dataclass
class CustomerSignal:
    """Everything persona learning reads about one customer."""

    weighted_texts: list[tuple[str, float]] = field(default_factory=list)
    reviews: list[tuple[int, str]] = field(default_factory=list)  # (event pk, text)
    event_count: int = 0


def _product_texts(shop: Shop, product_ids: set[int]) -> dict[int, str]:
    rows = Product.objects.filter(shop=shop, id__in=product_ids).values_list("id", "title", "tags")
    return {pk: " ".join([title, *(tag for tag in (tags or []) if isinstance(tag, str))]) for pk, title, tags in rows}


def customer_signals(*, shop: Shop, customer_ids: list[int]) -> dict[int, CustomerSignal]:
    """Two queries for any number of customers: their events, then the products those touch."""
    rows = list(
        Event.objects.filter(shop=shop, customer_id__in=customer_ids)
        .values_list("id", "customer_id", "type", "product_id", "text")
    )
    products = _product_texts(shop, {row[3] for row in rows if row[3] is not None})
    signals: dict[int, CustomerSignal] = defaultdict(CustomerSignal)
    for pk, customer_id, kind, product_id, text in rows:
        signal = signals[customer_id]
        signal.event_count += 1
        if kind == "review" and text:
            signal.reviews.append((pk, text))
            signal.weighted_texts.append((text, EVENT_TYPE_WEIGHTS["review"]))
        elif product_id is not None and kind in EVENT_TYPE_WEIGHTS:
            signal.weighted_texts.append((products.get(product_id, ""), EVENT_TYPE_WEIGHTS[kind]))
    return {customer_id: signals[customer_id] for customer_id in customer_ids}


def stale_customer_ids(*, shop: Shop, limit: int | None = None) -> list[int]:
    queryset = Customer.objects.filter(shop=shop, profile_stale_since__isnull=False).order_by("profile_stale_since")
    ids = queryset.values_list("id", flat=True)
    return list(ids[:limit] if limit else ids)


def live_personas(*, shop: Shop):
    return Persona.objects.filter(shop=shop, retired_at__isnull=True).order_by("is_new_visitors", "-size", "id")
