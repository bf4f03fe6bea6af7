"""The issue-21 parts of benchmarks/benefit.py: daily peeking on simulated A/A shops and on shops
with the true lift, the sample-ratio mismatch test, and interval widths (today's vs CUPED).

The sequential shops skip the database: the simulator's own shoppers (same seed, same people in
both periods) give four weeks of pre-period and eight weeks of test, and each daily look runs the
shipped estimator (`analytics.cuped.cuped_comparison`, per exposed customer, CUPED) and the shipped
always-valid interval (`analytics.sequential`) on what had happened by the end of that day. A/A
shops show everyone the house photo and split the customers afterwards (several salted splits
per simulated shop); lift shops show the variant arm their archetype's style from the first day.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

TEST_WEEKS, PRE_WEEKS = 8, 4
HOLDOUT = 0.2
END = datetime(2026, 11, 30, tzinfo=timezone.utc)


def srm_rates(runs: int, customers: int = 10_000, share: float = HOLDOUT, broken_by: float = 0.03,
              seed: int = 7) -> dict:
    """How often the chi-square check flags a correct split and one broken by `broken_by` points."""
    from analytics.sequential import sample_ratio_check

    rng = np.random.default_rng(seed)
    flagged = {}
    for name, true_share in (("correct split", share), (f"split broken by {broken_by * 100:.0f} points",
                                                        share + broken_by)):
        held = rng.binomial(customers, true_share, runs)
        flagged[name] = float(np.mean([sample_ratio_check(holdout=int(h), variant=customers - int(h),
                                                          holdout_share=share).mismatch for h in held]))
    return {"runs": runs, "customers": customers, "flagged": flagged}


def _bucket(customer_id: str, salt: str) -> float:
    return int(hashlib.sha256(f"{salt}:{customer_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _pre_period(events: list[dict]) -> pd.DataFrame:
    rows: dict[str, list] = {}
    for event in events:
        row = rows.setdefault(event["customer_id"], [0.0, 0.0, set()])
        amount = float(event.get("quantity", 1)) * float(event.get("unit_price", 0) or 0)
        if event["type"] == "purchase":
            row[0] += amount
            row[1] = 1.0
        elif event["type"] == "refund":
            row[0] -= amount
        elif event["type"] == "view":
            row[2].add(event["product_id"])
    return pd.DataFrame({"pre_revenue": {c: r[0] for c, r in rows.items()},
                         "pre_converted": {c: r[1] for c, r in rows.items()},
                         "pre_views": {c: float(len(r[2])) for c, r in rows.items()}})


def _daily_outcomes(events: list[dict], start: datetime, customers: list[str]) -> tuple[np.ndarray, np.ndarray,
                                                                                       np.ndarray]:
    """Per customer: the day of their first view (exposure), cumulative net revenue and bought-yet by day."""
    index = {c: i for i, c in enumerate(customers)}
    days = TEST_WEEKS * 7
    first = np.full(len(customers), days, dtype=int)
    revenue = np.zeros((len(customers), days))
    bought = np.zeros((len(customers), days))
    for event in events:
        day = (datetime.fromisoformat(event["occurred_at"]) - start).days
        if not 0 <= day < days:
            continue
        i = index[event["customer_id"]]
        amount = float(event.get("quantity", 1)) * float(event.get("unit_price", 0) or 0)
        if event["type"] == "view":
            first[i] = min(first[i], day)
        elif event["type"] == "purchase":
            revenue[i, day] += amount
            bought[i, day] = 1
        elif event["type"] == "refund":
            revenue[i, day] -= amount
    return first, np.cumsum(revenue, axis=1), np.minimum(np.cumsum(bought, axis=1), 1)


def _simulate(seed: int, customers: int, products: int, variant_arm=None, view_log=None):
    from shop_ai.simulator import SimulationConfig, StoreSimulation
    from shop_ai.simulator.personas import ARCHETYPES, archetype_vector
    from shop_ai.simulator.store import _style_key

    start = END - timedelta(weeks=TEST_WEEKS)
    base = dict(customers=customers, products=products, seed=seed, images=False, promotion=False)
    pre = StoreSimulation(SimulationConfig(**base, weeks=PRE_WEEKS, end=start)).generate_events()
    styles = {index: _style_key(archetype_vector(a)) for index, a in enumerate(ARCHETYPES)}
    hook = None
    if variant_arm is not None:
        def hook(customer, product, at):
            return styles[customer.archetype] if variant_arm(customer.customer_id) else None
    test = StoreSimulation(SimulationConfig(**base, weeks=TEST_WEEKS, end=END, period=1), shown_style=hook,
                           view_log=view_log)
    return pre, test.generate_events(), [c.customer_id for c in test.customers], start, styles


def _tau2(pre: pd.DataFrame) -> float:
    """From the shop's own pre-period, as the report does: CV² of customers' pre-period revenue and
    the customers it saw then as the planned number of exposed customers."""
    from analytics.sequential import mixture_variance

    revenue = pre["pre_revenue"].to_numpy(float)
    return mixture_variance(pre_period_cv2=float(revenue.var(ddof=1) / revenue.mean() ** 2),
                            horizon_customers=len(pre), holdout_share=HOLDOUT)


def _looks(customers: list[str], holdout: np.ndarray, first, revenue, bought, pre: pd.DataFrame,
           tau2: float) -> list[tuple]:
    """(day, always-valid low, high, fixed low, high) at each daily look with an estimate."""
    from analytics.cuped import cuped_comparison
    from analytics.estimators import BenefitDataError
    from analytics.sequential import always_valid_interval, log_lift_and_se

    covariates = pre.reindex(customers)
    has_pre = covariates["pre_revenue"].notna().to_numpy()
    covariates = covariates.fillna(0.0)
    frame = pd.DataFrame({"customer_id": customers, "product_id": "all", "holdout": holdout,
                          "pre_revenue": covariates["pre_revenue"].to_numpy(),
                          "pre_converted": covariates["pre_converted"].to_numpy(),
                          "pre_views": covariates["pre_views"].to_numpy(), "pre_product_revenue": 0.0,
                          "pre_product_views": 0.0, "has_pre_period": has_pre})
    out = []
    for day in range(TEST_WEEKS * 7):
        exposed = first <= day
        if exposed[holdout].sum() < 20 or exposed[~holdout].sum() < 20:
            continue
        look = frame[exposed].assign(revenue=revenue[exposed, day], converted=bought[exposed, day] > 0)
        try:
            estimate, _ = cuped_comparison(look, "revenue", estimand="net revenue per exposed customer")
        except BenefitDataError:
            continue
        log_and_se = log_lift_and_se(estimate.lift, estimate.ci_low, estimate.ci_high)
        if log_and_se is None or log_and_se[1] <= 0:
            continue
        low, high = always_valid_interval(log_and_se[0], log_and_se[1] ** 2, tau2)
        out.append((day + 1, math.expm1(low), math.expm1(high), estimate.ci_low, estimate.ci_high))
    return out


def _first(looks: list[tuple], test) -> int | None:
    return next((look[0] for look in looks if test(look)), None)


def aa_peeking(shops: int, splits: int, customers: int, products: int, first_seed: int, progress=None) -> dict:
    """Share of A/A tests that a manager stopping at the first 'significant' daily look would call."""
    sequential_days, naive_days, at_the_end = [], [], []
    for seed in range(first_seed, first_seed + shops):
        pre_events, events, ids, start, _ = _simulate(seed, customers, products)
        pre = _pre_period(pre_events)
        tau2 = _tau2(pre)
        first, revenue, bought = _daily_outcomes(events, start, ids)
        for split in range(splits):
            holdout = np.array([_bucket(c, f"aa-{seed}-{split}") < HOLDOUT for c in ids])
            looks = _looks(ids, holdout, first, revenue, bought, pre, tau2)
            sequential_days.append(_first(looks, lambda look: look[1] > 0 or look[2] < 0))
            naive_days.append(_first(looks, lambda look: look[3] > 0 or look[4] < 0))
            at_the_end.append(bool(looks) and (looks[-1][3] > 0 or looks[-1][4] < 0))
        if progress:
            progress()
    tests = len(sequential_days)
    return {"tests": tests, "shops": shops, "splits_per_shop": splits,
            "false_positive_always_valid": sum(d is not None for d in sequential_days) / tests,
            "false_positive_naive_peeking": sum(d is not None for d in naive_days) / tests,
            "false_positive_read_once_at_8_weeks": sum(at_the_end) / tests}


def lift_peeking(shops: int, customers: int, products: int, first_seed: int, progress=None) -> dict:
    """Day of the first correct 'keep' (always-valid interval above 0) on shops with the true lift."""
    from shop_ai.simulator.truth import visitor_lifts

    keep_days, truths, wrong_stops = [], [], 0
    for seed in range(first_seed, first_seed + shops):
        salt = f"lift-{seed}"
        views: list = []
        pre_events, events, ids, start, styles = _simulate(seed, customers, products,
                                                           variant_arm=lambda c, s=salt: _bucket(c, s) >= HOLDOUT,
                                                           view_log=views)
        truths.append(visitor_lifts(views, lambda v: styles[v.customer.archetype])["*"]["revenue"])
        pre = _pre_period(pre_events)
        first, revenue, bought = _daily_outcomes(events, start, ids)
        holdout = np.array([_bucket(c, salt) < HOLDOUT for c in ids])
        looks = _looks(ids, holdout, first, revenue, bought, pre, _tau2(pre))
        keep_days.append(_first(looks, lambda look: look[1] > 0))
        wrong_stops += _first(looks, lambda look: look[2] < 0) is not None
        if progress:
            progress()
    kept = sorted(d for d in keep_days if d is not None)
    never = len(keep_days) - len(kept)
    median = float(np.median([d if d is not None else math.inf for d in keep_days])) if keep_days else None
    return {"shops": shops, "mean_true_lift": float(np.mean(truths)), "kept_within_8_weeks": len(kept) / shops,
            "median_day_of_keep": median, "never_kept": never, "wrong_stop": wrong_stops,
            "days_of_keep": keep_days}


def half_width(low: float | None, high: float | None) -> float | None:
    """Half-width of a lift's 95 % interval on the log scale (the scale it is built on)."""
    if low is None or high is None or low <= -1:
        return None
    return (math.log1p(high) - math.log1p(low)) / 2
