"""The Python client: the README's example against a real server, batching of big lists, retries
that repeat the same event ids, refusals that are not retried, and the background batcher."""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal

import pytest

from generation.models import Exposure
from generation.storefront import exposure_log
from profiles.models import Event, Product
from profiles.services import api_key_create, product_upsert
from shop_ai_connect.client import EventBatcher, ShopAIClient, ShopAIError, ShopAIUnavailable
from tests.conftest import recent
from tests.integrations.readme import readme_snippet

INGEST_ANSWER = {"accepted": 1, "duplicates": 0, "rejected": []}


def view(event_id: str, product_id: str = "fan-1") -> dict:
    return {"event_id": event_id, "type": "view", "customer_id": "c-1", "product_id": product_id,
            "occurred_at": recent()}


@pytest.mark.django_db(transaction=True)
def test_the_readme_example_runs_against_a_real_server(live_server, shop, monkeypatch, capsys):
    monkeypatch.setenv("SHOP_AI_URL", live_server.url)
    monkeypatch.setenv("SHOP_AI_API_KEY", api_key_create(shop=shop).raw_key)
    exec(readme_snippet("python-client"), {})  # noqa: S102 - the README's snippet, run as written
    assert capsys.readouterr().out.splitlines() == ["1 0 []", "original None"]
    assert Product.objects.get(shop=shop, external_id="fan-1").price == Decimal("68.00")
    assert Event.objects.get(shop=shop).event_id == "order-1001-1"
    exposure_log.flush()  # the storefront call logged what c-42 was shown
    assert Exposure.objects.get(shop=shop).customer_external_id == "c-42"


@pytest.mark.django_db(transaction=True)
def test_a_long_list_goes_in_batches_and_rejects_keep_their_index_in_the_list(live_server, shop):
    product_upsert(shop=shop, external_id="fan-1", title="祥云折扇")
    events = [view(f"v-{n}") for n in range(1_200)]
    events[700]["type"] = "teleport"
    events[1_100]["product_id"] = "no-such-product"
    with ShopAIClient(live_server.url, api_key=api_key_create(shop=shop).raw_key) as client:
        result = client.send_events(events)
        again = client.send_events(events[:10])
    assert (result.accepted, result.duplicates) == (1_198, 0)
    assert [(item["index"], item["event_id"]) for item in result.rejected] == [(700, "v-700"), (1_100, "v-1100")]
    assert "PUT /api/v1/products/no-such-product" in result.rejected[1]["errors"]["product_id"]
    assert (again.accepted, again.duplicates) == (0, 10)
    assert Event.objects.filter(shop=shop).count() == 1_198


def test_timeouts_and_5xx_are_retried_with_the_same_event_ids(receiver_factory):
    server = receiver_factory([503, 502, (200, INGEST_ANSWER)])
    client = ShopAIClient(server.base_url, api_key="sk_test", backoff=0.01)
    result = client.send_events([view("v-1")])
    assert result.accepted == 1 and len(server.calls) == 3
    ids = [[event["event_id"] for event in json.loads(body)["events"]] for _, _, _, body in server.calls]
    assert ids == [["v-1"]] * 3
    assert {headers["Authorization"] for _, _, headers, _ in server.calls} == {"Bearer sk_test"}


def test_a_refusal_is_raised_at_once_with_the_apis_code_and_detail(receiver_factory):
    server = receiver_factory([(401, {"code": "authentication_failed", "detail": "This API key is unknown."})])
    with pytest.raises(ShopAIError) as refused:
        ShopAIClient(server.base_url, api_key="sk_wrong", backoff=0.01).send_events([view("v-1")])
    assert (refused.value.status, refused.value.code) == (401, "authentication_failed")
    assert "unknown" in refused.value.detail and len(server.calls) == 1


def test_an_unreachable_server_raises_unavailable_after_the_retries(receiver_factory):
    server = receiver_factory([200])
    server.close()
    with pytest.raises(ShopAIUnavailable, match="did not answer"):
        ShopAIClient(server.base_url, api_key="sk_test", retries=2, backoff=0.01).send_events([view("v-1")])


def test_the_batcher_sends_products_first_keeps_events_through_an_outage_and_drops_refusals(receiver_factory,
                                                                                             caplog):
    server = receiver_factory([503, (200, {}), (200, INGEST_ANSWER)])
    batcher = EventBatcher(ShopAIClient(server.base_url, api_key="sk_test", retries=0))
    batcher.add_product("fan-1", title="祥云折扇", price="68.00")
    batcher.add(view("v-1"))
    with pytest.raises(ShopAIUnavailable):
        batcher.flush()
    assert batcher.pending() == 2  # nothing lost
    assert batcher.flush().accepted == 1 and batcher.pending() == 0
    assert [(method, path) for method, path, _, _ in server.calls] == [
        ("PUT", "/api/v1/products/fan-1"), ("PUT", "/api/v1/products/fan-1"), ("POST", "/api/v1/events/batch")]

    server.answers = [(400, {"code": "malformed_json", "detail": "bad"})]
    batcher.add(view("v-2"))
    with caplog.at_level(logging.ERROR, logger="shop_ai_connect.client"):
        batcher.flush()
    assert batcher.pending() == 0 and "refused a batch of 1 events" in caplog.text


def test_the_batchers_thread_sends_without_being_asked(receiver_factory):
    server = receiver_factory([(200, INGEST_ANSWER)])
    batcher = EventBatcher(ShopAIClient(server.base_url, api_key="sk_test"), flush_interval=0.05).start()
    try:
        batcher.add(view("v-1"))
        for _ in range(100):
            if server.calls:
                break
            time.sleep(0.05)
        assert [path for _, path, _, _ in server.calls] == ["/api/v1/events/batch"]
    finally:
        batcher.close()
    assert batcher.totals.accepted == 1
