"""Assisted periods, the product × day panel and the exposed visitors, as the estimators receive them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from analytics.rollup import daily_stats_rebuild
from analytics.selectors import AssistedPeriod, assisted_periods, benefit_panel, exposed_visitors
from generation.models import Exposure
from profiles.ingestion.services import events_ingest
from profiles.services import product_upsert
from tests.analytics.factories import listing_live, persona_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY0 = date(2026, 10, 1)


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI)


@pytest.fixture
def products(shop):
    made = {}
    for external_id, category in (("fan", "fans"), ("round-fan", "fans"), ("vase", "vases")):
        made[external_id] = product_upsert(shop=shop, external_id=external_id, title=external_id, category=category,
                                           price=Decimal("10.00"))[0]
    return made


def _purchase(event_id: str, customer: str, product: str, day: date, price: str = "10.00") -> dict:
    return {"event_id": event_id, "type": "purchase", "customer_id": customer, "product_id": product,
            "quantity": 1, "unit_price": price, "occurred_at": _noon(day).isoformat()}


def test_overlapping_listings_make_one_period_and_a_retired_one_ends_it(shop, products):
    fan, vase = products["fan"], products["vase"]
    listing_live(shop=shop, product=fan, persona=persona_for(shop, "a"), published_at=_noon(DAY0),
                 retired_at=_noon(DAY0 + timedelta(days=5)))
    listing_live(shop=shop, product=fan, persona=persona_for(shop, "b"), published_at=_noon(DAY0 + timedelta(days=3)),
                 retired_at=_noon(DAY0 + timedelta(days=9)))
    listing_live(shop=shop, product=vase, persona=persona_for(shop, "a"), published_at=_noon(DAY0 + timedelta(days=2)))
    periods = assisted_periods(shop=shop)
    assert periods[fan.id] == [AssistedPeriod(DAY0, DAY0 + timedelta(days=9))]
    assert periods[vase.id] == [AssistedPeriod(DAY0 + timedelta(days=2), None)]
    assert not periods[fan.id][0].covers(DAY0 + timedelta(days=9)) and periods[vase.id][0].covers(date(2030, 1, 1))


def test_the_panel_has_every_day_of_every_product_with_assisted_flags(shop, products, other_shop):
    events = [_purchase("p1", "c1", "fan", DAY0 + timedelta(days=1)), _purchase("p2", "c2", "vase", DAY0 + timedelta(days=6)),
              _purchase("p3", "c3", "round-fan", DAY0, price="25.50")]
    events_ingest(shop=shop, raw_events=events, now=_noon(DAY0 + timedelta(days=8)))
    daily_stats_rebuild(shop=shop)
    listing_live(shop=shop, product=products["fan"], persona=persona_for(shop), published_at=_noon(DAY0 + timedelta(days=4)))
    panel = benefit_panel(shop=shop, start=DAY0, end=DAY0 + timedelta(days=6))
    assert len(panel) == 3 * 7 and set(panel["product_id"]) == {"fan", "round-fan", "vase"}
    fan = panel[panel["product_id"] == "fan"].set_index("day")
    assert fan["assisted"].tolist() == [False] * 4 + [True] * 3 and fan["ever_assisted"].all()
    assert fan["net_revenue"].sum() == 10.0 and fan.loc["2026-10-02", "visitors"] == 1
    assert not panel[panel["product_id"] == "vase"]["ever_assisted"].any()
    assert panel[panel["product_id"] == "round-fan"]["net_revenue"].sum() == 25.5
    assert set(benefit_panel(shop=shop, start=DAY0, end=DAY0 + timedelta(days=6), category="fans")["category"]) == {"fans"}
    assert benefit_panel(shop=other_shop, start=DAY0, end=DAY0 + timedelta(days=6)).empty


def test_exposed_visitors_count_revenue_after_the_first_exposure_on_both_sides(shop, products):
    fan = products["fan"]
    listing = listing_live(shop=shop, product=fan, persona=persona_for(shop), published_at=_noon(DAY0))
    shown = _noon(DAY0 + timedelta(days=2))
    for customer, holdout in (("buyer", False), ("held", True), ("early", False)):
        Exposure.objects.create(shop=shop, customer_external_id=customer, product=fan, listing=listing,
                                variant="original" if holdout else f"persona:{listing.persona_id}", holdout=holdout,
                                shown_at=shown)
    events = [_purchase("b1", "buyer", "fan", DAY0 + timedelta(days=3)),
              _purchase("b2", "buyer", "fan", DAY0 + timedelta(days=4)),
              _purchase("h1", "held", "fan", DAY0 + timedelta(days=3), price="7.00"),
              _purchase("e1", "early", "fan", DAY0 + timedelta(days=1))]  # before their exposure: not counted
    events_ingest(shop=shop, raw_events=events, now=_noon(DAY0 + timedelta(days=8)))
    visitors = exposed_visitors(shop=shop, start=DAY0, end=DAY0 + timedelta(days=6)).set_index("customer_id")
    assert visitors.loc["buyer", "revenue"] == 20.0 and bool(visitors.loc["buyer", "converted"])
    assert visitors.loc["held", "revenue"] == 7.0 and bool(visitors.loc["held", "holdout"])
    assert visitors.loc["early", "revenue"] == 0.0 and not visitors.loc["early", "converted"]
