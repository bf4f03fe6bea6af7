"""The shop-ai Python client: typed, retrying, batching. Needs only `requests`.

    from shop_ai_connect.client import ShopAIClient
    client = ShopAIClient("https://shop-ai.example.com", api_key="sk_…")
    client.upsert_product("fan-1", title="祥云折扇", price="68.00")
    client.send_events([{"event_id": "o-1001-1", "type": "purchase", "customer_id": "c-42",
                         "product_id": "fan-1", "occurred_at": "2026-11-20T10:00:00Z",
                         "quantity": 1, "unit_price": "68.00"}])
"""

from shop_ai_connect.client.batching import EventBatcher
from shop_ai_connect.client.client import (
    Event,
    IngestResult,
    ShopAIClient,
    ShopAIError,
    ShopAIUnavailable,
    StorefrontProduct,
)
from shop_ai_connect.client.signing import SignatureError, webhook_headers, webhook_verify

__all__ = ["Event", "EventBatcher", "IngestResult", "ShopAIClient", "ShopAIError", "ShopAIUnavailable",
           "SignatureError", "StorefrontProduct", "webhook_headers", "webhook_verify"]
