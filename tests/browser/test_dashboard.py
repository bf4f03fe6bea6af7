"""An owner's day in a real browser: log in, read a persona, draw a product for it, watch the job
finish, approve and publish the image, then see it in the store as that persona's shopper (and the
original as a holdout shopper). Another shop's owner never sees any of it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generation.models import GenerationSettings, Listing
from generation.storefront import in_holdout
from profiles.services import product_upsert, shop_create
from tests.dashboard.factories import PASSWORD, customer_for, days_ago, events_for, owner_of, persona_for
from tests.generation.jobs.conftest import photo_upload, tiny_weights  # noqa: F401 - a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_customer(shop, holdout: bool) -> str:
    share = GenerationSettings.objects.get(shop=shop).holdout_share
    return next(f"shopper-{n}" for n in range(1000)
                if in_holdout(shop_id=shop.id, customer_external_id=f"shopper-{n}", share=share) == holdout)


@pytest.fixture
def store(db):
    shop = shop_create(name="Lotus & Ink")
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, holdout_share=Decimal("0.5"))
    persona = persona_for(shop, "Heritage lovers")
    product = product_upsert(shop=shop, external_id="vase-1", title="青花瓷瓶", category="vase",
                             image=photo_upload())[0]
    for n in range(8):  # enough customers with shared words for the t-SNE map
        customer = customer_for(shop, f"c{n}", persona, keywords={"青花": 1.0, "非遗": 0.5, f"词{n % 3}": 0.3})
        events_for(shop, customer, product, [days_ago(n), days_ago(n + 1)])
    viewer, held_out = a_customer(shop, holdout=False), a_customer(shop, holdout=True)
    customer_for(shop, viewer, persona)
    customer_for(shop, held_out, persona)
    other = shop_create(name="Paper Cranes")
    persona_for(other, "Paper crane collectors")
    owner_of(shop)
    owner_of(other, username="other-owner")
    return {"shop": shop, "persona": persona, "product": product, "viewer": viewer, "held_out": held_out}


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/dashboard/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/dashboard/")


def test_owner_draws_approves_and_publishes_a_variant_the_persona_then_sees(
        page, live_server, store, tiny_weights, worker):  # noqa: F811 - tiny_weights is the fixture
    base, shop, persona = live_server.url, store["shop"], store["persona"]
    log_in(page, base, "owner")
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.locator("svg.day-bars rect").count() == 30

    page.get_by_role("link", name="Personas", exact=True).click()
    page.get_by_role("link", name="Heritage lovers").click()
    assert page.get_by_role("heading", name="Heritage lovers").is_visible()
    assert page.locator("svg.chart").count() == 2
    assert "10 customers" in page.locator("svg.chart").nth(1).get_attribute("aria-label")

    page.get_by_role("link", name="Generation", exact=True).click()
    page.get_by_label("Product id").fill("vase-1")
    page.get_by_label("Heritage lovers").check()
    page.get_by_role("button", name="Start generation").click()
    assert page.get_by_text("1 new job(s) queued").is_visible()
    row = page.locator("tr[data-job]").first
    row.locator("[data-role=progress]", has_text="100 %").wait_for(timeout=60_000)  # updated by the 2 s poll
    assert row.locator("[data-role=status]").inner_text() == "Succeeded"

    row.get_by_role("link").first.click()
    listing = Listing.objects.get(shop=shop, persona=persona)
    assert page.get_by_alt_text(listing.title).is_visible()
    page.get_by_role("button", name="Approve").click()
    assert page.get_by_text("is now approved").is_visible()
    page.get_by_role("button", name="Publish").click()
    assert page.get_by_text("is now published").is_visible()
    listing.refresh_from_db()
    assert listing.status == "published"

    page.goto(f"{base}/store/{shop.id}/?customer={store['viewer']}")
    variant = page.get_by_alt_text(listing.title)
    assert variant.is_visible() and "/generated/" in variant.get_attribute("src")
    page.goto(f"{base}/store/{shop.id}/?customer={store['held_out']}")
    assert page.get_by_alt_text("青花瓷瓶", exact=True).is_visible()
    assert page.get_by_alt_text(listing.title).count() == 0


def test_the_overview_fits_a_375_px_phone_without_sideways_scrolling(browser, live_server, store):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        log_in(page, live_server.url, "owner")
        for path in ("/dashboard/", f"/dashboard/personas/{store['persona'].id}/", "/dashboard/generation/",
                     "/dashboard/listings/", "/dashboard/settings/"):
            page.goto(f"{live_server.url}{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, overflow)
        assert page.get_by_role("link", name="Reports").is_visible()
    finally:
        context.close()


def test_another_shops_owner_cannot_see_the_first_shops_personas(page, live_server, store):
    log_in(page, live_server.url, "other-owner")
    page.get_by_role("link", name="Personas", exact=True).click()
    assert page.get_by_text("Paper crane collectors").is_visible()
    assert page.get_by_text("Heritage lovers").count() == 0
    response = page.goto(f"{live_server.url}/dashboard/personas/{store['persona'].id}/")
    assert response.status == 404
