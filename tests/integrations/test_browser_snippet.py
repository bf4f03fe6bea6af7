"""The README's browser snippet on a plain storefront page in Chromium, on another origin than
shop-ai: views and basket additions arrive in batches, the shopper sees their persona's variant, a
failed send is retried with the same event ids, and without consent or with Do Not Track nothing
is sent or stored."""

from __future__ import annotations

import http.server
import io
import json
import threading
from decimal import Decimal

import pytest
from PIL import Image

from generation.models import GenerationSettings
from generation.storefront import exposure_log
from profiles.connect.services import store_connection_for
from profiles.models import Event
from profiles.services import product_upsert, shop_create
from tests.browser.conftest import browser, page  # noqa: F401 - the fixtures, for this directory too
from tests.dashboard.factories import customer_for, job_for, persona_for
from tests.integrations.readme import readme_snippet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EVENTS_PATH = "/api/v1/browser/events"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def store(db):
    shop = shop_create(name="Lotus & Ink")
    GenerationSettings.objects.create(shop=shop, holdout_share=Decimal("0"))
    product = product_upsert(shop=shop, external_id="fan-1", title="祥云折扇", price=Decimal("68.00"))[0]
    persona = persona_for(shop)
    customer_for(shop, "c-9", persona)
    listing = job_for(shop, product, persona, listing_status="published").listing
    return {"shop": shop, "key": store_connection_for(shop=shop).publishable_key, "listing": listing}


class Storefront:
    """A plain store on its own origin (127.0.0.1, while shop-ai answers on localhost): a real server,
    because Chromium lets a page reach a loopback address only from another loopback page."""

    def __init__(self):
        self.html = ""
        storefront = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                image = self.path.endswith(".jpg")
                body = png() if image else storefront.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "image/png" if image else "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def storefront():
    front = Storefront()
    yield front
    front.server.shutdown()
    front.server.server_close()


def open_store(page, live_server, store, storefront, *, customer: str | None = "c-9",  # noqa: F811
               consent: bool = True) -> list:
    """The README's snippet, placeholders filled in, on the store's product page; returns the list
    the snippet's event requests are collected in."""
    snippet = (readme_snippet("browser-snippet").replace("https://SHOP-AI-HOST", live_server.url)
               .replace("PUBLISHABLE-KEY", store["key"]).replace('"CUSTOMER-ID-OR-NULL"', json.dumps(customer)))
    if not consent:
        snippet = snippet.replace("consent: true", "consent: false")
    storefront.html = f"<!doctype html><html><head><meta charset='utf-8'><title>Fans</title></head><body>{snippet}</body></html>"
    sent = []
    page.on("request", lambda request: sent.append(request) if EVENTS_PATH in request.url else None)
    return sent


def test_a_consenting_shopper_is_tracked_in_batches_and_sees_their_variant(page, live_server, store, storefront):  # noqa: F811
    open_store(page, live_server, store, storefront)
    with page.expect_response(lambda response: EVENTS_PATH in response.url and response.status == 200):
        page.goto(f"{storefront.url}/products/fan-1")
    image = page.locator("img[data-shop-ai-product]")
    image.and_(page.locator("[data-shop-ai-variant]")).wait_for()
    assert image.get_attribute("src") == live_server.url + store["listing"].image.image.url
    assert image.get_attribute("data-shop-ai-variant") == f"persona:{store['listing'].persona_id}"
    with page.expect_response(lambda response: EVENTS_PATH in response.url and response.status == 200):
        page.get_by_role("button", name="Add to cart").click()
    stored = list(Event.objects.filter(shop=store["shop"]).select_related("customer", "product").order_by("type"))
    assert [(e.type, e.customer.external_id, e.product.external_id) for e in stored] == [
        ("add_to_cart", "c-9", "fan-1"), ("view", "c-9", "fan-1")]
    assert stored[0].quantity == 1 and page.evaluate("ShopAI.pending()") == 0
    assert exposure_log.flush() == 1


def test_a_failed_send_is_retried_with_the_same_event_ids(page, live_server, store, storefront):  # noqa: F811
    sent = open_store(page, live_server, store, storefront, customer=None)
    failures = []

    def first_fails(route):
        if not failures:
            failures.append(route.request.post_data)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"{live_server.url}{EVENTS_PATH}", first_fails)
    with page.expect_response(lambda response: EVENTS_PATH in response.url and response.status == 200,
                              timeout=15_000):
        page.goto(f"{storefront.url}/products/fan-1")
    first, retried = json.loads(failures[0]), json.loads(sent[-1].post_data)
    assert [e["event_id"] for e in first["events"]] == [e["event_id"] for e in retried["events"]]
    view = Event.objects.select_related("customer").get(shop=store["shop"])
    assert view.event_id == first["events"][0]["event_id"] and view.customer.external_id.startswith("anon-")


@pytest.mark.parametrize("privacy", ["no consent", "do not track", "global privacy control"])
def test_without_consent_or_with_do_not_track_nothing_is_sent_or_stored(page, live_server, store,  # noqa: F811
                                                                        storefront, privacy):
    if privacy == "do not track":
        page.add_init_script("Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})")
    if privacy == "global privacy control":
        page.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    sent = open_store(page, live_server, store, storefront, consent=privacy != "no consent")
    asked = []
    page.on("request", lambda request: asked.append(request.url) if live_server.url in request.url else None)
    page.goto(f"{storefront.url}/products/fan-1")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_timeout(1_500)  # longer than the snippet's batching delay
    assert sent == [] and [url for url in asked if "/api/" in url] == []
    assert page.locator("img[data-shop-ai-product]").get_attribute("src") == "/images/fan-1.jpg"
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('shopai:'))") == []
    assert not Event.objects.filter(shop=store["shop"]).exists()
    if privacy == "no consent":  # consent given later (the cookie banner): from then on it sends
        with page.expect_response(lambda response: EVENTS_PATH in response.url and response.status == 200):
            page.evaluate("ShopAI.consent(true); ShopAI.view('fan-1')")
        assert Event.objects.filter(shop=store["shop"]).count() == 1
