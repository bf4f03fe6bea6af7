"""A rater fills a Kansei survey on a 375 px phone through its link; the owner's report then shows it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from analytics.kansei_surveys import kansei_survey_create
from profiles.services import product_upsert, shop_create
from tests.analytics.factories import listing_live, persona_for
from tests.browser.test_dashboard import log_in
from tests.dashboard.factories import owner_of
from tests.generation.jobs.conftest import photo_upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 375, "height": 740}


def test_a_rater_fills_the_survey_on_a_phone_and_the_report_shows_the_rating(browser, page, live_server):
    shop = shop_create(name="Lotus & Ink")
    product = product_upsert(shop=shop, external_id="vase-1", title="青花瓷瓶", category="vase",
                             image=photo_upload())[0]
    listing_live(shop=shop, product=product, persona=persona_for(shop, "heritage"),
                 published_at=datetime(2026, 11, 1, tzinfo=timezone.utc))
    owner_of(shop)
    survey = kansei_survey_create(shop=shop, product_external_id="vase-1")

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    rater = phone.new_page()
    rater.goto(f"{live_server.url}/kansei/{survey.token}/")
    for number, warm in ((1, "6"), (2, "3")):
        assert rater.get_by_text(f"Design {number} / 2").is_visible()
        assert rater.locator('input[type="range"]').count() == 6
        assert rater.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
        slider = rater.get_by_label("温暖的 · warm")
        box = slider.bounding_box()
        assert box["width"] > 0.8 * PHONE["width"] - 40 and box["height"] >= 30  # big enough for a thumb
        slider.fill(warm)
        rater.get_by_label("简约的 · simple").fill("2")
        rater.get_by_role("button", name="提交 · Submit").click()
        rater.wait_for_load_state()
    assert rater.get_by_text("Thank you: you have rated all 2 designs.").is_visible()
    phone.close()

    log_in(page, live_server.url, "owner")
    page.goto(f"{live_server.url}/dashboard/reports/benefit/")
    profiles = page.locator("table.kansei-profiles")
    original = profiles.locator("tr", has_text="青花瓷瓶 (original)")
    assert "customers: 1" in original.inner_text() and "6.00" in original.inner_text()
    variant = profiles.locator("tr", has_text="青花瓷瓶 for heritage")
    assert "3.00" in variant.inner_text() and "vs original -3.00" in variant.inner_text()
