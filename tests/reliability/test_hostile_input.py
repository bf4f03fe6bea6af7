"""Issue 8, item 6: hostile input. Schemathesis over every endpoint of our OpenAPI schema (positive
and negative data, with and without a valid key), hypothesis over the parsers behind them, and
request bodies over the limit sent to a real gunicorn with a truthful, a lying and no Content-Length.

Target: 0 server errors. CI runs a few hundred generated requests (derandomized); `make reliability`
runs ≥ 20,000.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from analytics.reports import BenefitReportError, report_window
from generation.storefront import exposure_log
from profiles.api.body import IncompleteBody, MalformedBody, parse_json, read_body
from profiles.connect.webhook_shapes import SHAPES, SHOPIFY_TOPICS, PayloadShapeError
from profiles.connect.webhooks import product_fields_clean
from profiles.ingestion.validation import KNOWN_FIELDS, Limits, parse_timestamp, validate_event
from profiles.models import FailedEvent, StoreConnection
from profiles.services import api_key_create
from shop_ai.api_errors import PayloadTooLarge
from shop_ai_connect.client.signing import webhook_headers
from tests.dashboard.factories import customer_for, events_for, job_for, persona_for, product_for
from tests.reliability.fuzzing import fuzz_api
from tests.reliability.servers import raw_exchange, serving

FAST_EXAMPLES = 2  # per operation, mode and id pass: ~500 requests with the unauthenticated repeats
FULL_EXAMPLES = 85  # ~22,000 requests (150 sent 38,700)
PROPERTY = settings(max_examples=60, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck))
PROPERTY_FULL = settings(PROPERTY, max_examples=2000)
SHOP_NUMBERS = itertools.count()  # hypothesis examples share one test's database: a new shop each

# --------------------------------------------------------------------------------------------
# Schemathesis over the whole API
# --------------------------------------------------------------------------------------------


@pytest.fixture
def fuzz_target(shop):
    """A shop with one object of every kind the API addresses, and those objects' ids per operation."""
    persona = persona_for(shop)
    product = product_for(shop, "vase-1")
    job = job_for(shop, product, persona)
    customer = customer_for(shop, "c-1", persona)
    events_for(shop, customer, product, [datetime.now(timezone.utc) - timedelta(hours=2)])
    event_id = shop.events.values_list("event_id", flat=True).first()
    key = StoreConnection.objects.get(shop=shop).publishable_key
    ids = {
        "GET /api/v1/customers/{customer_id}/profile": {"path": {"customer_id": "c-1"}},
        "GET /api/v1/events/{event_id}": {"path": {"event_id": event_id}},
        "GET /api/v1/generation-jobs/{job_id}": {"path": {"job_id": job.id}},
        "POST /api/v1/generation-jobs/{job_id}/cancel": {"path": {"job_id": job.id}},
        "GET /api/v1/personas/{persona_id}": {"path": {"persona_id": persona.id}},
        "GET /api/v1/products/{product_id}": {"path": {"product_id": "vase-1"}},
        "PUT /api/v1/products/{product_id}": {"path": {"product_id": "vase-1"}},
        "GET /api/v1/storefront/products/{product_id}": {"path": {"product_id": "vase-1"}},
        "GET /api/v1/browser/products/{product_id}": {"path": {"product_id": "vase-1"}, "query": {"key": key}},
        "POST /api/v1/webhooks/{source}": {"query": {"shop": shop.id}},
        **{f"POST /api/v1/listings/{{listing_id}}/{action}": {"path": {"listing_id": job.listing.id}}
           for action in ("approve", "publish", "retire")},
    }
    yield api_key_create(shop=shop).raw_key, ids
    exposure_log.flush()  # the storefront calls' exposures, while the test database is there


def _fuzz(reliability, fuzz_target, examples: int):
    api_key, ids = fuzz_target
    report = fuzz_api(api_key=api_key, known_ids=ids, examples=examples)
    passed = report.errors_5xx == 0 and not report.server_errors and not report.mismatches and not report.auth_leaks
    reliability(sent=report.sent, errors_5xx=report.errors_5xx, passed=passed,
                notes=f"{len(report.mismatches)} schema mismatches, {len(report.auth_leaks)} auth leaks; "
                      f"statuses {dict(sorted(report.statuses.items()))}")
    assert (report.server_errors, report.mismatches, report.auth_leaks, report.errors_5xx) == ([], [], [], 0)
    return report


def test_schemathesis_finds_no_server_error(reliability, fuzz_target):
    report = _fuzz(reliability, fuzz_target, FAST_EXAMPLES)
    assert report.sent >= 300


@pytest.mark.reliability_full
def test_schemathesis_finds_no_server_error_in_20000_requests(reliability, fuzz_target):
    report = _fuzz(reliability, fuzz_target, FULL_EXAMPLES)
    assert report.sent >= 20_000


# --------------------------------------------------------------------------------------------
# Hypothesis over the parsers
# --------------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.text() | st.decimals(allow_nan=False) | st.floats()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
timestamps = st.datetimes(timezones=st.just(timezone.utc)).map(lambda moment: moment.isoformat()) | st.text()
# Events close to valid: every known field, each with a value that is often right and sometimes hostile.
field_values = {
    "event_id": st.text(max_size=120) | st.integers() | json_values,
    "type": st.sampled_from(["view", "add_to_cart", "purchase", "refund", "review"]) | json_values,
    "customer_id": st.text(max_size=120) | st.integers() | json_values,
    "product_id": st.text(max_size=120) | json_values,
    "occurred_at": timestamps | json_values,
    "sent_at": timestamps | json_values,
    "quantity": st.integers() | st.decimals() | json_values,
    "unit_price": st.decimals() | st.text(max_size=30) | json_values,
    "currency": st.sampled_from(["CNY", "cny", "JPY", "XXXX"]) | json_values,
    "text": st.text(max_size=200) | json_values,
    "rating": st.integers(-2, 8) | json_values,
    "properties": json_values,
}
near_events = st.fixed_dictionaries({}, optional=field_values) | st.dictionaries(st.text(max_size=12), json_values)
LIMITS = Limits(now=datetime(2026, 11, 22, tzinfo=timezone.utc), shop_currency="CNY", max_future=timedelta(days=1),
                max_age=timedelta(days=5 * 365), max_event_bytes=32 * 1024)


def _event_validation_holds(raw) -> None:
    event, errors = validate_event(raw, LIMITS)
    assert (event is None) == bool(errors)
    assert all(isinstance(name, str) and isinstance(reason, str) for name, reason in errors.items())
    json.dumps(errors)  # reasons go back to the client and into FailedEvent
    if event is not None:
        assert set(raw) <= KNOWN_FIELDS and "\x00" not in event.event_id + event.customer_id + event.text
        assert LIMITS.now - LIMITS.max_age <= event.occurred_at <= LIMITS.now + LIMITS.max_future
        assert event.unit_price is None or (event.unit_price.is_finite() and event.unit_price >= 0)


@PROPERTY
@given(raw=near_events | json_values)
def test_event_validation_answers_every_input_with_an_event_or_reasons(raw):
    _event_validation_holds(raw)


@pytest.mark.reliability_full
@PROPERTY_FULL
@given(raw=near_events | json_values)
def test_event_validation_answers_every_input_with_an_event_or_reasons_full(raw):
    _event_validation_holds(raw)


@PROPERTY
@given(text=st.text() | st.datetimes().map(str) | st.dates().map(str))
def test_timestamps_parse_or_say_why(text):
    try:
        parsed = parse_timestamp(text)
    except ValueError as refused:
        assert "ISO 8601" in str(refused)
    else:
        assert parsed.tzinfo is not None


@PROPERTY
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v, default=str).encode())
       | st.integers(1, 50_000).map(lambda depth: b"[" * depth + b"]" * depth))
def test_json_bodies_parse_or_are_refused_as_malformed(body):
    try:
        parse_json(body)
    except MalformedBody as refused:
        assert refused.status_code == 400 and str(refused.detail)


class _Stream:
    """A WSGI input that holds `body` and says nothing about its length."""

    def __init__(self, body: bytes):
        self.file = BytesIO(body)

    def read(self, size=-1):
        return self.file.read(size)


class _Request:
    def __init__(self, body: bytes, declared: str | None, chunked: bool):
        self.META = {"wsgi.input": _Stream(body)}
        if declared is not None:
            self.META["CONTENT_LENGTH"] = declared
        if chunked:
            self.META["HTTP_TRANSFER_ENCODING"] = "chunked"
        self.stream = _Stream(body[:int(declared)] if declared and declared.isdigit() else body)

    def read(self, size=-1):
        return self.stream.read(size)


@PROPERTY
@given(size=st.integers(0, 3000), declared=st.none() | st.integers(0, 4000).map(str) | st.text(max_size=6),
       chunked=st.booleans())
def test_body_reads_never_pass_the_cap(size, declared, chunked):
    limit = 1000
    request = _Request(b"x" * size, declared, chunked)
    try:
        body = read_body(request, limit)
    except PayloadTooLarge as refused:
        assert refused.status_code == 413 and str(limit) in str(refused.detail)
    except IncompleteBody:
        assert int(declared) > size  # fewer bytes came than Content-Length said
    except MalformedBody:
        assert not declared.isdigit()
    else:
        assert len(body) <= limit


@PROPERTY
@given(topic=st.sampled_from(["", *SHOPIFY_TOPICS]) | st.text(max_size=20), payload=json_values
       | st.fixed_dictionaries({"id": json_values, "line_items": st.lists(json_values | st.fixed_dictionaries(
           {}, optional={"id": json_values, "product_id": json_values, "price": json_values,
                         "quantity": json_values, "title": json_values}), max_size=3)},
           optional={"customer": json_values, "email": json_values, "created_at": timestamps,
                     "title": json_values, "variants": json_values, "tags": json_values}))
def test_webhook_payloads_shape_or_are_refused_with_reasons(topic, payload):
    for source, shape in SHAPES.items():
        try:
            shaped = shape(topic, payload)
        except PayloadShapeError as refused:
            json.dumps(refused.errors)
            continue
        for product in shaped.products:
            fields, errors = product_fields_clean(product)
            assert (fields is None) == bool(errors)


@PROPERTY
@given(start=st.none() | st.dates(), end=st.none() | st.dates())
def test_report_windows_are_days_or_a_reason(shop, start, end):
    try:
        first, last = report_window(shop=shop, start=start, end=end)
    except BenefitReportError as refused:
        assert str(refused)
    else:
        assert first <= last and (last - first).days < 5 * 366


@pytest.mark.django_db
@settings(PROPERTY, max_examples=40)
@given(params=st.dictionaries(st.sampled_from(["start", "end", "category", "format"]),
                              st.dates().map(str) | st.text(max_size=20) | st.sampled_from(["csv", "json"]),
                              max_size=4))
def test_report_parameters_never_break_the_report(params):
    from profiles.services import shop_create

    shop = shop_create(name=f"report-{next(SHOP_NUMBERS)}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(shop=shop).raw_key}")
    response = client.get("/api/v1/reports/benefit", params)
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert response.json()["code"] and response.json()["detail"]


@pytest.mark.django_db
@settings(PROPERTY, max_examples=40)
@given(source=st.sampled_from(["generic", "shopify"]), topic=st.sampled_from(["", *SHOPIFY_TOPICS]),
       payload=json_values | st.fixed_dictionaries({}, optional={
           "products": st.lists(json_values | st.fixed_dictionaries({}, optional={
               "product_id": json_values, "title": json_values, "price": json_values, "tags": json_values}),
               max_size=3),
           "events": st.lists(near_events, max_size=3), "id": json_values,
           "line_items": st.lists(st.fixed_dictionaries({}, optional={"id": json_values, "product_id": json_values,
                                                                      "price": json_values}), max_size=3)}))
def test_signed_webhooks_of_any_shape_never_break_the_server(source, topic, payload):
    from profiles.services import shop_create

    shop = shop_create(name=f"webhook-{next(SHOP_NUMBERS)}")
    secret = StoreConnection.objects.get(shop=shop).webhook_secret
    body = json.dumps(payload, default=str).encode()
    headers = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in
               webhook_headers(secret=secret, body=body, webhook_id="w-1").items() if name != "Content-Type"}
    response = APIClient().generic("POST", f"/api/v1/webhooks/{source}?shop={shop.id}", body,
                                   content_type="application/json", HTTP_X_SHOPAI_TOPIC=topic, **headers)
    assert response.status_code in (200, 400), response.content[:300]


# --------------------------------------------------------------------------------------------
# Bodies over the limit, on a real server: truthful, lying and absent Content-Length
# --------------------------------------------------------------------------------------------

LIMIT = 1024 * 1024


def _post(path: str, key: str, body: bytes, *, length: int | None, chunked: bool = False) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {key}",
            "Content-Type: application/json", "Connection: close"]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        piece = 64 * 1024
        body = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + piece]), body[i:i + piece])
                        for i in range(0, len(body), piece)) + b"0\r\n\r\n"
    elif length is not None:
        head.append(f"Content-Length: {length}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.mark.django_db(transaction=True)
def test_bodies_over_the_limit_are_refused_whatever_content_length_says(reliability, shop, tmp_path):
    key = api_key_create(shop=shop).raw_key
    event = {"event_id": "e", "type": "view", "customer_id": "c", "product_id": "p",
             "occurred_at": "2026-11-22T08:00:00Z", "properties": {"pad": "x" * 1000}}
    big = json.dumps({"events": [dict(event, event_id=f"big-{n}") for n in range(1100)]}).encode()
    assert len(big) > LIMIT
    cases = {
        "truthful Content-Length": _post("/api/v1/events/batch", key, big, length=len(big)),
        "Content-Length smaller than the body": _post("/api/v1/events/batch", key, big, length=LIMIT - 10),
        "chunked, no Content-Length": _post("/api/v1/events/batch", key, big, length=None, chunked=True),
        "single event, chunked": _post("/api/v1/events", key, big, length=None, chunked=True),
        "browser batch, chunked": _post("/api/v1/browser/events", key, big, length=None, chunked=True),
    }
    answers = {}
    with serving(workers=1, log=tmp_path / "gunicorn.log") as port:
        for name, raw in cases.items():
            status, headers, body = raw_exchange(port, raw)
            answers[name] = (status, headers.get("content-type", ""), body)
    expected = {name: {413} for name in cases}
    # HTTP frames the body by Content-Length: the server reads the declared bytes (a cut JSON, refused
    # as malformed) and never more; what follows is not this request's body.
    expected["Content-Length smaller than the body"] = {400, 413}
    good = {name for name, (status, kind, body) in answers.items()
            if status in expected[name] and kind.startswith("application/json") and json.loads(body).get("detail")}
    stored = shop.events.count()
    reliability(sent=len(cases), stored=stored, errors_5xx=sum(s >= 500 for s, _, _ in answers.values()),
                passed=good == set(cases) and stored == 0,
                notes="; ".join(f"{name}: {status}" for name, (status, _, _) in answers.items()))
    assert stored == 0
    for name, (status, kind, body) in answers.items():
        assert status in expected[name], (name, status, body[:300])
        assert kind.startswith("application/json") and json.loads(body)["detail"], (name, body[:300])
        if status == 413:
            assert "exceeds" in json.loads(body)["detail"] or "limit" in json.loads(body)["detail"]


# --------------------------------------------------------------------------------------------
# Regressions: each server error the fuzzing found, as the request that caused it
# --------------------------------------------------------------------------------------------

def _event(**fields) -> dict:
    return {"event_id": "r-1", "type": "view", "customer_id": "c-1", "product_id": "vase-1",
            "occurred_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(), **fields}


@pytest.mark.django_db
@pytest.mark.parametrize("fields, field", [
    ({"type": "purchase", "unit_price": 1.234, "quantity": 1.5}, "unit_price"),  # JSON numbers are Decimals
    ({"type": ["view"]}, "type"),  # an unhashable type
    ({"occurred_at": "0001-01-01T00:00:00Z", "sent_at": "9999-12-31T23:59:59Z"}, "sent_at"),  # overflow
    ({"event_id": "r-\x00"}, "event_id"), ({"customer_id": "c\x00"}, "customer_id"),  # NUL: PostgreSQL holds none
    ({"type": "review", "text": "好\x00"}, "text"), ({"properties": {"k\x00": ["v"]}}, "properties"),
    ({"unknown\x00": 1}, "event"),
    ({"type": "purchase", "unit_price": "123456789012345678901234567890.123"}, "unit_price"),  # quantize overflow
])
def test_hostile_events_are_refused_with_a_reason_and_kept(api, shop, fields, field):
    product_for(shop, "vase-1")
    body = json.dumps(_event(**fields), default=str)
    response = api.generic("POST", "/api/v1/events", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    failed = FailedEvent.objects.get(shop=shop)
    assert "\x00" not in json.dumps(failed.payload) + json.dumps(failed.errors) + failed.event_id


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/products/vase%00", "/api/v1/storefront/products/x?customer_id=a%00",
                                 "/api/v1/browser/products/x?key=pk%00", "/store/1/products/a%00b"])
def test_a_nul_in_the_url_is_a_400_with_a_reason(api, url):
    response = api.get(url)
    assert response.status_code == 400 and response.json()["code"] == "nul_character"


@pytest.mark.django_db
def test_a_nul_in_a_publishable_key_is_an_unknown_key():
    response = APIClient().generic("POST", "/api/v1/browser/events", json.dumps({"key": "pk_\x00", "events": []}),
                                   content_type="text/plain")
    assert response.status_code == 401 and response.json()["code"] == "unknown_publishable_key"


@pytest.mark.django_db
@pytest.mark.parametrize("query, field", [({"start": "0001-01-01"}, "detail"), ({"end": "9999-12-31"}, "detail"),
                                          ({"end": "4629-05-23"}, "detail"), ({"format": "xml"}, "format"),
                                          ({"format": "csv", "start": "2026-02-01", "end": "2026-01-01"}, "detail")])
def test_report_parameters_out_of_range_are_json_reasons(api, query, field):
    response = api.get("/api/v1/reports/benefit", query)
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert field in response.json()["errors"]
    assert APIClient().get("/api/v1/reports/benefit", query).status_code == 401  # the key is checked first
