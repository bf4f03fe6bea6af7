"""Fixtures for the store integrations: a shop with its store connection and a small catalogue."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from profiles.connect.services import store_connection_for
from profiles.services import product_upsert
from shop_ai_connect.client.signing import webhook_headers


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
    """An HTTP endpoint on 127.0.0.1 (a store's webhook receiver, or a stand-in shop-ai): records
    each request as (method, path, headers, body) and answers with the next of `answers`, each a
    status or (status, JSON body); the last answer repeats."""

    def __init__(self, answers: list):
        import http.server
        import threading

        self.answers, self.calls = list(answers), []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.calls.append((self.command, self.path, dict(self.headers.items()), body))
                answer = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                status, payload = answer if isinstance(answer, tuple) else (answer, {"ok": True})
                content = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = _answer  # noqa: N815 - the http.server API

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base_url}/hooks/shop-ai"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[tuple[dict, bytes]]:
        return [(headers, body) for _, _, headers, body in self.calls]

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


@pytest.fixture(autouse=True)
def exposures_of_this_test_only():
    """Storefront answers buffer exposures in memory; a test asserts (and flushes) the ones it
    cares about, and none is left behind for the next test or for the end of the run."""
    from generation.storefront import exposure_log

    exposure_log._buffer.clear()
    yield
    exposure_log._buffer.clear()
