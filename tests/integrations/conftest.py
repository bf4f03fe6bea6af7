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


class Receiver:
    """A store's webhook endpoint on 127.0.0.1: records each request, answers with the next status."""

    def __init__(self, statuses: list[int]):
        import http.server
        import threading

        self.statuses, self.requests = list(statuses), []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/shop-ai"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory():
    made = []

    def make(statuses: list[int]) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()
