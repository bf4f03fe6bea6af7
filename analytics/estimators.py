"""Benefit estimators: how much did AI listings change revenue, with a 95 % CI and a p-value each.

Pure numpy/pandas/statsmodels (no Django), on the frames `analytics.selectors` builds:
- panel: one row per product × day: product_id, category, day, net_revenue, visitors, assisted, ever_assisted;
- visitors: one row per exposed (customer, product): customer_id, product_id, holdout, revenue, converted.

Ratios (lifts) get their intervals on the log scale (delta method), so they stay asymmetric and
never cross -100 %. Which estimand each function estimates is in its docstring; the benchmark
(`benchmarks/benefit.py`) checks bias and coverage of each against the simulator's truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

Z95 = stats.norm.ppf(0.975)
Z80 = stats.norm.ppf(0.80)
HAC_LAGS = 7  # a week: daily revenue is autocorrelated through the weekly rhythm and promotions

METHOD_BEFORE_AFTER = "before/after means (Welch t test; the paper's view, comparison only)"
METHOD_DID = "difference-in-differences (OLS, product and category-day fixed effects, errors clustered by product)"
METHOD_DID_PRODUCT = ("difference-in-differences of one product against the mean of unassisted products of its "
                      "category (ratio of after/before changes, Newey-West variances over 7 days)")
DID_ESTIMAND = "net revenue per assisted product per day"
METHOD_HOLDOUT = "variant vs randomised holdout (ratio of means, log scale, errors clustered by customer)"


class BenefitDataError(ValueError):
    """The data cannot answer the question; the message says what is missing and what to do."""


@dataclass(frozen=True)
class Estimate:
    method: str
    estimand: str
    lift: float | None  # relative: 0.12 = +12 %
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    effect_per_day: float | None  # money per product per day (absolute), where the method gives one
    n: int
    note: str = ""


@dataclass(frozen=True)
class Power:
    basis: str
    minimum_detectable_lift: float | None  # at 80 % power, 5 % two-sided
    chosen_lift: float
    days_observed: int
    days_needed: int | None  # more days of the current traffic to detect `chosen_lift`; 0: already enough
    note: str = ""


def _mean_unbiased_lift(log_ratio: float, se: float) -> float:
    """exp of a noisy log ratio overshoots on average by exp(se²/2) (lognormal); take that out, or
    small products' lifts are biased upwards (measured: +19 % of the true lift in benchmarks/benefit.py)."""
    return math.expm1(log_ratio - se**2 / 2)


def _lift_interval(log_ratio: float, se: float) -> tuple[float, float]:
    return math.expm1(log_ratio - Z95 * se), math.expm1(log_ratio + Z95 * se)


def _ordered(panel: pd.DataFrame) -> pd.DataFrame:
    if panel.empty:
        raise BenefitDataError("the window has no days with data: widen it, or send events first")
    panel = panel.sort_values(["product_id", "day"])  # dates out of order are put in order, not refused
    if panel["day"].nunique() < 2:
        raise BenefitDataError("only one day of data: an effect needs days before and after AI listings went live")
    return panel


# --- before/after -------------------------------------------------------------------------

def before_after(panel: pd.DataFrame, product_id: str) -> Estimate:
    """Mean net revenue per day on the product's assisted days vs its days before the first one.

    Estimand: the change in the product's revenue, *including* everything else that changed
    between the two windows (seasons, promotions) — which is why it is shown for comparison only.
    """
    days = _ordered(panel)
    days = days[days["product_id"] == product_id]
    if days.empty:
        raise BenefitDataError(f"product {product_id!r} has no days in the window")
    assisted = days[days["assisted"]]
    if assisted.empty:
        raise BenefitDataError(f"product {product_id!r} had no AI listing live in the window")
    before = days[~days["assisted"] & (days["day"] < assisted["day"].min())]
    after = assisted["net_revenue"].to_numpy(float)
    prior = before["net_revenue"].to_numpy(float)
    if len(prior) < 2 or len(after) < 2:
        raise BenefitDataError(f"product {product_id!r} needs at least two days before and two after AI; "
                               f"it has {len(prior)} and {len(after)}")
    return _ratio_of_means(after, prior, method=METHOD_BEFORE_AFTER, estimand="net revenue per day, after vs before",
                           note="comparison only: ignores what else changed (promotions, seasons)")


def _ratio_of_means(treated: np.ndarray, control: np.ndarray, *, method: str, estimand: str, note: str) -> Estimate:
    mean_t, mean_c = treated.mean(), control.mean()
    n = len(treated) + len(control)
    difference = mean_t - mean_c
    p_value = _welch_p(treated, control)
    if mean_c <= 0 or mean_t <= 0:
        return Estimate(method, estimand, None, None, None, p_value, float(difference), n,
                        f"{note}; no sales on one side, so a relative lift is undefined "
                        f"(absolute change {difference:+.2f} per day)".lstrip("; "))
    se = math.sqrt(treated.var(ddof=1) / (len(treated) * mean_t**2) + control.var(ddof=1) / (len(control) * mean_c**2))
    low, high = _lift_interval(math.log(mean_t / mean_c), se)
    return Estimate(method, estimand, mean_t / mean_c - 1, low, high, p_value, float(difference), n, note)


def _welch_p(treated: np.ndarray, control: np.ndarray) -> float | None:
    if treated.var() == 0 and control.var() == 0:
        return None if treated.mean() == control.mean() else 0.0
    return float(stats.ttest_ind(treated, control, equal_var=False).pvalue)


# --- difference-in-differences -------------------------------------------------------------

NO_CONTROL = ("no control group: every product in {} is assisted, so difference-in-differences cannot be "
              "estimated; keep some products unassisted")


def _uncontrolled_categories(panel: pd.DataFrame) -> list[str]:
    """Categories whose every product is assisted: nothing to compare them with."""
    mix = panel.groupby("category")["ever_assisted"].agg(["any", "all"])
    if not mix["any"].any():
        raise BenefitDataError("no product had an AI listing live in the window")
    return sorted(mix[mix["all"]].index)


def _comparable(panel: pd.DataFrame) -> pd.DataFrame:
    """Categories that have both assisted and never-assisted products (the controls)."""
    panel = _ordered(panel)
    uncontrolled = _uncontrolled_categories(panel)
    usable = panel[panel["category"].map(panel.groupby("category")["ever_assisted"].any())
                   & ~panel["category"].isin(uncontrolled)]
    if usable.empty:
        raise BenefitDataError(NO_CONTROL.format("the assisted categories" if len(uncontrolled) > 1
                                                 else f"category {uncontrolled[0]!r}"))
    return usable


def _left_out_note(panel: pd.DataFrame) -> str:
    uncontrolled = _uncontrolled_categories(panel)
    return f"left out, no unassisted product to compare with: {', '.join(uncontrolled)}" if uncontrolled else ""


def _two_way_demeaned(panel: pd.DataFrame, column: str) -> np.ndarray:
    """Removes product effects and category × day effects (exact on a balanced, zero-filled panel)."""
    values = panel[column].astype(float)
    by_product = values.groupby(panel["product_id"]).transform("mean")
    by_category_day = values.groupby([panel["category"], panel["day"]]).transform("mean")
    by_category = values.groupby(panel["category"]).transform("mean")
    return (values - by_product - by_category_day + by_category).to_numpy()


def difference_in_differences(panel: pd.DataFrame) -> Estimate:
    """Pooled effect of AI listings on an assisted product's net revenue per day.

    Estimand: across assisted products and their assisted days, revenue with AI vs the revenue the
    same products would have made without it; the counterfactual is the product's own level plus
    the day-to-day movement of unassisted products of its category. The relative lift divides the
    effect by that counterfactual (the treated days' mean minus the effect), so it reads as "+x %
    over what they would have sold". Clustered by product, with a t distribution on G-1 degrees of
    freedom: with a few dozen products, normal critical values are too narrow.
    """
    data = _comparable(panel)
    y = _two_way_demeaned(data, "net_revenue")
    x = _two_way_demeaned(data.assign(assisted=data["assisted"].astype(float)), "assisted")
    if not np.any(x):
        raise BenefitDataError("no assisted days in categories with a control group")
    groups = pd.factorize(data["product_id"])[0]
    fit = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    effect, se = float(fit.params[0]), float(fit.bse[0])
    treated_mean = float(data.loc[data["assisted"], "net_revenue"].mean())
    clusters = int(len(np.unique(groups)))
    return _relative(effect, se, treated_mean, dof=clusters - 1, method=METHOD_DID,
                     estimand=DID_ESTIMAND, n=clusters,
                     p_value=float(fit.pvalues[0]), note=_left_out_note(panel))


def _relative(effect: float, se: float, treated_mean: float, *, dof: int, method: str, estimand: str, n: int,
              p_value: float, note: str = "") -> Estimate:
    baseline = treated_mean - effect
    critical = stats.t.ppf(0.975, max(dof, 1))
    if baseline <= 0 or treated_mean <= 0:
        return Estimate(method, estimand, None, None, None, p_value, effect, n, "; ".join(filter(None, (
            f"revenue with or without AI is not positive, so a relative lift is undefined "
            f"(absolute effect {effect:+.2f} per day, 95 % CI {effect - critical * se:+.2f} to "
            f"{effect + critical * se:+.2f})", note))))
    # lift = treated / (treated - effect) - 1 moves faster than effect / baseline when the effect is
    # large: on the log scale its standard error is se / baseline (delta method). Dividing the
    # effect's interval by the baseline instead covered 83 % in benchmarks/benefit.py.
    # The p-value is read on the same scale, so "p < 0.05" and "the CI excludes 0" never disagree.
    log_ratio, se_log = math.log(treated_mean / baseline), se / baseline
    low, high = math.expm1(log_ratio - critical * se_log), math.expm1(log_ratio + critical * se_log)
    p_log = float(2 * stats.t.sf(abs(log_ratio) / se_log, max(dof, 1))) if se_log > 0 else p_value
    return Estimate(method, estimand, effect / baseline, low, high, p_log, effect, n, note)


def difference_in_differences_by_product(panel: pd.DataFrame) -> dict[str, Estimate]:
    """Each assisted product against the mean of its category's unassisted products, as a ratio:
    (product after / product before) / (controls after / controls before) − 1.

    Estimand: that product's revenue with AI vs without it over its assisted days. The ratio form
    puts every mean's noise, the product's own "before" included, into the interval (log scale,
    delta method, Newey-West variances over a week); a difference in levels divided by a noisy
    baseline gave intervals that were too narrow for small products (benchmarks/benefit.py).
    Products of a category without unassisted products get no lift and a note saying so.
    """
    data = _comparable(panel)
    results = _without_control(panel)
    for _, rows in data.groupby("category"):
        controls = rows[~rows["ever_assisted"]].groupby("day")["net_revenue"].mean()
        for product_id, own in rows[rows["ever_assisted"]].groupby("product_id"):
            results[product_id] = _one_product(own.set_index("day"), controls)
    return results


def _without_control(panel: pd.DataFrame) -> dict[str, Estimate]:
    uncontrolled = panel[panel["category"].isin(_uncontrolled_categories(panel))]
    return {product_id: Estimate(METHOD_DID_PRODUCT, "net revenue per day", None, None, None, None, None, len(days),
                                 NO_CONTROL.format(f"category {category!r}"))
            for (category, product_id), days in uncontrolled.groupby(["category", "product_id"])}


def _mean_and_variance(series: np.ndarray) -> tuple[float, float]:
    """The mean and the Newey-West variance of the mean (days are autocorrelated within a week)."""
    n = len(series)
    centred = series - series.mean()
    long_run = centred @ centred / n
    for lag in range(1, min(HAC_LAGS, n - 1) + 1):
        long_run += 2 * (1 - lag / (HAC_LAGS + 1)) * (centred[lag:] @ centred[:-lag]) / n
    return float(series.mean()), max(long_run, 0.0) / n


def _one_product(own: pd.DataFrame, controls: pd.Series) -> Estimate:
    assisted = own["assisted"].to_numpy()
    started = own.index[assisted].min()
    before = ~assisted & (own.index < started)  # days after a retirement are neither before nor after
    if assisted.sum() < 2 or before.sum() < 2:
        return Estimate(METHOD_DID_PRODUCT, "net revenue per day", None, None, None, None, None, len(own),
                        "needs at least two days before and two after AI listings went live")
    control = controls.reindex(own.index).to_numpy(float)
    revenue = own["net_revenue"].to_numpy(float)
    parts = [_mean_and_variance(series) for series in
             (revenue[assisted], revenue[before], control[assisted], control[before])]
    if any(mean <= 0 for mean, _ in parts):
        return Estimate(METHOD_DID_PRODUCT, "net revenue per day", None, None, None, None, None, len(own),
                        "no sales before or after on one side, so a relative lift is undefined")
    (after_own, _), (before_own, _), (after_control, _), (before_control, _) = parts
    log_ratio = math.log(after_own / before_own) - math.log(after_control / before_control)
    se = math.sqrt(sum(variance / mean**2 for mean, variance in parts))
    low, high = _lift_interval(log_ratio, se)
    p_value = float(2 * stats.norm.sf(abs(log_ratio) / se)) if se > 0 else None
    counterfactual = before_own * after_control / before_control
    return Estimate(METHOD_DID_PRODUCT, "net revenue per day", _mean_unbiased_lift(log_ratio, se), low, high,
                    p_value, after_own - counterfactual, int(assisted.sum() + before.sum()))


# --- variant vs holdout --------------------------------------------------------------------

def _clustered_mean(values: pd.Series, customers: pd.Series) -> tuple[float, float, int]:
    """Mean per exposed pair and its standard error, clustered by customer (a ratio estimator)."""
    totals = pd.DataFrame({"value": values.astype(float), "pairs": 1.0}).groupby(customers.to_numpy()).sum()
    mean = totals["value"].sum() / totals["pairs"].sum()
    clusters = len(totals)
    if clusters < 2:
        return mean, float("nan"), clusters
    residual = totals["value"] - mean * totals["pairs"]
    variance = (residual**2).sum() / totals["pairs"].sum() ** 2 * clusters / (clusters - 1)
    return mean, math.sqrt(variance), clusters


def variant_vs_holdout(visitors: pd.DataFrame) -> dict[str, Estimate]:
    """Revenue and conversion per exposed visitor: shown the persona's variant vs held out.

    Estimand: the effect of showing the variant to a shopper eligible for one, per (shopper,
    product) exposure; holdout is assigned by a hash of the shopper, so the comparison is randomised.
    """
    if visitors.empty:
        raise BenefitDataError("no shopper was shown a live AI variant in the window")
    shown, held = visitors[~visitors["holdout"]], visitors[visitors["holdout"]]
    if held.empty:
        raise BenefitDataError("no holdout shoppers: set a holdout share above 0 in the settings to measure "
                               "against shoppers who see the originals")
    if shown.empty:
        raise BenefitDataError("every exposed shopper was in the holdout: lower the holdout share")
    return {
        "revenue": _arm_comparison(shown, held, "revenue", estimand="net revenue per exposed visitor"),
        "conversion": _arm_comparison(shown, held, "converted", estimand="conversion per exposed visitor"),
    }


def arm_means(mean_v: float, mean_h: float, column: str) -> str:
    """The variant's and the holdout's means as a manager reads them: money to the cent, rates and
    counts to four places."""
    places = 2 if column == "revenue" else 4
    return f"{mean_v:.{places}f} vs {mean_h:.{places}f}"


def _arm_comparison(shown: pd.DataFrame, held: pd.DataFrame, column: str, *, estimand: str) -> Estimate:
    mean_v, se_v, clusters_v = _clustered_mean(shown[column], shown["customer_id"])
    mean_h, se_h, clusters_h = _clustered_mean(held[column], held["customer_id"])
    n = len(shown) + len(held)
    se_difference = math.sqrt(se_v**2 + se_h**2)
    p_value = None
    if math.isfinite(se_difference) and se_difference > 0:
        p_value = float(2 * stats.t.sf(abs(mean_v - mean_h) / se_difference, max(clusters_v + clusters_h - 2, 1)))
    note = f"{arm_means(mean_v, mean_h, column)} per exposed visitor ({len(shown)} shown, {len(held)} held out)"
    if mean_v <= 0 or mean_h <= 0 or not math.isfinite(se_difference):
        return Estimate(METHOD_HOLDOUT, estimand, None, None, None, p_value, None, n,
                        note + "; too few purchases on one side for a relative lift")
    se_log = math.sqrt((se_v / mean_v) ** 2 + (se_h / mean_h) ** 2)
    log_ratio = math.log(mean_v / mean_h)
    low, high = _lift_interval(log_ratio, se_log)
    # On the interval's scale, so "p < 0.05" and "the CI excludes no change" always agree.
    p_value = float(2 * stats.norm.sf(abs(log_ratio) / se_log))
    return Estimate(METHOD_HOLDOUT, estimand, _mean_unbiased_lift(log_ratio, se_log), low, high, p_value, None, n,
                    note)


# --- power ---------------------------------------------------------------------------------

class _Compute:
    """Default of `power`'s estimates: not given, so computed here."""

    def __repr__(self) -> str:
        return "COMPUTE"


COMPUTE = _Compute()


def power(panel: pd.DataFrame, visitors: pd.DataFrame | None = None, *, chosen_lift: float = 0.10,
          did: Estimate | None | _Compute = COMPUTE,
          holdout_revenue: Estimate | None | _Compute = COMPUTE) -> Power:
    """The smallest lift the current data would detect (80 % power, 5 % two-sided), and how many
    more days of the same traffic a `chosen_lift` needs, from the most precise estimator available.
    Every lift is tested on the log scale, so a lift δ is detected when log(1 + δ) = (z₉₇.₅ + z₈₀) × se
    of the log lift: the minimum is expm1((z₉₇.₅ + z₈₀) × se), whatever lift was observed. (Reading
    se off the interval on the lift scale, as this did before, multiplied it by 1 + the observed lift:
    a shop with a +100 % lift was told it could only detect twice what it could.) Standard errors
    shrink with the square root of the days observed, so days_needed = days × (se / target se)² − days.

    `did` (`difference_in_differences(panel)`) and `holdout_revenue` (`variant_vs_holdout(visitors)
    ["revenue"]`) are computed here unless the caller already has them (None: that estimator had no
    answer), as the report does."""
    days = int(_ordered(panel)["day"].nunique()) if not panel.empty else 0
    bases = _power_bases(panel, visitors, did, holdout_revenue)
    if not bases:
        return Power("none", None, chosen_lift, days, None, "not enough data yet to estimate the noise")
    basis, se = min(bases, key=lambda pair: pair[1])
    minimum = math.expm1((Z95 + Z80) * se)
    target_se = math.log1p(chosen_lift) / (Z95 + Z80)
    needed = max(0, math.ceil(days * (se / target_se) ** 2) - days)
    return Power(basis, minimum, chosen_lift, days, needed, _power_advice(needed))


def _power_bases(panel: pd.DataFrame, visitors: pd.DataFrame | None, did: Estimate | None | _Compute,
                 holdout_revenue: Estimate | None | _Compute) -> list[tuple[str, float]]:
    bases = []
    both_arms = (visitors is not None and not visitors.empty and visitors["holdout"].any()
                 and (~visitors["holdout"]).any())
    if both_arms:
        revenue = variant_vs_holdout(visitors)["revenue"] if holdout_revenue is COMPUTE else holdout_revenue
        if revenue is not None and revenue.lift is not None:
            bases.append((f"variant vs holdout, {revenue.estimand}", _se_of_log_lift(revenue)))
    if did is COMPUTE:
        try:
            did = difference_in_differences(panel)
        except BenefitDataError:
            return bases
    if did is not None and did.lift is not None:
        name = "difference-in-differences"  # a capped one says at what
        bases.append((name if did.estimand == DID_ESTIMAND else f"{name}, {did.estimand}", _se_of_log_lift(did)))
    return bases


def _power_advice(days_needed: int) -> str:
    if days_needed <= 365:
        return ""
    return ("more than a year at this traffic: a larger holdout share, more assisted products or a bigger "
            "lift to look for would shorten it")


def _se_of_log_lift(estimate: Estimate) -> float:
    """The standard error of the log lift, read back from the interval (log lift ± 1.96 se); for
    difference-in-differences, whose interval takes a t quantile, this errs a little on the wide side."""
    return (math.log1p(estimate.ci_high) - math.log1p(estimate.ci_low)) / (2 * Z95)
