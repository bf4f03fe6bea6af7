"""Winsorised (capped) revenue against closed-form cases (pure: no database)."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.cuped import cuped_comparison, cuped_variant_vs_holdout
from analytics.estimators import difference_in_differences
from analytics.winsor import (
    CUSTOMER_BASIS,
    Cap,
    capped_difference_in_differences,
    capped_panel,
    customer_revenue_cap,
    pre_period_cap,
    product_day_revenue_cap,
)

ESTIMAND = "net revenue per exposed customer"


def _pairs(rng: np.random.Generator, n: int = 4000, lift: float = 0.2) -> pd.DataFrame:
    """One product, n exposed customers, a fifth held out; about one in eight buys (18-320 a unit),
    before and after, and the variant multiplies the chance by 1 + lift."""
    holdout = rng.random(n) < 0.2
    price = rng.uniform(18, 320, n)
    bought = rng.random(n) < np.where(holdout, 0.125, 0.125 * (1 + lift))
    pre_bought = rng.random(n) < 0.125
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)], "product_id": "p1", "holdout": holdout,
        "revenue": np.where(bought, price, 0.0), "converted": bought,
        "pre_revenue": np.where(pre_bought, rng.uniform(18, 320, n), 0.0), "pre_converted": pre_bought.astype(float),
        "pre_views": np.ones(n), "pre_product_revenue": np.where(pre_bought, rng.uniform(18, 320, n), 0.0),
        "pre_product_views": np.ones(n), "has_pre_period": np.ones(n, bool)})


def _interval(estimate) -> tuple[float, float, float]:
    return estimate.lift, estimate.ci_low, estimate.ci_high


def test_the_cap_is_the_percentile_of_the_pre_period_zeros_included_and_none_without_enough_of_it():
    values = np.concatenate([np.zeros(900), np.arange(1.0, 101.0)])  # 1000 customers, a tenth bought
    cap = pre_period_cap(values, 99.5, "test")
    assert cap.value == pytest.approx(np.percentile(values, 99.5)) == pytest.approx(95.005)
    assert cap.pre_period_units == 1000 and cap.describe("CNY") == "capped at CNY 95 (p99.5 of test)"
    assert pre_period_cap(values[-40:], 99.5, "test") is None  # 40 values: a p99.5 is just their largest
    assert pre_period_cap(np.zeros(1000), 99.5, "test") is None  # nobody bought: nothing to cap at
    with pytest.raises(ValueError):
        pre_period_cap(values, 0, "test")


def test_a_cap_above_every_value_changes_nothing():
    pairs = _pairs(np.random.default_rng(3))
    above = Cap(pairs["revenue"].max() + pairs["pre_product_revenue"].max() + pairs["pre_revenue"].max(), 99.5,
                CUSTOMER_BASIS, len(pairs))
    for adjust in (False, True):
        plain, removed = cuped_comparison(pairs, "revenue", estimand=ESTIMAND, adjust=adjust)
        capped, removed_capped = cuped_comparison(pairs, "revenue", estimand=ESTIMAND, adjust=adjust, cap=above)
        assert _interval(capped) == pytest.approx(_interval(plain), rel=1e-12) and removed_capped == removed
    panel = _panel(np.random.default_rng(4))
    high = Cap(panel["net_revenue"].max() + 1, 99.5, "test", len(panel))
    assert _interval(difference_in_differences(capped_panel(panel, high))) == pytest.approx(
        _interval(difference_in_differences(panel)), rel=1e-12)


def test_a_cap_from_the_pre_period_is_not_moved_by_post_period_outliers():
    pairs = _pairs(np.random.default_rng(5))
    cap = customer_revenue_cap(pairs)
    outliers = pairs.assign(revenue=pairs["revenue"] * np.where(np.arange(len(pairs)) % 50 == 0, 1000.0, 1.0))
    assert customer_revenue_cap(outliers) == cap
    assert cap.value == pytest.approx(np.percentile(pairs["pre_product_revenue"], 99.5))
    panel = _panel(np.random.default_rng(6))
    day_cap = product_day_revenue_cap(panel)
    after = panel["day"] >= panel.loc[panel["assisted"], "day"].min()
    assert product_day_revenue_cap(panel.assign(net_revenue=panel["net_revenue"].where(~after, 1e6))) == day_cap
    assert day_cap.value == pytest.approx(np.percentile(panel.loc[~after, "net_revenue"], 99.5))
    # ... and one big day in the pre-period moves it by no more than a percentile moves.
    spiked = panel.copy()
    spiked.loc[spiked.index[0], "net_revenue"] = 1e6
    assert product_day_revenue_cap(spiked).value < 2 * day_cap.value


def test_a_single_huge_order_no_longer_dominates_the_interval():
    rng = np.random.default_rng(7)
    pairs = _pairs(rng, lift=0.2)
    buyer = pairs.index[pairs["holdout"] & pairs["converted"]][0]
    whale = pairs.copy()
    whale.loc[buyer, "revenue"] = 200_000.0  # one held-out customer's order is worth the whole arm's 10 times over
    cap = customer_revenue_cap(whale)
    plain, _ = cuped_comparison(whale, "revenue", estimand=ESTIMAND)
    capped, _ = cuped_comparison(whale, "revenue", estimand=ESTIMAND, cap=cap)
    calm, _ = cuped_comparison(pairs, "revenue", estimand=ESTIMAND, cap=cap)
    width = np.log1p(plain.ci_high) - np.log1p(plain.ci_low)
    capped_width = np.log1p(capped.ci_high) - np.log1p(capped.ci_low)
    assert capped_width < width / 4  # the whale made the uncapped interval over four times as wide
    assert plain.lift < -0.5 < capped.lift  # and turned a +20 % lift into a loss
    assert capped.lift == pytest.approx(calm.lift, abs=0.02)  # capped, the whale is one more buyer
    assert capped.ci_low < 0.2 < capped.ci_high


def test_the_cuped_report_rows_name_the_cap_and_keep_the_uncapped_beside_it():
    pairs = _pairs(np.random.default_rng(8))
    revenue = cuped_variant_vs_holdout(pairs, currency="CNY")["revenue"]
    assert revenue.cap == customer_revenue_cap(pairs)
    assert revenue.capped.estimand == f"{ESTIMAND}, capped at CNY {revenue.cap.value:,.0f} (p99.5 of {CUSTOMER_BASIS})"
    assert "capped at" not in revenue.adjusted.estimand and revenue.adjusted.lift != revenue.capped.lift
    tiny = pairs.head(40)  # 40 customers: too few for a p99.5 of the pre-period
    assert cuped_variant_vs_holdout(tiny)["revenue"].capped is None


def _panel(rng: np.random.Generator, products: int = 30, days: int = 56, lift: float = 0.3) -> pd.DataFrame:
    """Products of two categories, a third assisted from day 28 on; daily revenue is a few orders of
    18-320, the assisted ones lifted by buying 1 + lift times as often."""
    rows = []
    start = date(2026, 1, 1)
    for number in range(products):
        assisted_product = number % 3 == 0
        rate = rng.uniform(0.3, 1.5)
        for offset in range(days):
            assisted = assisted_product and offset >= 28
            orders = rng.poisson(rate * (1 + lift if assisted else 1))
            rows.append({"product_id": f"p{number}", "category": f"k{number % 2}", "day": start + timedelta(offset),
                         "net_revenue": float(rng.uniform(18, 320, orders).sum()), "visitors": 10,
                         "assisted": assisted, "ever_assisted": assisted_product})
    return pd.DataFrame(rows)


def test_capped_difference_in_differences_names_its_cap_and_stays_near_the_uncapped_lift():
    panel = _panel(np.random.default_rng(9))
    estimate, cap = capped_difference_in_differences(panel, currency="CNY")
    assert estimate.estimand.endswith(f"capped at CNY {cap.value:,.0f} (p99.5 of product-days before any AI "
                                      "listing went live)")
    uncapped = difference_in_differences(panel)
    assert estimate.lift == pytest.approx(uncapped.lift, abs=0.1)
    assert capped_difference_in_differences(panel.head(60)) == (None, None)  # 60 product-days: too few for a cap
