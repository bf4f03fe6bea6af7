"""Issue 8, item 7: the tenant isolation matrix.

Every URL pattern (walked from the resolver, so a new endpoint is in the matrix the day it is added)
× every method × shop A's objects in the path, the query and the body, called with shop B's API key,
B's publishable key, B's webhook secret or B's dashboard login: never one of A's distinctive strings
in the answer, a 403/404/405 wherever the path names one of A's objects by its database id, and not
one of A's rows changed. The same for the actors, handed shop B's id with A's object ids.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from django.apps import apps
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from analytics.actors import events_rollup
from analytics.kansei_surveys import kansei_survey_create
from analytics.models import DailyProductStats
from generation.actors import plan_generation
from generation.models import GenerationJob, WebhookEndpoint
from generation.storefront import exposure_log
from profiles.actors import customers_changed, personas_refresh
from profiles.models import Customer, Shop, StoreConnection
from profiles.services import api_key_create, shop_create
from shop_ai_connect.client.signing import webhook_headers
from shop_ai.models import DeadLetter
from tests.dashboard.factories import customer_for, events_for, job_for, owner_of, persona_for, product_for

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Every URL pattern is in exactly one class. A new pattern under api/v1/ or dashboard/ joins the
# matrix by itself; anything else must be named here, or the classification test fails.
PUBLIC = {"", "accounts/login/", "accounts/logout/", "snippet/shop-ai.js", "api/v1/schema/", "api/v1/docs/",
          # the storefront pages are public by design: anyone may see a shop's published listings
          "store/<int:shop_id>/", "store/<int:shop_id>/products/<str:product_id>",
          # a Kansei survey's link: whoever holds its random token may rate its designs, no login
          "kansei/<str:token>/"}
BROWSER = {"api/v1/browser/events", "api/v1/browser/products/<str:product_id>"}  # publishable key
WEBHOOK = {"api/v1/webhooks/<str:source>"}  # signed with the shop's webhook secret
PREFIXES = {"api/v1/": "api", "dashboard/": "dashboard", "admin/": "admin"}
# Path parameters whose value is a database id of A's object: B must get 403/404/405. The others
# are ids the shop chooses itself (product, event, customer): B may own the same id in its own shop.
DATABASE_IDS = {"persona_id", "job_id", "listing_id", "key_id", "endpoint_id", "letter_id", "survey_id"}


def url_patterns(resolver=None, prefix: str = ""):
    """(route, pattern) for every endpoint, with the route as written in the urlconfs."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def classify(route: str) -> str | None:
    if route in PUBLIC:
        return "public"
    if route in BROWSER:
        return "browser"
    if route in WEBHOOK:
        return "webhook"
    return next((kind for prefix, kind in PREFIXES.items() if route.startswith(prefix)), None)


def test_every_url_pattern_is_classified():
    unclassified = [route for route, _ in url_patterns() if classify(route) is None]
    assert unclassified == [], ("Classify these URL patterns in tests/reliability/test_tenant_isolation.py "
                                f"(public, browser, webhook, api, dashboard or admin): {unclassified}")


# --------------------------------------------------------------------------------------------
# Two shops; A's data carries strings that appear nowhere else
# --------------------------------------------------------------------------------------------

@pytest.fixture
def tenants(db):
    a, b = shop_create(name="Azurite Atelier"), shop_create(name="Birch Bindery")
    persona = persona_for(a, name="Azurite heritage seekers")
    persona.top_keywords = [["azuritekeyword", 1.0], ["景泰蓝秘境", 0.5]]
    persona.save(update_fields=["top_keywords"])
    product = product_for(a, "azurite-vase-17", title="Azurite 祥云 vase")
    job = job_for(a, product, persona)
    job.listing.title = "Azurite listing title"
    job.listing.save(update_fields=["title"])
    customer = customer_for(a, "azurite-customer-7", persona, keywords={"azuritekeyword": 1.0})
    events_for(a, customer, product, [datetime.now(timezone.utc) - timedelta(hours=3)])
    event = a.events.get()
    event.event_id = "azurite-event-9"
    event.save(update_fields=["event_id"])
    DailyProductStats.objects.create(shop=a, product=product, day=datetime.now(timezone.utc).date(), currency="CNY")
    key_a = api_key_create(shop=a, label="azurite key label")
    endpoint = WebhookEndpoint.objects.create(shop=a, url="https://azurite-hooks.example.com/in",
                                              secret="azurite-endpoint-secret")
    letter = DeadLetter.objects.create(message_id="azurite-message", queue_name="gpu", actor_name="run_generation_jobs",
                                       shop=a, args=[[job.id]], reason="azurite poison reason")
    survey = kansei_survey_create(shop=a, product_external_id=product.external_id)
    owner_a = owner_of(a, username="azurite-owner")
    owner_a.email = "owner@azurite.example.com"
    owner_a.save(update_fields=["email"])
    owner_b = owner_of(b, username="birch-owner")
    persona_for(b, name="Birch readers")  # B has data of its own, so empty answers are not the only answers
    product_for(b, "birch-book-1", title="Birch bookmark")
    connection_a, connection_b = StoreConnection.objects.get(shop=a), StoreConnection.objects.get(shop=b)
    # What only A's data holds (A's own ids, like azurite-vase-17, are in B's requests and may be echoed).
    secrets = ["Azurite Atelier", "Azurite 祥云 vase", "Azurite heritage seekers", "azuritekeyword", "景泰蓝秘境",
               "Azurite listing title", "azurite key label", "azurite-hooks.example.com", "azurite-endpoint-secret",
               "azurite-owner", "owner@azurite.example.com", "azurite poison reason", "azurite-message",
               key_a.raw_key, key_a.api_key.prefix, key_a.api_key.digest, connection_a.webhook_secret,
               connection_a.publishable_key]
    ids = {"product_id": product.external_id, "event_id": "azurite-event-9", "customer_id": customer.external_id,
           "persona_id": persona.id, "job_id": job.id, "listing_id": job.listing.id, "key_id": key_a.api_key.id,
           "endpoint_id": endpoint.id, "letter_id": letter.id, "shop_id": a.id, "source": ["generic", "shopify"],
           "survey_id": survey.id, "token": survey.token,
           "action": ["approve", "publish", "retire"]}
    yield {"a": a, "b": b, "secrets": secrets, "ids": ids, "key_b": api_key_create(shop=b).raw_key,
            "owner_b": owner_b, "connection_b": connection_b, "customer": customer, "product": product,
            "persona": persona, "job": job}
    exposure_log.flush()  # exposures of the storefront calls, while the test database is there


def shop_rows(shop: Shop) -> list:
    """Every row of every model that belongs to the shop (and the shop), as plain values."""
    rows = [model_to_dict(shop)]
    for model in apps.get_models():
        if any(field.name == "shop" and field.is_relation for field in model._meta.fields):
            rows += [(model.__name__, {k: v for k, v in row.items() if k != "last_used_at"})
                     for row in model.objects.filter(shop=shop).order_by("pk").values()]
    return json.loads(json.dumps(rows, default=str))


def _urls(route: str, pattern: URLPattern, ids: dict) -> list[str]:
    """The route with A's ids in it (one URL per value where a parameter has several)."""
    names = list(pattern.pattern.converters)
    unknown = [name for name in names if name not in ids]
    assert not unknown, f"{route}: say which of shop A's ids fills {unknown} (the `ids` of the tenants fixture)"
    urls = ["/" + route]
    for name in names:
        values = ids[name] if isinstance(ids[name], list) else [ids[name]]
        token = re.compile(rf"<(?:\w+:)?{name}>")
        urls = [token.sub(str(value), url) for url in urls for value in values]
    return urls


def _body(ids: dict, tenants: dict) -> dict:
    """A request body that names A's objects everywhere a field could."""
    event = {"event_id": ids["event_id"], "type": "view", "customer_id": ids["customer_id"],
             "product_id": ids["product_id"], "occurred_at": datetime.now(timezone.utc).isoformat()}
    return {"product_id": ids["product_id"], "persona_id": ids["persona_id"], "listing_id": ids["listing_id"],
            "job_id": ids["job_id"], "events": [event], "products": [{"product_id": ids["product_id"], "title": "B"}],
            "title": "written by B", "word": "emotional", "score": 5, "rater": "b", "shop": ids["shop_id"],
            "key": tenants["connection_b"].publishable_key, "product": ids["product_id"],
            "personas": [ids["persona_id"]], "label": "B", "url": "https://birch.example.com/hook",
            "origins": "https://birch.example.com", "next": "/dashboard/", "holdout_share": "0.5"}


def _query(ids: dict, tenants: dict, kind: str) -> dict:
    key = tenants["connection_b"].publishable_key
    shop = ids["shop_id"] if kind == "webhook" else ""
    return {"customer_id": ids["customer_id"], "ids": f"{ids['job_id']}", "shop": shop, "key": key,
            "status": "draft", "category": "vase"}


def _call(client, kind: str, method: str, url: str, body: dict, query: dict, tenants: dict):
    from urllib.parse import urlencode

    full = f"{url}?{urlencode(query)}"
    if kind == "dashboard" or kind == "admin":
        if method in ("GET", "DELETE"):
            return client.generic(method, full)
        return client.generic(method, full, urlencode(body, doseq=True),
                              content_type="application/x-www-form-urlencoded")
    raw = json.dumps(body).encode()
    extra = {}
    if kind == "webhook":  # signed by B, for A's shop id: the signature check must refuse it
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in webhook_headers(
            secret=tenants["connection_b"].webhook_secret, body=raw, webhook_id="b-1").items()
            if name != "Content-Type"}
    return client.generic(method, full, raw, content_type="application/json", **extra)


def _clients(tenants: dict) -> dict:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tenants['key_b']}")
    dashboard = Client()
    dashboard.force_login(tenants["owner_b"])
    return {"api": api, "browser": APIClient(), "webhook": APIClient(), "dashboard": dashboard, "admin": dashboard}


def test_shop_b_never_sees_or_changes_shop_a(reliability, tenants, broker):
    before = shop_rows(tenants["a"])
    clients, body = _clients(tenants), _body(tenants["ids"], tenants)
    sent, leaks, wrong_status = 0, [], []
    for route, pattern in url_patterns():
        kind = classify(route)
        if kind in ("public", "admin"):  # admin: test_admin_refuses_a_shop_owner
            continue
        for url in _urls(route, pattern, tenants["ids"]):
            for method in METHODS:
                response = _call(clients[kind], kind, method, url, body, _query(tenants["ids"], tenants, kind),
                                 tenants)
                sent += 1
                answer = response.content.decode("utf-8", "replace") + json.dumps(dict(response.headers))
                found = [secret for secret in tenants["secrets"] if secret in answer]
                if found:
                    leaks.append(f"{method} {url} ({kind}) → {response.status_code} shows {found}")
                names_a_row = any(name in DATABASE_IDS for name in pattern.pattern.converters)
                if response.status_code >= 500 or (names_a_row and response.status_code not in (403, 404, 405)):
                    wrong_status.append(f"{method} {url} ({kind}) → {response.status_code}")
    after = shop_rows(tenants["a"])
    changed = [row for row in after if row not in before] + [row for row in before if row not in after]
    reliability(sent=sent, errors_5xx=sum("→ 5" in line for line in wrong_status), passed=not (
        leaks or wrong_status or changed), notes=f"{len(leaks)} answers with A's data, {len(wrong_status)} "
                                                 f"wrong statuses, {len(changed)} of A's rows changed")
    assert leaks == []
    assert wrong_status == []
    assert changed == []
    assert sent >= 150


def test_the_matrix_would_see_a_leak(tenants):
    """Control: with A's own credentials the same strings are there to find."""
    a, persona = tenants["a"], tenants["persona"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(shop=a).raw_key}")
    assert "Azurite heritage seekers" in api.get(f"/api/v1/personas/{persona.id}").content.decode()
    dashboard = Client()
    dashboard.force_login(a.staff.get())
    assert "azuritekeyword" in dashboard.get(f"/dashboard/personas/{persona.id}/").content.decode()


def test_admin_refuses_a_shop_owner(tenants):
    client = Client()
    client.force_login(tenants["owner_b"])
    for route, _ in url_patterns():
        if classify(route) == "admin" and "<" not in route:
            response = client.get("/" + route)
            assert "Azurite" not in response.content.decode() and "azurite" not in response.get("Location", "")
            if route not in ("admin/login/", "admin/logout/"):  # the login form (for a staff account)
                assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), route


def test_actors_handed_another_shops_ids_touch_nothing_of_it(reliability, tenants, broker):
    a, b = tenants["a"], tenants["b"]
    customer, product, persona = tenants["customer"], tenants["product"], tenants["persona"]
    Customer.objects.filter(pk=customer.pk).update(profile_stale_since=None)
    before = shop_rows(a)
    jobs_before = GenerationJob.objects.count()
    day = datetime.now(timezone.utc).date().isoformat()
    customers_changed.fn(b.id, [customer.id], [[product.id, day]])
    events_rollup.fn(b.id, [[product.id, day]])
    personas_refresh.fn(b.id)
    plan_generation.fn(b.id, [persona.id])
    after = shop_rows(a)
    changed = [row for row in after if row not in before]
    b_rows_on_a = (DailyProductStats.objects.filter(shop=b, product__shop=a).count()
                   + GenerationJob.objects.filter(shop=b, persona__shop=a).count()
                   + GenerationJob.objects.filter(shop=b, product__shop=a).count())
    reliability(sent=4, stored=GenerationJob.objects.count() - jobs_before, passed=not changed and not b_rows_on_a,
                notes="customers_changed, events_rollup, personas_refresh, plan_generation with B's id and A's ids")
    assert changed == [] and b_rows_on_a == 0
    assert GenerationJob.objects.count() == jobs_before
