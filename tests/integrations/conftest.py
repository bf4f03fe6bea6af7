"""Fixtures for the store integrations: a shop with its store connection and a small catalogue."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from profiles.connect.services import store_connection_for
from profiles.services import product_upsert
from shop_ai.client.signing import webhook_headers


@pytest.fixture
def connection(shop):
    for number in range(3):
        product_upsert(shop=shop, external_id=f"fan-{number}", title=f"祥云折扇 {number}", category="fan",
                       price=Decimal("68.00"))
    return store_connection_for(shop=shop)


def signed_post(payload, *, shop_id: int, secret: str, webhook_id: str = "wh-1", source: str = "generic",
                topic: str | None = None, timestamp: int | None = None, body: bytes | None = None,
                signed_body: bytes | None = None):
    """POST a webhook signed as a store would; `signed_body` signs other bytes than those sent."""
    body = json.dumps(payload, ensure_ascii=False).encode() if body is None else body
    headers = webhook_headers(secret=secret, body=body if signed_body is None else signed_body,
                              webhook_id=webhook_id, timestamp=timestamp)
    if topic:
        headers["X-ShopAI-Topic"] = topic
    headers.pop("Content-Type")
    return APIClient().post(f"/api/v1/webhooks/{source}?shop={shop_id}", data=body, content_type="application/json",
                            headers=headers)
