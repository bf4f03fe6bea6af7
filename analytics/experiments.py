"""The variant-vs-holdout test as a manager reads it every day: checks first (sample ratio, exposure
sanity), then CUPED estimates beside the unadjusted ones, always-valid intervals, and a decision per
product and pooled. An A/A mode runs the same pipeline on a split of the held-out customers, who all
saw the originals, so whatever it "finds" is what noise alone finds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from django.db import transaction

from analytics.cuped import Adjusted, cuped_variant_vs_holdout, pre_period_spread
from analytics.estimators import BenefitDataError, Estimate
from analytics.models import ExperimentSettings
from analytics.selectors import (
    ExposureSummary,
    configured_holdout_share,
    exposure_summary,
    smallest_lift_worth_having,
)
from analytics.sequential import (
    WIDTH_RATIO,
    Decision,
    SampleRatio,
    Sequential,
    decide,
    log_lift_and_se,
    mixture_variance,
    sample_ratio_check,
    sequential_lift,
)
from profiles.models import Shop

HORIZON_DAYS = 56  # the mixture is planned for eight weeks of the current traffic
AA_SALT = "shop-ai a/a"
PEEK_NOTE = ("Safe to peek: the always-valid intervals and the decisions (mSPRT, normal mixture), whenever and "
             "however often you look. Not safe to peek: the fixed-horizon 95 % intervals and p-values (the "
             "estimates table, difference-in-differences, before/after); read them once, at the end of the window "
             "you planned.")


@dataclass
class ProductTest:
    estimate: Estimate | None
    sequential: Sequential | None
    decision: Decision


@dataclass
class Experiment:
    aa: bool
    holdout_share: float
    smallest_lift: float
    sample_ratio: SampleRatio
    exposures: ExposureSummary | None
    exposure_notes: list[str]
    adjusted: dict[str, Adjusted] = field(default_factory=dict)
    sequential: Sequential | None = None
    decision: Decision | None = None
    products: dict[str, ProductTest] = field(default_factory=dict)
    peek_note: str = PEEK_NOTE

    @property
    def trusted(self) -> bool:
        return not self.sample_ratio.mismatch


@transaction.atomic
def experiment_settings_update(*, shop: Shop, smallest_lift: float) -> ExperimentSettings:
    """The smallest lift worth having, as a share (0.05 = +5 %)."""
    if not 0 < smallest_lift <= 1:
        raise ValueError("the smallest lift worth having is a share above 0 and at most 1 (0.05 for +5 %)")
    settings, _ = ExperimentSettings.objects.update_or_create(shop=shop,
                                                              defaults={"smallest_lift": round(smallest_lift, 3)})
    return settings


def aa_split(visitors: pd.DataFrame, holdout_share: float) -> pd.DataFrame:
    """The held-out customers only (no treatment), split again by a salted hash at the same share."""
    held = visitors[visitors["holdout"]].copy()
    bucket = held["customer_id"].map(
        lambda customer: int(hashlib.sha256(f"{AA_SALT}:{customer}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF)
    held["holdout"] = bucket < holdout_share
    return held


def _customers_per_arm(visitors: pd.DataFrame) -> tuple[int, int]:
    arms = visitors.groupby("customer_id")["holdout"].first()
    return int(arms.sum()), int((~arms).sum())


def experiment_read(*, shop: Shop, start: date, end: date, visitors: pd.DataFrame, first_day: date | None,
                    aa: bool = False, product_starts: dict[str, date] | None = None) -> Experiment:
    share = configured_holdout_share(shop=shop)
    if aa:
        visitors = aa_split(visitors, share)
    held, shown = _customers_per_arm(visitors) if not visitors.empty else (0, 0)
    summary = None if aa else exposure_summary(shop=shop, start=start, end=end)
    experiment = Experiment(aa=aa, holdout_share=share, smallest_lift=smallest_lift_worth_having(shop=shop),
                            sample_ratio=sample_ratio_check(holdout=held, variant=shown, holdout_share=share),
                            exposures=summary, exposure_notes=_exposure_notes(summary))
    if visitors.empty or not held or not shown:
        return experiment
    days = _days(first_day, end)
    try:
        experiment.adjusted = cuped_variant_vs_holdout(visitors)
    except BenefitDataError:
        return experiment
    revenue = experiment.adjusted["revenue"].adjusted
    experiment.sequential = _sequential(revenue, visitors, days, share)
    experiment.decision = _decision(revenue, experiment.sequential, days, experiment.smallest_lift)
    for product_id, pairs in visitors.groupby("product_id"):
        product_days = _days((product_starts or {}).get(product_id, first_day), end)
        experiment.products[product_id] = _product_test(pairs, product_days, share, experiment.smallest_lift)
    return experiment


def _days(first_day: date | None, end: date) -> int:
    return max(1, (end - first_day).days + 1) if first_day else 1


def _sequential(estimate: Estimate, visitors: pd.DataFrame, days: int, share: float) -> Sequential | None:
    log_and_se = log_lift_and_se(estimate.lift, estimate.ci_low, estimate.ci_high)
    if log_and_se is None or log_and_se[1] <= 0:
        return None
    tau2, basis = mixture_for(visitors, days, share, log_and_se[1])
    return sequential_lift(*log_and_se, tau2, basis)


def mixture_for(visitors: pd.DataFrame, days: int, share: float, se_now: float) -> tuple[float, str]:
    """τ² and a sentence saying how it was chosen."""
    spread = pre_period_spread(visitors)
    customers = visitors["customer_id"].nunique()
    horizon = customers * max(HORIZON_DAYS / days, 1.0)
    if spread is not None:
        tau2 = mixture_variance(pre_period_cv2=spread, horizon_customers=horizon, holdout_share=share)
        return tau2, (f"τ² = {WIDTH_RATIO:.1f} × CV² {spread:.2f} of exposed customers' own pre-period revenue × "
                      f"(1/n_variant + 1/n_holdout) at {horizon:.0f} customers (eight weeks of the current traffic, "
                      f"{share:.0%} held out): the interval is narrowest there")
    tau2 = WIDTH_RATIO * se_now**2
    return tau2, (f"τ² = {WIDTH_RATIO:.1f} × today's variance of the log lift: too few customers with a pre-period "
                  "to plan from")


def _decision(estimate: Estimate | None, sequential: Sequential | None, days: int, smallest_lift: float) -> Decision:
    if estimate is None or sequential is None:
        return decide(ci_low=None, ci_high=None, se_log=None, tau2=None, days_observed=days,
                      smallest_lift=smallest_lift)
    se_log = log_lift_and_se(estimate.lift, estimate.ci_low, estimate.ci_high)[1]
    return decide(ci_low=sequential.ci_low, ci_high=sequential.ci_high, se_log=se_log, tau2=sequential.tau2,
                  days_observed=days, smallest_lift=smallest_lift)


def _product_test(pairs: pd.DataFrame, days: int, share: float, smallest_lift: float) -> ProductTest:
    try:
        estimate = cuped_variant_vs_holdout(pairs)["revenue"].adjusted
    except BenefitDataError as problem:
        return ProductTest(None, None, Decision("keep testing", f"keep testing: {problem}"))
    if estimate.lift is None:
        return ProductTest(estimate, None, _decision(None, None, days, smallest_lift))
    sequential = _sequential(estimate, pairs, days, share)
    return ProductTest(estimate, sequential, _decision(estimate, sequential, days, smallest_lift))


def _exposure_notes(summary: ExposureSummary | None) -> list[str]:
    if summary is None or not summary.exposures:
        return []
    notes = [f"{summary.exposures} exposures of {summary.customers} customers ({summary.per_customer:.1f} per "
             f"customer, at most {summary.most_per_customer})."]
    if summary.shown_arm:
        served = summary.variant_served / summary.shown_arm
        notes.append(f"Variant images served on {served:.1%} of the shown arm's exposures.")
        if served < 0.99:
            notes.append("Some shoppers who should see a variant saw the original: check the storefront integration "
                         "(a cached page, or `variant` not read from the storefront API).")
    if summary.holdout_served_variant:
        notes.append(f"{summary.holdout_served_variant} exposures of held-out shoppers served a variant: the holdout "
                     "is leaking, so the comparison understates the lift.")
    if summary.most_per_customer > 50 * max(summary.per_customer, 1):
        notes.append("One customer has far more exposures than the rest: a bot or a crawler may be in the test.")
    return notes


def days_since(first_day: date | None, end: date) -> int:
    return _days(first_day, end)


__all__ = ["Experiment", "PEEK_NOTE", "ProductTest", "aa_split", "days_since", "experiment_read", "mixture_for"]
