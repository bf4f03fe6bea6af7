"""Winsorising (capping) revenue, the other variance reduction experimentation platforms use for
heavy-tailed revenue besides CUPED: each unit's value is cut down to a cap, so one huge order no
longer dominates the interval.

The cap is a high percentile of the same metric in the *pre-period* only (before any AI listing or
exposure), so it cannot depend on the treatment and the post-period's own outliers cannot move it.
Capping changes the estimand a little: the lift is then that of capped revenue ("revenue per
exposed customer, capped at 1,240"), which `benchmarks/benefit.py` checks against the simulator's
uncapped truth. Pure numpy/pandas (no Django).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analytics.estimators import Estimate, difference_in_differences

# Chosen on the tuning seeds of benchmarks/benefit_cap_tuning.py (shops 300-307, demo-shaped 3100-3102),
# never on the benchmark's own: the largest narrowing whose bias stayed within 5 % of the true lift
# over the 32 groups of 5 products (p99: -8.7 % for customers, -6.1 % for product-days).
CUSTOMER_PERCENTILE = 99.5
PRODUCT_DAY_PERCENTILE = 99.5
MIN_PRE_PERIOD_UNITS = 50  # a p99 of fewer values is the largest of them, give or take
CUSTOMER_BASIS = "exposed customers' own pre-period revenue on the products they were later shown"
PRODUCT_DAY_BASIS = "product-days before any AI listing went live"


@dataclass(frozen=True)
class Cap:
    value: float
    percentile: float
    basis: str  # what the percentile was taken over
    pre_period_units: int

    def describe(self, currency: str = "") -> str:
        money = f"{currency} {self.value:,.0f}".strip()
        return f"capped at {money} (p{self.percentile:g} of {self.basis})"


def pre_period_cap(values: np.ndarray, percentile: float, basis: str) -> Cap | None:
    """The `percentile` of the pre-period values, zeros included (most units buy nothing). None when
    there are too few values for a high percentile, or it is not above 0 (nothing to cap at)."""
    values = np.asarray(values, dtype=float)
    if not 0 < percentile <= 100:
        raise ValueError("the percentile is above 0 and at most 100")
    if len(values) < MIN_PRE_PERIOD_UNITS:
        return None
    value = float(np.percentile(values, percentile))
    return Cap(value, percentile, basis, len(values)) if value > 0 else None


def capped(values: np.ndarray | pd.Series, cap: Cap | None):
    """Values above the cap become the cap; refunds (negative values) are left as they are."""
    return values if cap is None else np.minimum(values, cap.value)


def customer_pre_period_revenue(pairs: pd.DataFrame) -> np.ndarray:
    """Per exposed customer who was active in the pre-period: their revenue then on the products
    they were later shown — the capped metric, measured before any exposure."""
    observed = pairs[pairs["has_pre_period"].astype(bool)]
    return observed.groupby("customer_id")["pre_product_revenue"].sum().to_numpy(float)


def customer_revenue_cap(pairs: pd.DataFrame, percentile: float = CUSTOMER_PERCENTILE) -> Cap | None:
    if pairs.empty or "pre_product_revenue" not in pairs.columns:
        return None
    return pre_period_cap(customer_pre_period_revenue(pairs), percentile, CUSTOMER_BASIS)


def pre_period_product_days(panel: pd.DataFrame) -> pd.Series:
    """Net revenue of every product-day before the first AI listing of the panel went live (assisted
    and comparison products alike): nothing in them can have been moved by a variant."""
    assisted = panel["assisted"].astype(bool)
    if not assisted.any():
        return panel["net_revenue"].astype(float)
    return panel.loc[panel["day"] < panel.loc[assisted, "day"].min(), "net_revenue"].astype(float)


def product_day_revenue_cap(panel: pd.DataFrame, percentile: float = PRODUCT_DAY_PERCENTILE) -> Cap | None:
    if panel.empty:
        return None
    return pre_period_cap(pre_period_product_days(panel).to_numpy(), percentile, PRODUCT_DAY_BASIS)


def capped_panel(panel: pd.DataFrame, cap: Cap | None) -> pd.DataFrame:
    """The panel with each product-day's net revenue capped (the same cap for assisted and controls)."""
    return panel if cap is None else panel.assign(net_revenue=capped(panel["net_revenue"].astype(float), cap))


def capped_difference_in_differences(panel: pd.DataFrame, *, currency: str = "",
                                     percentile: float = PRODUCT_DAY_PERCENTILE) -> tuple[Estimate | None, Cap | None]:
    """Pooled difference-in-differences on product-days capped at the pre-period's `percentile`, its
    estimand naming the cap; (None, None) when the pre-period has too few product-days, or too few
    with sales, for a cap. Raises `BenefitDataError` as `difference_in_differences` does."""
    cap = product_day_revenue_cap(panel, percentile)
    if cap is None:
        return None, None
    estimate = difference_in_differences(capped_panel(panel, cap))
    return replace(estimate, estimand=f"{estimate.estimand}, {cap.describe(currency)}"), cap


__all__ = ["CUSTOMER_PERCENTILE", "PRODUCT_DAY_PERCENTILE", "Cap", "capped", "capped_difference_in_differences",
           "capped_panel", "customer_pre_period_revenue", "customer_revenue_cap", "pre_period_cap",
           "pre_period_product_days", "product_day_revenue_cap"]
