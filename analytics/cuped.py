"""CUPED (Deng, Xu, Kohavi & Walker 2013): variant vs holdout with each customer's own pre-period
as a covariate, so the part of the spread that was there before any exposure leaves the interval.

Pure numpy/pandas (no Django). Randomisation is by customer, so the unit is the exposed customer:
- "customer": net revenue (or conversion) per exposed customer, summed over the products they were
  exposed to (the report's headline);
- "pair": per exposed (customer, product) pair, today's metric: a ratio Σ value / Σ pairs over
  customers.
The estimate is the relative lift, built on the log of the ratio of the arms' means. By the delta
method each customer's influence on an arm's log mean is L = (value − mean × pairs) / (mean × mean
pairs), and CUPED adjusts the log lift by θ·(X̄_variant − X̄_holdout), θ from one regression of L on
X over both arms, weighted so that it minimises the log lift's variance (`cuped_theta`). The
covariates X are the customer's own pre-period before their first exposure: net revenue, whether
they bought, products viewed, and their revenue and views on the products they were then exposed
to. A customer with no events in the pre-period gets the covariate means and a flag, which is
itself a covariate. Both arms' customers share the distribution of X (randomised), so the
adjustment moves no estimate on average; it only takes out spread that was there before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analytics.estimators import (
    METHOD_HOLDOUT,
    BenefitDataError,
    Estimate,
    _lift_interval,
    _mean_unbiased_lift,
    arm_means,
    variant_vs_holdout,
)
from analytics.winsor import Cap, capped, customer_revenue_cap
from scipy import stats

CUSTOMER_COVARIATES = ("pre_revenue", "pre_converted", "pre_views")
PAIR_COVARIATES = ("pre_product_revenue", "pre_product_views")  # summed over the customer's exposed products
COVARIATES = CUSTOMER_COVARIATES + PAIR_COVARIATES
CAPPED_COVARIATES = ("pre_revenue", "pre_product_revenue")
METHOD_CUPED = ("variant vs randomised holdout, CUPED: the log lift regression-adjusted for each customer's own "
                "pre-period revenue, conversion and views (delta method)")
MIN_CUSTOMERS_PER_ARM = 30
METHOD_PER_CUSTOMER = "variant vs randomised holdout per exposed customer, unadjusted (log scale)"


@dataclass(frozen=True)
class ArmTotals:
    """Per customer of one arm: the outcome summed over their exposed pairs, the pairs, the covariates."""

    value: np.ndarray
    pairs: np.ndarray
    covariates: np.ndarray  # customers × covariates (imputed; the last column is the no-pre-period flag)


@dataclass(frozen=True)
class Adjusted:
    """One measure, unadjusted and CUPED side by side, and how much variance the covariates removed."""

    unadjusted: Estimate
    adjusted: Estimate
    variance_removed: float | None  # of the log lift: 0.3 = its interval is √0.7 as wide
    without_pre_period: int  # exposed customers who got the covariate mean (flagged)
    customers: int
    capped: Estimate | None = None  # CUPED on each customer's revenue capped at a pre-period percentile
    cap: Cap | None = None


def customer_totals(pairs: pd.DataFrame, column: str, unit: str = "customer", cap: Cap | None = None) -> pd.DataFrame:
    """One row per customer: the outcome summed over their pairs (at most `cap`), the number of pairs,
    the covariates (imputed with the mean of customers who have a pre-period) and the `no_pre_period`
    flag. A cap also caps the pre-period revenue covariates, so one big spender before the test
    doesn't steer θ either."""
    missing = [name for name in (*COVARIATES, "has_pre_period") if name not in pairs.columns]
    if missing:
        raise BenefitDataError(f"no pre-period covariates ({', '.join(missing)}): build the frame with "
                               "`exposed_visitors(..., pre_period=True)`")
    grouped = pairs.groupby("customer_id", sort=True)
    totals = pd.DataFrame({
        "holdout": grouped["holdout"].first(),
        "value": capped(grouped[column].sum().astype(float), cap),
        "pairs": grouped.size().astype(float) if unit == "pair" else 1.0,
        "has_pre_period": grouped["has_pre_period"].first().astype(bool),
    })
    for name in CUSTOMER_COVARIATES:
        totals[name] = grouped[name].first().astype(float)
    for name in PAIR_COVARIATES:
        totals[name] = grouped[name].sum().astype(float)
    for name in CAPPED_COVARIATES:
        totals[name] = capped(totals[name], cap)
    observed = totals["has_pre_period"]
    for name in COVARIATES:
        fill = totals.loc[observed, name].mean() if observed.any() else 0.0
        totals.loc[~observed, name] = fill
    totals["no_pre_period"] = (~observed).astype(float)
    return totals


def _arm(totals: pd.DataFrame, holdout: bool) -> ArmTotals:
    rows = totals[totals["holdout"] == holdout]
    columns = [*COVARIATES, "no_pre_period"]
    return ArmTotals(rows["value"].to_numpy(), rows["pairs"].to_numpy(), rows[columns].to_numpy(float))


def _relative_influence(arm: ArmTotals) -> tuple[float, np.ndarray]:
    """The ratio mean Σ value / Σ pairs and each customer's influence on its log (delta method):
    (value − mean × pairs) / (mean × mean pairs). Their variance over n is the log mean's variance."""
    mean = arm.value.sum() / arm.pairs.sum()
    if mean <= 0:
        return mean, np.zeros_like(arm.value)
    return mean, (arm.value - mean * arm.pairs) / (mean * arm.pairs.mean())


def cuped_theta(influence: list[np.ndarray], covariates: list[np.ndarray]) -> np.ndarray:
    """One θ for both arms on the log scale: the least-squares fit of each customer's influence on
    their covariates (centred within their arm) that minimises the variance of the log lift, so each
    arm's rows weigh 1 / n_arm² (the small holdout arm carries most of that variance). Constant
    columns, such as a flag nobody has, get θ = 0."""
    x = np.vstack([c - c.mean(axis=0) for c in covariates])
    y = np.concatenate([i - i.mean() for i in influence])
    weight = np.sqrt(np.concatenate([np.full(len(i), 1.0 / len(i)) for i in influence]))
    usable = x.std(axis=0) > 0
    theta = np.zeros(x.shape[1])
    if usable.any():
        theta[usable] = np.linalg.lstsq(x[:, usable] * weight[:, None], y * weight, rcond=None)[0]
    return theta


def _log_mean_variance(influence: np.ndarray, covariates: np.ndarray, theta: np.ndarray,
                       fitted_share: float) -> float:
    """Variance of one arm's adjusted log mean. The residuals of a fitted θ look smaller than they
    will be on new data: the arm's share of the k fitted slopes (its share of the weight) comes off
    its degrees of freedom, as in OLS."""
    residual = influence - (covariates - covariates.mean(axis=0)) @ theta
    n = len(residual)
    dof = max(n - 1 - fitted_share, 1.0)
    return float(np.sum((residual - residual.mean()) ** 2) / dof / n)


def _adjusted_means_note(shown: ArmTotals, held: ArmTotals, mean_v: float, mean_h: float, theta: np.ndarray,
                         unit: str, column: str) -> str:
    """Each arm's mean moved to the covariates' mean over both arms (on the log scale, as the lift)."""
    grand = np.vstack([shown.covariates, held.covariates]).mean(axis=0)
    adjusted_v = mean_v * math.exp(-float((shown.covariates.mean(axis=0) - grand) @ theta))
    adjusted_h = mean_h * math.exp(-float((held.covariates.mean(axis=0) - grand) @ theta))
    return (f"{arm_means(adjusted_v, adjusted_h, column)} per exposed {unit} after adjustment "
            f"({arm_means(mean_v, mean_h, column)} before)")


def cuped_comparison(pairs: pd.DataFrame, column: str, *, estimand: str, unit: str = "customer",
                     adjust: bool = True, cap: Cap | None = None) -> tuple[Estimate, float | None]:
    """The CUPED estimate of the variant's relative lift on `column` per exposed `unit`, and the share
    of the log-lift's variance the adjustment removed (`adjust=False`: the same metric unadjusted).

    The adjustment is made on the scale of the estimate, the log of the ratio of the arms' means:
    log lift = log(mean_v / mean_h) − θ·(X̄_v − X̄_h). Any fixed θ leaves it unbiased (randomised
    arms share the covariates' distribution); θ is the one that makes its variance smallest. A
    variant that multiplies revenue leaves the relative slope the same in both arms, which one θ on
    this scale fits, where a slope in money fitted to both arms together would follow the larger,
    lifted variant arm and over-correct the holdout."""
    if unit not in ("customer", "pair"):
        raise ValueError("unit is 'customer' or 'pair'")
    totals = customer_totals(pairs, column, unit, cap)
    shown, held = _arm(totals, False), _arm(totals, True)
    if len(shown.value) < 2 or len(held.value) < 2:
        raise BenefitDataError("CUPED needs at least two exposed customers in each arm")
    (mean_v, influence_v), (mean_h, influence_h) = _relative_influence(shown), _relative_influence(held)
    n = len(shown.value) + len(held.value)
    too_few = min(len(shown.value), len(held.value)) < MIN_CUSTOMERS_PER_ARM
    note = f"{arm_means(mean_v, mean_h, column)} per exposed {unit}"
    if adjust and too_few:
        note += (f"; not adjusted: CUPED needs {MIN_CUSTOMERS_PER_ARM} exposed customers in each arm, or its "
                 "fitted covariates add noise instead of removing it")
    if mean_v <= 0 or mean_h <= 0:
        return Estimate(_method(adjust, cap), estimand, None, None, None, None, None, n,
                        note + "; too few purchases on one side for a relative lift"), None
    theta = np.zeros(shown.covariates.shape[1])
    if adjust and not too_few:
        theta = cuped_theta([influence_v, influence_h], [shown.covariates, held.covariates])
    fitted = float(np.count_nonzero(theta))
    share_v = len(held.value) / n  # an arm's share of the 1 / n_arm weights
    variance = (_log_mean_variance(influence_v, shown.covariates, theta, fitted * share_v)
                + _log_mean_variance(influence_h, held.covariates, theta, fitted * (1 - share_v)))
    raw_variance = float(influence_v.var(ddof=1) / len(influence_v) + influence_h.var(ddof=1) / len(influence_h))
    shift = (shown.covariates.mean(axis=0) - held.covariates.mean(axis=0)) @ theta
    log_ratio = math.log(mean_v / mean_h) - float(shift)
    se_log = math.sqrt(variance)
    if adjust and not too_few:
        note = _adjusted_means_note(shown, held, mean_v, mean_h, theta, unit, column)
    low, high = _lift_interval(log_ratio, se_log)
    p_value = float(2 * stats.norm.sf(abs(log_ratio) / se_log)) if se_log > 0 else None
    removed = 1 - variance / raw_variance if adjust and not too_few and raw_variance > 0 else None
    method = _method(adjust, cap)
    return Estimate(method, estimand, _mean_unbiased_lift(log_ratio, se_log), low, high, p_value, None, n,
                    note), removed


def _method(adjust: bool, cap: Cap | None) -> str:
    method = METHOD_CUPED if adjust else METHOD_PER_CUSTOMER
    return method if cap is None else f"{method}; each customer's revenue {cap.describe()}"


def cuped_variant_vs_holdout(pairs: pd.DataFrame, unit: str = "customer", currency: str = "") -> dict[str, Adjusted]:
    """Revenue and conversion (purchases) per exposed customer, unadjusted beside CUPED; revenue also
    CUPED on each customer's revenue capped at the pre-period's p99.5 (`analytics.winsor`), where
    the pre-period has enough customers for one."""
    if pairs.empty:
        raise BenefitDataError("no shopper was shown a live AI variant in the window")
    if pairs["holdout"].all() or not pairs["holdout"].any():
        variant_vs_holdout(pairs)  # raises the message that says which arm is missing
    without = int((~pairs.groupby("customer_id")["has_pre_period"].first().astype(bool)).sum())
    customers = int(pairs["customer_id"].nunique())
    results = {}
    for measure, column in (("revenue", "revenue"), ("conversion", "converted")):
        estimand = f"{'net revenue' if measure == 'revenue' else 'products bought'} per exposed {unit}"
        unadjusted, _ = cuped_comparison(pairs, column, estimand=estimand, unit=unit, adjust=False)
        adjusted, removed = cuped_comparison(pairs, column, estimand=estimand, unit=unit)
        results[measure] = Adjusted(unadjusted, adjusted, removed, without, customers)
    cap = customer_revenue_cap(pairs) if unit == "customer" else None
    if cap is not None:
        estimand = f"net revenue per exposed customer, {cap.describe(currency)}"
        capped_estimate, _ = cuped_comparison(pairs, "revenue", estimand=estimand, cap=cap)
        results["revenue"] = replace(results["revenue"], capped=capped_estimate, cap=cap)
    return results


def pre_period_spread(pairs: pd.DataFrame) -> float | None:
    """The squared coefficient of variation of exposed customers' own pre-period revenue: what the
    shop's customers vary by before any variant, which `sequential.mixture_variance` plans with."""
    if "has_pre_period" not in pairs.columns:
        return None
    per_customer = pairs.groupby("customer_id").agg(revenue=("pre_revenue", "first"), has=("has_pre_period", "first"))
    revenue = per_customer.loc[per_customer["has"].astype(bool), "revenue"].to_numpy(float)
    if len(revenue) < 10 or revenue.mean() <= 0:
        return None
    spread = float(revenue.var(ddof=1) / revenue.mean() ** 2)
    return spread if spread > 1e-6 else None


__all__ = ["Adjusted", "COVARIATES", "METHOD_CUPED", "METHOD_HOLDOUT", "METHOD_PER_CUSTOMER", "cuped_comparison",
           "cuped_theta",
           "cuped_variant_vs_holdout", "customer_totals", "pre_period_spread"]
