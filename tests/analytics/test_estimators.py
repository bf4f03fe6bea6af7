"""The estimators recover a known lift on synthetic panels, find none where there is none, and
refuse data that cannot answer the question with a message that says why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.estimators import (
    BenefitDataError,
    Estimate,
    arm_means,
    before_after,
    difference_in_differences,
    difference_in_differences_by_product,
    power,
    variant_vs_holdout,
)

COLUMNS = ["product_id", "category", "day", "net_revenue", "visitors", "assisted", "ever_assisted"]


def synthetic_panel(*, lift: float, seed: int, products: int = 36, days: int = 56, start: int = 35,
                    promotion_after: bool = True) -> pd.DataFrame:
    """Products in 3 categories, a third assisted from day `start`, a weekend rhythm and (optionally)
    a promotion on days 50-51 that lifts every product — the trap for before/after."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2026-08-01", periods=days)
    rows = []
    for number in range(products):
        assisted_product = number % 3 == 0
        base = rng.uniform(60, 140)
        for index, day in enumerate(dates):
            mean = base * (1.3 if day.weekday() >= 5 else 1.0)
            mean *= 2.0 if promotion_after and index in (50, 51) else 1.0
            assisted = assisted_product and index >= start
            mean *= 1 + lift if assisted else 1.0
            rows.append((f"p{number}", f"c{number % 4}", day,
                         float(rng.poisson(mean / 5) * 5), int(mean / 4), assisted, assisted_product))
    return pd.DataFrame(rows, columns=COLUMNS)


def test_difference_in_differences_recovers_a_known_lift():
    estimate = difference_in_differences(synthetic_panel(lift=0.25, seed=1))
    assert estimate.ci_low < 0.25 < estimate.ci_high and estimate.ci_low > 0 and estimate.p_value < 0.01
    assert "clustered by product" in estimate.method and estimate.effect_per_day > 0


def test_no_effect_is_mostly_not_significant_and_the_interval_covers_zero():
    estimates = [difference_in_differences(synthetic_panel(lift=0.0, seed=seed)) for seed in range(8)]
    covered = sum(e.ci_low <= 0 <= e.ci_high for e in estimates)
    assert covered >= 6 and np.median([e.p_value for e in estimates]) > 0.05


def test_before_after_is_fooled_by_the_promotion_and_difference_in_differences_is_not():
    panel = synthetic_panel(lift=0.0, seed=3, start=44)  # after window: days 44-55, promotion inside it
    naive = np.mean([before_after(panel, f"p{n}").lift for n in range(0, 36, 3)])
    did = difference_in_differences(panel)
    assert naive > 0.1 and did.ci_low <= 0 <= did.ci_high
    assert "comparison only" in before_after(panel, "p0").note


def test_per_product_estimates_cover_each_assisted_product():
    per_product = difference_in_differences_by_product(synthetic_panel(lift=0.3, seed=4))
    assert set(per_product) == {f"p{n}" for n in range(0, 36, 3)}
    hits = sum(e.ci_low <= 0.3 <= e.ci_high for e in per_product.values())
    assert hits >= 9 and all("Newey-West" in e.method for e in per_product.values())


def _visitors(seed: int, lift: float, n: int = 6000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    holdout = rng.random(n) < 0.2
    converted = rng.random(n) < np.where(holdout, 0.10, 0.10 * (1 + lift))
    return pd.DataFrame({"customer_id": [f"c{i % (n // 2)}" for i in range(n)], "product_id": "p0",
                         "holdout": holdout, "converted": converted, "revenue": converted * 40.0})


def test_variant_vs_holdout_recovers_a_conversion_lift_with_customer_clusters():
    estimates = variant_vs_holdout(_visitors(seed=5, lift=0.5))
    for estimate in estimates.values():
        assert estimate.ci_low < 0.5 < estimate.ci_high and estimate.ci_low > 0 and "holdout" in estimate.method


def test_power_says_how_many_more_days_a_small_lift_needs():
    panel = synthetic_panel(lift=0.0, seed=6)
    result = power(panel, _visitors(seed=6, lift=0.0), chosen_lift=0.05)
    assert result.minimum_detectable_lift > 0.05 and result.days_needed > 0 and result.days_observed == 56
    assert power(panel, _visitors(seed=6, lift=0.0), chosen_lift=5.0).days_needed == 0


def test_bad_inputs_are_refused_with_what_to_do():
    panel = synthetic_panel(lift=0.1, seed=7)
    with pytest.raises(BenefitDataError, match="no days"):
        difference_in_differences(panel.iloc[0:0])
    with pytest.raises(BenefitDataError, match="one day"):
        difference_in_differences(panel[panel["day"] == panel["day"].min()])
    every = panel.assign(ever_assisted=True)
    with pytest.raises(BenefitDataError, match="no control group"):
        difference_in_differences(every)
    with pytest.raises(BenefitDataError, match="holdout share"):
        variant_vs_holdout(_visitors(seed=7, lift=0).assign(holdout=False))
    silent = panel.assign(net_revenue=np.where(panel["product_id"] == "p0", 0.0, panel["net_revenue"]))
    assert before_after(silent, "p0").lift is None and "undefined" in before_after(silent, "p0").note
    shuffled = panel.sample(frac=1, random_state=1)  # dates out of order give the same answer
    assert difference_in_differences(shuffled).lift == pytest.approx(difference_in_differences(panel).lift)


def test_a_category_without_unassisted_products_is_named_not_silently_dropped():
    panel = synthetic_panel(lift=0.2, seed=8)
    only_assisted = panel[(panel["category"] != "c0") | panel["ever_assisted"]]  # c0 keeps its assisted products
    per_product = difference_in_differences_by_product(only_assisted)
    in_c0 = {f"p{n}" for n in range(0, 36, 12)}
    assert all(per_product[p].lift is None and "no control group" in per_product[p].note
               and "'c0'" in per_product[p].note for p in in_c0)
    assert all(per_product[p].lift is not None for p in set(per_product) - in_c0)
    pooled = difference_in_differences(only_assisted)
    assert pooled.lift is not None and "c0" in pooled.note


def test_the_p_value_and_the_interval_agree_on_significance():
    for seed in range(6):
        estimate = difference_in_differences(synthetic_panel(lift=0.08, seed=seed))
        assert (estimate.p_value < 0.05) == (estimate.ci_low > 0 or estimate.ci_high < 0)


def test_power_uses_the_most_precise_estimator_and_says_when_a_lift_is_out_of_reach():
    panel = synthetic_panel(lift=0.0, seed=6)
    visitors = _visitors(seed=6, lift=0.0)
    did_only, both = power(panel, None, chosen_lift=0.05), power(panel, visitors, chosen_lift=0.05)
    assert both.minimum_detectable_lift <= did_only.minimum_detectable_lift
    tiny = power(panel, visitors, chosen_lift=0.001)
    assert tiny.days_needed > 365 and "more than a year" in tiny.note
    assert power(panel, visitors, chosen_lift=5.0).note == ""


def test_power_from_estimates_the_caller_already_has_equals_power_computed_afresh():
    panel = synthetic_panel(lift=0.1, seed=9)
    visitors = _visitors(seed=9, lift=0.1)
    did, revenue = difference_in_differences(panel), variant_vs_holdout(visitors)["revenue"]
    for given_visitors in (visitors, None, visitors.assign(holdout=True), visitors.iloc[:0]):
        assert (power(panel, given_visitors, chosen_lift=0.05, did=did, holdout_revenue=revenue)
                == power(panel, given_visitors, chosen_lift=0.05))
    # An estimator that had no answer (None) is no basis, as when power computes it and it fails.
    unassisted = panel.assign(assisted=False, ever_assisted=False)
    assert power(unassisted, None, did=None, holdout_revenue=None) == power(unassisted, None)
    assert power(panel, visitors, did=None, holdout_revenue=revenue).basis.startswith("variant vs holdout")
    assert power(panel, visitors, did=did, holdout_revenue=None).basis == "difference-in-differences"


@pytest.mark.parametrize("seed", range(8))
def test_the_holdout_p_value_agrees_with_its_interval(seed):
    for estimate in variant_vs_holdout(_visitors(seed=seed, lift=0.15)).values():
        excludes_zero = estimate.ci_low > 0 or estimate.ci_high < 0
        assert excludes_zero == (estimate.p_value < 0.05), estimate


def _did_with(lift: float, se_log: float) -> Estimate:
    log_lift = np.log1p(lift)
    return Estimate("difference-in-differences", "net revenue per assisted product per day", lift,
                    float(np.expm1(log_lift - 1.959964 * se_log)), float(np.expm1(log_lift + 1.959964 * se_log)),
                    None, None, 60)


def test_the_minimum_detectable_lift_is_read_on_the_log_scale_and_does_not_grow_with_the_observed_lift():
    panel = synthetic_panel(lift=0.0, seed=6)
    none, double = (power(panel, None, did=_did_with(lift, 0.2), holdout_revenue=None) for lift in (0.0, 1.0))
    assert none.minimum_detectable_lift == pytest.approx(double.minimum_detectable_lift)
    assert none.minimum_detectable_lift == pytest.approx(np.expm1((1.959964 + 0.841621) * 0.2), rel=1e-4)
    # A true lift of that size is found significant (log lift / se > 1.96) in 80 % of repeated tests.
    draws = np.random.default_rng(12).normal(np.log1p(none.minimum_detectable_lift), 0.2, 20_000)
    assert np.mean(draws / 0.2 > 1.959964) == pytest.approx(0.80, abs=0.01)
    assert power(panel, None, chosen_lift=none.minimum_detectable_lift * 1.001, did=_did_with(1.0, 0.2),
                 holdout_revenue=None).days_needed == 0
    # Four times the days halve the standard error: a lift detectable at se 0.1 needs 3 × 56 more days.
    half = np.expm1((1.959964 + 0.841621) * 0.1)
    assert power(panel, None, chosen_lift=half, did=_did_with(0.5, 0.2), holdout_revenue=None).days_needed == \
        pytest.approx(3 * 56, abs=1)


def test_arm_means_show_money_to_the_cent_and_rates_to_four_places():
    assert arm_means(70.06342, 32.5304, "revenue") == "70.06 vs 32.53"
    assert arm_means(0.29714, 0.13702, "converted") == "0.2971 vs 0.1370"
