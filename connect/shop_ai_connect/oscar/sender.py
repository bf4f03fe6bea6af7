"""The process-wide sender: one client and one batching thread per Oscar process, made on first use."""

from __future__ import annotations

import threading
import time

from django.conf import settings

from shop_ai_connect.client import EventBatcher, ShopAIClient, ShopAIError, StorefrontProduct

DEFAULT_IMAGE_TIMEOUT = 0.5  # a product page must not wait long on shop-ai; the original image is fine
VARIANT_CACHE_SECONDS = 60  # as the storefront API's own Cache-Control
VARIANT_CACHE_SIZE = 10_000

_lock = threading.Lock()
_batcher: EventBatcher | None = None
_image_client: ShopAIClient | None = None
_variants: dict[tuple[str, str], tuple[float, StorefrontProduct | None]] = {}


def _config() -> dict:
    return settings.SHOP_AI


def events_sender() -> EventBatcher:
    global _batcher
    with _lock:
        if _batcher is None:
            config = _config()
            client = ShopAIClient(config["URL"], config["API_KEY"], timeout=config.get("TIMEOUT", 10.0))
            _batcher = EventBatcher(client, flush_interval=config.get("FLUSH_INTERVAL", 1.0))
        # (Re)started on every use: a server that forks its workers (gunicorn --preload) leaves the
        # children a batcher whose thread stayed in the parent.
        return _batcher.start()


def storefront_variant(*, product_id: str, customer_id: str) -> StorefrontProduct | None:
    """What shop-ai shows this customer, or None when it does not answer in time (cached a minute)."""
    global _image_client
    key, now = (product_id, customer_id), time.monotonic()
    cached = _variants.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    with _lock:
        if _image_client is None:
            config = _config()
            _image_client = ShopAIClient(config["URL"], config["API_KEY"], retries=0,
                                         timeout=config.get("IMAGE_TIMEOUT", DEFAULT_IMAGE_TIMEOUT))
    try:
        shown = _image_client.storefront_product(product_id, customer_id=customer_id)
    except ShopAIError:
        shown = None  # unknown product, shop-ai down or slow: show the original, ask again later
    if len(_variants) >= VARIANT_CACHE_SIZE:
        _variants.clear()
    _variants[key] = (now + VARIANT_CACHE_SECONDS, shown)
    return shown
