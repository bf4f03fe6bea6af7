"""CUPED, the mSPRT and the checks against closed-form cases (pure: no database)."""

import math

import numpy as np
import pandas as pd
import pytest

from analytics.cuped import cuped_variant_vs_holdout
from analytics.estimators import BenefitDataError
from analytics.sequential import (
    KEEP,
    KEEP_TESTING,
    STOP,
    always_valid_interval,
    confidence_sequence,
    decide,
    mixture_variance,
    msprt_p_values,
    sample_ratio_check,
)


def _pairs(pre: np.ndarray, revenue: np.ndarray, holdout: np.ndarray, *, has_pre=None) -> pd.DataFrame:
    n = len(pre)
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)], "product_id": "p1", "holdout": holdout,
        "revenue": revenue, "converted": revenue > np.median(revenue),
        "pre_revenue": pre, "pre_converted": (pre > 0).astype(float), "pre_views": np.ones(n),
        "pre_product_revenue": np.zeros(n), "pre_product_views": np.zeros(n),
        "has_pre_period": np.ones(n, bool) if has_pre is None else has_pre})


def test_a_perfectly_correlated_covariate_removes_the_variance():
    rng = np.random.default_rng(1)
    pre = rng.gamma(2.0, 50.0, 2000)
    holdout = rng.random(2000) < 0.2
    revenue = (1.5 * pre + 20) * np.where(holdout, 1.0, 1.06)  # the outcome is the covariate, lifted by 6 %
    result = cuped_variant_vs_holdout(_pairs(pre, revenue, holdout))["revenue"]
    assert result.variance_removed > 0.999
    width = result.adjusted.ci_high - result.adjusted.ci_low
    assert width < 0.02 * (result.unadjusted.ci_high - result.unadjusted.ci_low)
    assert result.adjusted.lift == pytest.approx(0.06, rel=1e-3)


def test_an_additive_effect_on_a_perfectly_correlated_covariate_leaves_only_the_arms_different_relative_slopes():
    # One θ on the log scale fits a lift that multiplies revenue; a lift that adds 10 to everyone
    # gives the arms relative slopes 1.5 / mean that differ by 6 %, which is all that is left.
    rng = np.random.default_rng(1)
    pre = rng.gamma(2.0, 50.0, 2000)
    holdout = rng.random(2000) < 0.2
    revenue = 1.5 * pre + 20 + np.where(holdout, 0.0, 10.0)
    result = cuped_variant_vs_holdout(_pairs(pre, revenue, holdout))["revenue"]
    assert 0.99 < result.variance_removed < 0.9999
    true_lift = 10 / (1.5 * pre.mean() + 20)
    assert result.adjusted.lift == pytest.approx(true_lift, rel=0.01)
    assert result.adjusted.ci_low < true_lift < result.adjusted.ci_high


def test_one_theta_on_the_log_scale_does_not_over_correct_the_holdout_when_the_variant_doubles_revenue():
    # A slope in money fitted to both arms together follows the lifted variant arm (80 % of the
    # customers, slope 2) and over-corrects the holdout (slope 1), which then gets wider than unadjusted.
    rng = np.random.default_rng(11)
    n = 3000
    pre = rng.gamma(2.0, 50.0, n)
    holdout = rng.random(n) < 0.2
    expected = pre * np.where(holdout, 1.0, 2.0)
    spread = np.where(holdout, expected[holdout].std(), expected[~holdout].std())
    revenue = expected + rng.normal(0, 1, n) * spread  # the covariate explains half of each arm's variance
    result = cuped_variant_vs_holdout(_pairs(pre, revenue, holdout))["revenue"]
    assert 0.35 < result.variance_removed < 0.65
    log_width = {kind: math.log1p(estimate.ci_high) - math.log1p(estimate.ci_low)
                 for kind, estimate in (("raw", result.unadjusted), ("cuped", result.adjusted))}
    assert log_width["cuped"] < 0.75 * log_width["raw"]  # √0.5 ≈ 0.71; the money slope gave 0.88
    assert result.adjusted.ci_low < 1.0 < result.adjusted.ci_high


def test_an_independent_covariate_changes_nothing_beyond_noise():
    rng = np.random.default_rng(2)
    n = 6000
    pre = rng.gamma(2.0, 50.0, n)
    holdout = rng.random(n) < 0.2
    revenue = rng.gamma(2.0, 30.0, n) * np.where(holdout, 1.0, 1.1)
    result = cuped_variant_vs_holdout(_pairs(pre, revenue, holdout))["revenue"]
    # With k covariates and n customers the regression removes about k / n by chance alone.
    assert abs(result.variance_removed) < 0.01
    assert result.adjusted.lift == pytest.approx(result.unadjusted.lift, abs=0.01)


def test_customers_without_a_pre_period_get_the_mean_and_a_flag():
    rng = np.random.default_rng(3)
    pre = rng.gamma(2.0, 50.0, 1000)
    has_pre = rng.random(1000) < 0.7
    holdout = rng.random(1000) < 0.3
    revenue = np.where(has_pre, pre, 80.0) + rng.normal(0, 5, 1000)
    frame = _pairs(np.where(has_pre, pre, 0.0), revenue, holdout, has_pre=has_pre)
    result = cuped_variant_vs_holdout(frame)["revenue"]
    assert result.without_pre_period == int((~has_pre).sum())
    assert result.variance_removed > 0.9  # the flag absorbs the new customers' level


def test_cuped_needs_both_arms():
    frame = _pairs(np.ones(10), np.ones(10), np.zeros(10, bool))
    with pytest.raises(BenefitDataError, match="no holdout shoppers"):
        cuped_variant_vs_holdout(frame)


def _null_looks(rng, days=56, per_day=40):
    """Daily looks at the difference of two arms' means with no true difference."""
    a, b = rng.normal(0, 1, (days, per_day)), rng.normal(0, 1, (days, per_day))
    estimates, variances = [], []
    for day in range(1, days + 1):
        x, y = a[:day].ravel(), b[:day].ravel()
        estimates.append(x.mean() - y.mean())
        variances.append(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    return estimates, variances


def test_msprt_p_value_never_rises_as_null_data_accumulate():
    estimates, variances = _null_looks(np.random.default_rng(4))
    p_values = msprt_p_values(estimates, variances, tau2=8.2 * variances[-1])
    assert all(later <= earlier for earlier, later in zip(p_values, p_values[1:]))
    assert p_values[0] <= 1.0 and p_values[-1] > 0.05


def test_peeking_daily_at_the_msprt_keeps_false_positives_at_five_percent_but_fixed_p_values_do_not():
    rng = np.random.default_rng(5)
    sequential_hits = naive_hits = 0
    runs = 300
    for _ in range(runs):
        estimates, variances = _null_looks(rng, days=56, per_day=20)
        sequential_hits += min(msprt_p_values(estimates, variances, tau2=8.2 * variances[-1])) < 0.05
        naive_hits += any(abs(e) / math.sqrt(v) > 1.96 for e, v in zip(estimates, variances))
    assert sequential_hits / runs <= 0.05
    assert naive_hits / runs > 0.15  # the inflation daily peeking at a fixed-horizon test brings


def test_always_valid_interval_is_wider_than_the_fixed_one_and_the_sequence_only_narrows():
    low, high = always_valid_interval(0.0, 0.01, tau2=0.08)
    assert high > 1.96 * 0.1
    sequence = confidence_sequence([0.1, 0.05, 0.08], [0.04, 0.02, 0.01], tau2=0.08)
    widths = [high - low for low, high in sequence]
    assert widths == sorted(widths, reverse=True)


def test_the_mixture_comes_from_the_pre_period_spread():
    small = mixture_variance(pre_period_cv2=1.0, horizon_customers=10_000, holdout_share=0.2)
    assert mixture_variance(pre_period_cv2=4.0, horizon_customers=10_000, holdout_share=0.2) == pytest.approx(4 * small)
    with pytest.raises(ValueError, match="holdout share"):
        mixture_variance(pre_period_cv2=1.0, horizon_customers=100, holdout_share=0)


def test_sample_ratio_mismatch_flags_a_split_broken_by_three_points():
    broken = sample_ratio_check(holdout=2300, variant=7700, holdout_share=0.2)
    assert broken.mismatch and "mismatch" in broken.message
    fine = sample_ratio_check(holdout=2010, variant=7990, holdout_share=0.2)
    assert not fine.mismatch and fine.p_value > 0.5


@pytest.mark.parametrize(("low", "high", "action"), [
    (0.02, 0.30, KEEP), (-0.30, -0.02, STOP), (-0.10, 0.04, STOP), (-0.10, 0.30, KEEP_TESTING)])
def test_decision(low, high, action):
    decision = decide(ci_low=low, ci_high=high, se_log=0.02, tau2=8 * 0.02**2, days_observed=28)
    assert decision.action == action
    if action == KEEP_TESTING:
        assert 0 < decision.days_more <= 365 and f"about {decision.days_more} more days" in decision.sentence


def test_a_test_that_would_take_years_says_so_rather_than_counting_the_days():
    decision = decide(ci_low=-0.5, ci_high=2.0, se_log=0.4, tau2=0.5, days_observed=21)
    assert decision.action == KEEP_TESTING and decision.days_more > 365
    assert "more than a year at current traffic" in decision.sentence and str(decision.days_more) not in decision.sentence


def test_cuped_leaves_small_arms_unadjusted_and_says_why():
    rng = np.random.default_rng(6)
    pre = rng.gamma(2.0, 50.0, 120)
    holdout = np.arange(120) < 20  # 20 held out: too few to fit six covariates on
    result = cuped_variant_vs_holdout(_pairs(pre, pre + rng.normal(0, 1, 120), holdout))["revenue"]
    assert result.variance_removed is None and "not adjusted" in result.adjusted.note
    assert result.adjusted.lift == pytest.approx(result.unadjusted.lift)
