"""Reads of the profiles app. Every query is scoped by shop."""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field

from profiles.models import ApiKey, Customer, Event, Persona, Product, Shop, StoreConnection
from profiles.nlp.keywords import EVENT_TYPE_WEIGHTS


# Every API request authenticates; remembering keys for a few seconds saves a query per request
# (the single-event benchmark's largest cost after the insert). A key revoked in another process
# stops working within this time; in this process at once (`api_key_forget`).
API_KEY_CACHE_SECONDS = 5.0
API_KEY_CACHE_SIZE = 10_000
_api_keys: dict[str, tuple[float, ApiKey | None]] = {}


def api_key_digest(raw_key: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_active(*, raw_key: str) -> ApiKey | None:
    """The unrevoked key (with its shop) behind a raw key, or None."""
    digest = api_key_digest(raw_key)
    now = time.monotonic()
    cached = _api_keys.get(digest)
    if cached is not None and cached[0] > now:
        return cached[1]
    api_key = ApiKey.objects.select_related("shop").filter(digest=digest, revoked_at__isnull=True).first()
    if len(_api_keys) >= API_KEY_CACHE_SIZE:  # random wrong keys must not grow it without bound
        _api_keys.clear()
    _api_keys[digest] = (now + API_KEY_CACHE_SECONDS, api_key)
    return api_key


def api_key_forget(*, digest: str) -> None:
    _api_keys.pop(digest, None)


@dataclass
class CustomerSignal:
    """Everything persona learning reads about one customer."""

    weighted_texts: list[tuple[str, float]] = field(default_factory=list)
    weighted_tags: list[tuple[list[str], float]] = field(default_factory=list)
    weighted_products: list[tuple[int, float]] = field(default_factory=list)  # (product pk, event weight)
    reviews: list[tuple[int, str]] = field(default_factory=list)  # (event pk, text)
    event_count: int = 0


def _product_texts(shop: Shop, product_ids: set[int]) -> dict[int, tuple[str, list]]:
    rows = Product.objects.filter(shop=shop, id__in=product_ids).values_list("id", "title", "tags")
    return {pk: (title, tags or []) for pk, title, tags in rows}


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
            title, tags = products.get(product_id, ("", []))
            signal.weighted_texts.append((title, EVENT_TYPE_WEIGHTS[kind]))
            signal.weighted_tags.append((tags, EVENT_TYPE_WEIGHTS[kind]))
            signal.weighted_products.append((product_id, EVENT_TYPE_WEIGHTS[kind]))
    return {customer_id: signals[customer_id] for customer_id in customer_ids}


def stale_customer_ids(*, shop: Shop, limit: int | None = None) -> list[int]:
    queryset = Customer.objects.filter(shop=shop, profile_stale_since__isnull=False).order_by("profile_stale_since")
    ids = queryset.values_list("id", flat=True)
    return list(ids[:limit] if limit else ids)


def live_personas(*, shop: Shop):
    return Persona.objects.filter(shop=shop, retired_at__isnull=True).order_by("is_new_visitors", "-size", "id")


def store_connection_by_publishable_key(*, key: str) -> StoreConnection | None:
    if not key or len(key) > 40 or "\x00" in key:  # PostgreSQL cannot even compare a NUL
        return None
    return StoreConnection.objects.select_related("shop").filter(publishable_key=key).first()
