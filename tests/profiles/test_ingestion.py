"""Event ingestion through the HTTP API: contract, bad input, replays, tenancy, size limits."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection

from profiles.models import Customer, Event, FailedEvent
from profiles.services import product_upsert
from tests.conftest import client_for, iso, recent

BATCH_URL = "/api/v1/events/batch"


@pytest.fixture
def catalogue(shop):
    for number in range(20):
        product_upsert(shop=shop, external_id=f"p{number}", title=f"祥云折扇 {number}", category="fans",
                       price=Decimal("88.00"))
    return shop


def make_events(count: int, prefix: str = "e") -> list[dict]:
    kinds = ("view", "add_to_cart", "purchase", "review", "refund")
    events = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        event = {"event_id": f"{prefix}-{number}", "type": kind, "customer_id": f"c{number % 37}",
                 "product_id": f"p{number % 20}", "occurred_at": recent(number % 300)}
        if kind in ("add_to_cart", "purchase", "refund"):
            event["quantity"] = 1 + number % 3
        if kind in ("purchase", "refund"):
            event["unit_price"] = "88.10"
        if kind == "review":
            event.update(text="扇面的祥云图案很精致，送给朋友很体面。", rating=5)
        events.append(event)
    return events


def post_batch(client, events, **extra):
    return client.post(BATCH_URL, data=json.dumps({"events": events, **extra}), content_type="application/json")


@pytest.mark.django_db
def test_a_good_batch_is_stored_with_customers_created(api, catalogue):
    response = post_batch(api, make_events(50))
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 50, "duplicates": 0, "rejected": []}
    assert Event.objects.filter(shop=catalogue).count() == 50
    assert Customer.objects.filter(shop=catalogue).count() == 37
    purchase = Event.objects.get(event_id="e-2")
    assert purchase.unit_price == Decimal("88.10") and purchase.quantity == 3 and purchase.currency == "CNY"


@pytest.mark.django_db
def test_money_is_exact_decimal_even_when_sent_as_a_json_number(api, catalogue):
    event = {"event_id": "m1", "type": "purchase", "customer_id": "c1", "product_id": "p1",
             "occurred_at": recent(), "unit_price": 0.1, "quantity": 3}
    body = json.dumps({"events": [event]}).replace('"unit_price": 0.1', '"unit_price": 19.99')
    response = api.post(BATCH_URL, data=body, content_type="application/json")
    assert response.json()["accepted"] == 1
    assert Event.objects.get(event_id="m1").unit_price == Decimal("19.99")


@pytest.mark.django_db
def test_three_bad_events_are_named_and_the_other_497_stored(api, catalogue):
    events = make_events(500)
    events[11]["quantity"] = -2
    events[12]["unit_price"] = "3.14159"
    events[499]["type"] = "teleport"
    response = post_batch(api, events)
    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] == 497 and body["duplicates"] == 0
    assert [(item["index"], item["event_id"]) for item in body["rejected"]] == [
        (11, "e-11"), (12, "e-12"), (499, "e-499")]
    assert "at least 1" in body["rejected"][0]["errors"]["quantity"]
    assert "decimal places" in body["rejected"][1]["errors"]["unit_price"]
    assert "must be one of" in body["rejected"][2]["errors"]["type"]
    assert Event.objects.filter(shop=catalogue).count() == 497
    assert sorted(FailedEvent.objects.filter(shop=catalogue).values_list("event_id", flat=True)) == [
        "e-11", "e-12", "e-499"]


BAD_EVENTS = [
    ({"type": "view", "customer_id": "c", "product_id": "p1", "occurred_at": "now"}, "event_id"),
    ({"event_id": "x", "type": "view", "product_id": "p1", "occurred_at": "2026-01-01T00:00:00Z"}, "customer_id"),
    ({"event_id": "x", "type": "view", "customer_id": ["c"], "product_id": "p1", "occurred_at": "x"}, "customer_id"),
    ({"event_id": "x", "type": "view", "customer_id": "c", "occurred_at": "2026-01-01T00:00:00Z"}, "product_id"),
    ({"event_id": "x", "type": "purchase", "customer_id": "c", "product_id": "p1", "occurred_at": "2026-11-01"},
     "unit_price"),
    ({"event_id": "x", "type": "purchase", "customer_id": "c", "product_id": "nope", "unit_price": "1",
      "occurred_at": "2026-11-01T00:00:00Z"}, "product_id"),
    ({"event_id": "x", "type": "view", "customer_id": "c", "product_id": "p1", "occurred_at": "2999-01-01T00:00:00Z"},
     "occurred_at"),
    ({"event_id": "x", "type": "view", "customer_id": "c", "product_id": "p1", "occurred_at": "1999-01-01T00:00:00Z"},
     "occurred_at"),
    ({"event_id": "x", "type": "review", "customer_id": "c", "occurred_at": "2026-11-01T00:00:00Z",
      "text": "好" * 5001}, "text"),
    ({"event_id": "x", "type": "review", "customer_id": "c", "occurred_at": "2026-11-01T00:00:00Z",
      "text": "好", "rating": 9}, "rating"),
    ({"event_id": "x", "type": "purchase", "customer_id": "c", "product_id": "p1", "unit_price": "5",
      "currency": "USD", "occurred_at": "2026-11-01T00:00:00Z"}, "currency"),
    ({"event_id": "x" * 101, "type": "view", "customer_id": "c", "product_id": "p1",
      "occurred_at": "2026-11-01T00:00:00Z"}, "event_id"),
    ({"event_id": "x", "type": "add_to_cart", "customer_id": "c", "product_id": "p1", "quantity": "2",
      "occurred_at": "2026-11-01T00:00:00Z"}, "quantity"),
    ({"event_id": "x", "type": "view", "customer_id": "c", "product_id": "p1", "occured_at": "2026-11-01"}, "event"),
    ("not an object", "event"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("bad", "field"), BAD_EVENTS)
def test_each_kind_of_bad_event_gets_a_clear_reason_and_the_good_one_survives(api, catalogue, bad, field):
    good = {"event_id": "good", "type": "view", "customer_id": "c", "product_id": "p1", "occurred_at": recent()}
    response = post_batch(api, [bad, good])
    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] == 1
    assert len(body["rejected"]) == 1 and field in body["rejected"][0]["errors"]
    assert isinstance(body["rejected"][0]["errors"][field], str) and body["rejected"][0]["errors"][field]
    assert Event.objects.filter(shop=catalogue, event_id="good").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'{"events": 5}', "é".encode("latin-1"),
                                  b'{"events": [{"unit_price": NaN}]}'])
def test_unreadable_requests_get_a_json_400_and_are_kept(api, shop, body):
    response = api.post(BATCH_URL, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json" and response.json()["detail"]
    if body and body != b'{"events": [{"unit_price": NaN}]}':
        assert FailedEvent.objects.filter(shop=shop).count() >= 1


@pytest.mark.django_db
def test_a_replayed_batch_changes_nothing(api, catalogue):
    events = make_events(120)
    first = post_batch(api, events).json()
    second = post_batch(api, events).json()
    assert first["accepted"] == 120 and second == {"accepted": 0, "duplicates": 120, "rejected": []}
    assert Event.objects.filter(shop=catalogue).count() == 120


@pytest.mark.django_db
def test_the_same_id_twice_in_one_batch_is_a_duplicate(api, catalogue):
    events = make_events(3)
    response = post_batch(api, events + [events[0]])
    assert response.json() == {"accepted": 3, "duplicates": 1, "rejected": []}


@pytest.mark.django_db(transaction=True)
def test_500_events_replayed_sequentially_and_from_8_threads_make_exactly_500_rows(shop):
    for number in range(20):
        product_upsert(shop=shop, external_id=f"p{number}", title="团扇", price=Decimal("10"))
    events = make_events(500)
    client = client_for(shop)
    assert post_batch(client, events).json()["accepted"] == 500
    assert post_batch(client, events).json()["duplicates"] == 500
    replay = make_events(500, prefix="r")
    answers, errors = [], []

    def send():
        try:
            answers.append(post_batch(client_for(shop), replay).json())
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(answer["accepted"] for answer in answers) == 500
    assert sum(answer["duplicates"] for answer in answers) == 7 * 500
    assert Event.objects.filter(shop=shop).count() == 1000


@pytest.mark.django_db
def test_sent_at_removes_the_client_clock_skew(api, catalogue):
    server_now = datetime.now(timezone.utc)
    skew = timedelta(hours=3)  # the client's clock runs 3 hours fast
    client_now = server_now + skew
    event = {"event_id": "skewed", "type": "view", "customer_id": "c", "product_id": "p1",
             "occurred_at": iso(client_now - timedelta(minutes=10)), "sent_at": iso(client_now)}
    assert post_batch(api, [event]).json()["accepted"] == 1
    stored = Event.objects.get(event_id="skewed")
    assert abs(stored.occurred_at - (server_now - timedelta(minutes=10))) < timedelta(seconds=5)
    assert stored.client_occurred_at == client_now.replace(microsecond=client_now.microsecond) - timedelta(minutes=10)


@pytest.mark.django_db
def test_batch_level_sent_at_applies_to_events_without_their_own(api, catalogue):
    client_now = datetime.now(timezone.utc) + timedelta(days=2)  # clock two days fast: would be "future"
    event = {"event_id": "fast", "type": "view", "customer_id": "c", "product_id": "p1",
             "occurred_at": iso(client_now - timedelta(seconds=30))}
    response = post_batch(api, [event], sent_at=iso(client_now))
    assert response.json()["accepted"] == 1
    stored = Event.objects.get(event_id="fast")
    assert abs(stored.occurred_at - datetime.now(timezone.utc)) < timedelta(minutes=2)


@pytest.mark.django_db
def test_single_event_endpoint(api, catalogue):
    event = {"event_id": "one", "type": "view", "customer_id": "c9", "product_id": "p3", "occurred_at": recent()}
    first = api.post("/api/v1/events", data=event, format="json")
    again = api.post("/api/v1/events", data=event, format="json")
    bad = api.post("/api/v1/events", data={**event, "event_id": "two", "type": "nap"}, format="json")
    assert (first.status_code, again.status_code, bad.status_code) == (201, 200, 400)
    assert again.json()["duplicates"] == 1
    assert bad.json()["code"] == "invalid_event" and "type" in bad.json()["errors"]
    detail = api.get("/api/v1/events/one").json()
    assert detail["customer_id"] == "c9" and detail["product_id"] == "p3"


@pytest.mark.django_db
def test_oversize_requests_get_413_with_a_json_error(api, catalogue):
    big_review = {"event_id": "big", "type": "review", "customer_id": "c", "occurred_at": recent(),
                  "text": "好", "properties": {"blob": "x" * 40_000}}
    single = api.post("/api/v1/events", data=big_review, format="json")
    assert single.status_code == 413 and single.json()["code"] == "payload_too_large"
    in_batch = post_batch(api, [big_review, make_events(1)[0]]).json()
    assert in_batch["accepted"] == 1 and "limit is 32768 bytes" in in_batch["rejected"][0]["errors"]["event"]
    huge = json.dumps({"events": [{"event_id": str(n), "pad": "y" * 3000} for n in range(400)]})
    response = api.post(BATCH_URL, data=huge, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    too_many = post_batch(api, make_events(501))
    assert too_many.status_code == 413


@pytest.mark.django_db
def test_a_lying_content_length_never_reads_past_the_cap(api, shop):
    body = json.dumps({"events": [{"pad": "z" * 2_000_000}]}).encode()
    response = api.generic("POST", BATCH_URL, data=body, content_type="application/json",
                           CONTENT_LENGTH="100")
    assert response.status_code == 400  # only the claimed 100 bytes were read: truncated JSON
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_api_needs_a_valid_key(shop, catalogue):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert anonymous.post(BATCH_URL, data={"events": []}, format="json").status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer sk_not_a_key")
    response = anonymous.post(BATCH_URL, data={"events": []}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_sharing_customers_neither_deadlock_nor_lose_events(shop):
    for number in range(20):
        product_upsert(shop=shop, external_id=f"p{number}", title="团扇", price=Decimal("10"))
    batches = [make_events(300, prefix=f"t{thread}") for thread in range(6)]
    for index, batch in enumerate(batches):  # the same 37 customers in every batch, in two orders
        if index % 2:
            batch.reverse()
    statuses, errors = [], []

    def send(batch):
        try:
            statuses.append(post_batch(client_for(shop), batch).status_code)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and statuses == [200] * 6
    assert Event.objects.filter(shop=shop).count() == 1800
