"""The benefit report: what the AI listings earned, by which estimate, with what uncertainty.

Headline order: the randomised variant-vs-holdout comparison where exposures exist, else
difference-in-differences against unassisted products of the same category. The paper's naive
before/after is reported per product beside them, for comparison only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import pandas as pd

from analytics import estimators
from analytics.estimators import BenefitDataError, Estimate
from analytics.experiments import Experiment, ProductTest, experiment_read
from analytics.kansei import KanseiMatrix, kansei_matrix
from analytics.kansei_surveys import DesignProfile, kansei_profiles
from analytics.rollup import MIXED_CURRENCIES, shop_zone
from analytics.selectors import (
    AssistedPeriod,
    assisted_periods,
    benefit_panel,
    exposed_visitors,
    report_products,
    window_currencies,
)
from analytics.winsor import capped_difference_in_differences
from profiles.models import Shop

DEFAULT_WEEKS = 8
MAX_DAYS = 731
CHOSEN_LIFT = 0.10
# Issue 21 asked to use products' pre-period levels for difference-in-differences "where it helps".
DID_PRE_PERIOD = ("no CUPED here: the product fixed effects already subtract each product's own level, its days "
                  "before AI included, which is CUPED with a slope of 1; fitting the slope instead would let the "
                  "choice of which products got AI listings (often the best sellers) bias the lift")

CAPPED_NOTE = ("revenue capped so that one huge order cannot dominate the interval; the cap comes from before any "
               "AI listing, so it does not depend on them. The uncapped estimate is beside it")


# Days a report may ask about: any shop's, and inside what pandas' nanosecond timestamps hold
# (1677-2262), so a day far away is a reason, not an overflow.
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(2199, 12, 31)


class BenefitReportError(ValueError):
    """The request cannot be answered as asked; the message says what to change."""


@dataclass
class ProductBenefit:
    product_id: str
    title: str
    category: str
    assisted_from: date | None
    assisted_until: date | None
    days_before: int | None  # None: never assisted, so no before and after (a comparison product)
    days_after: int | None
    mean_before: float | None
    mean_after: float | None
    before_after: Estimate | None
    difference_in_differences: Estimate | None
    days_in_window: int = 0
    mean_per_day: float | None = None  # over the whole window, assisted or not
    holdout_test: ProductTest | None = None  # CUPED variant vs holdout, always-valid interval and decision


@dataclass
class BenefitReport:
    shop: str
    currency: str
    start: date
    end: date
    category: str | None
    headline: str
    estimates: dict[str, Estimate]
    power: object | None
    products: list[ProductBenefit]
    kansei: KanseiMatrix
    notes: list[str] = field(default_factory=list)
    panel: pd.DataFrame | None = None  # for the charts; not serialised
    experiment: Experiment | None = None
    sequential: bool = False  # the headline reads the always-valid interval
    kansei_profiles: list[DesignProfile] = field(default_factory=list)


def report_window(*, shop: Shop, start: date | None, end: date | None) -> tuple[date, date]:
    """Default: the eight weeks up to yesterday in the shop's time zone."""
    today = datetime.now(shop_zone(shop)).date()
    for name, day in (("start", start), ("end", end)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise BenefitReportError(f"{name} {day} is outside {EARLIEST_DAY} … {LATEST_DAY}")
    end = end or today - timedelta(days=1)
    start = start or end - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    if start > end:
        raise BenefitReportError(f"start {start} is after end {end}: swap them or leave one out")
    if (end - start).days + 1 > MAX_DAYS:
        raise BenefitReportError(f"the window is {(end - start).days + 1} days; ask for at most {MAX_DAYS}")
    return start, end


def benefit_report(*, shop: Shop, start: date | None = None, end: date | None = None,
                   category: str | None = None, chosen_lift: float = CHOSEN_LIFT, sequential: bool = False,
                   aa: bool = False) -> BenefitReport:
    """`sequential`: headline the always-valid interval (safe to peek); `aa`: the A/A check, the same
    pipeline on a split of the held-out customers, who saw no variant."""
    start, end = report_window(shop=shop, start=start, end=end)
    currencies = window_currencies(shop=shop, start=start, end=end)
    if len(currencies) > 1 or MIXED_CURRENCIES in currencies:
        named = ", ".join(sorted(currencies - {MIXED_CURRENCIES})) or "several"
        raise BenefitReportError(f"revenue in this window is in more than one currency ({named}); shop-ai reports "
                                 "in one currency per shop: pick a window with one currency or split the shop")
    currency = currencies.pop() if currencies else shop.currency
    panel = benefit_panel(shop=shop, start=start, end=end, category=category)
    visitors = exposed_visitors(shop=shop, start=start, end=end, pre_period=True)
    if category:
        visitors = visitors[visitors["product_id"].isin(set(panel["product_id"]))]
    notes: list[str] = []
    products = _product_rows(shop, start, end, category, panel, notes)
    starts = {row.product_id: max(row.assisted_from, start) for row in products if row.assisted_from}
    experiment = experiment_read(shop=shop, start=start, end=end, visitors=visitors, aa=aa,
                                 first_day=min(starts.values(), default=None), product_starts=starts)
    if aa:
        estimates = _aa_estimates(experiment, notes)
    else:
        estimates = _pooled_estimates(panel, visitors, notes, currency)
        for name, adjusted in experiment.adjusted.items():
            estimates[f"variant_vs_holdout_{name}_per_customer"] = adjusted.unadjusted
            estimates[f"variant_vs_holdout_{name}_cuped"] = adjusted.adjusted
            if adjusted.capped is not None:
                estimates[f"variant_vs_holdout_{name}_cuped_capped"] = replace(
                    adjusted.capped, estimand=f"net revenue per exposed customer, {adjusted.cap.describe(currency)}",
                    note=f"{adjusted.capped.note}; {CAPPED_NOTE}")
    for row in products:
        row.holdout_test = experiment.products.get(row.product_id)
    power = _power(panel, visitors, chosen_lift, estimates, notes) if not aa else None
    report = BenefitReport(shop=shop.name, currency=currency, start=start, end=end, category=category,
                           headline="", estimates=estimates, power=power, products=products,
                           kansei=kansei_matrix(shop=shop), notes=notes, panel=panel, experiment=experiment,
                           sequential=sequential, kansei_profiles=kansei_profiles(shop=shop))
    report.headline = headline_sentence(report)
    return report


def _attempt(notes: list[str], method: str, compute):
    try:
        return compute()
    except BenefitDataError as problem:
        notes.append(f"{method}: {problem}")
        return None


def _pooled_estimates(panel: pd.DataFrame, visitors: pd.DataFrame, notes: list[str],
                      currency: str = "") -> dict[str, Estimate]:
    estimates: dict[str, Estimate] = {}
    if panel.empty:
        notes.append("No views or sales in this window: send events (or run `python manage.py simulate_store`) "
                     "and publish AI listings, then come back.")
        return estimates
    if not panel["ever_assisted"].any():
        notes.append("No product had a published AI listing in this window: approve and publish listings on the "
                     "generation page to start measuring.")
        return estimates
    if not visitors.empty:
        by_visitor = _attempt(notes, "variant vs holdout", lambda: estimators.variant_vs_holdout(visitors))
        for name, estimate in (by_visitor or {}).items():
            estimates[f"variant_vs_holdout_{name}"] = estimate
    did = _attempt(notes, "difference-in-differences", lambda: estimators.difference_in_differences(panel))
    if did is not None:
        estimates["difference_in_differences"] = replace(did, note="; ".join(filter(None, (did.note, DID_PRE_PERIOD))))
        capped, _ = capped_difference_in_differences(panel, currency=currency)
        if capped is not None:
            estimates["difference_in_differences_capped"] = replace(capped, note=CAPPED_NOTE)
    return estimates


def _aa_estimates(experiment: Experiment, notes: list[str]) -> dict[str, Estimate]:
    if not experiment.adjusted:
        notes.append("A/A check: too few held-out customers to split (they are the ones who saw no variant).")
        return {}
    return {f"aa_{name}_{kind}": getattr(adjusted, kind) for name, adjusted in experiment.adjusted.items()
            for kind in ("unadjusted", "adjusted")}


def _product_rows(shop: Shop, start: date, end: date, category: str | None, panel: pd.DataFrame,
                  notes: list[str]) -> list[ProductBenefit]:
    periods = assisted_periods(shop=shop)
    per_product_did = {}
    if not panel.empty and panel["ever_assisted"].any():
        per_product_did = _attempt(notes, "difference-in-differences per product",
                                   lambda: estimators.difference_in_differences_by_product(panel)) or {}
    rows = []
    for product in report_products(shop=shop, start=start, end=end, category=category):
        days = panel[panel["product_id"] == product.external_id]
        first, last = _span(periods.get(product.id, []))
        before, after = days[~days["assisted"]], days[days["assisted"]]
        naive = None
        if first is not None and not after.empty:
            naive = _attempt([], "before/after", lambda: estimators.before_after(panel, product.external_id))
        assisted = first is not None
        rows.append(ProductBenefit(
            product_id=product.external_id, title=product.title, category=product.category or "uncategorised",
            assisted_from=first, assisted_until=last, days_before=len(before) if assisted else None,
            days_after=len(after) if assisted else None, mean_before=_mean(before) if assisted else None,
            mean_after=_mean(after) if assisted else None, before_after=naive,
            difference_in_differences=per_product_did.get(product.external_id),
            days_in_window=len(days), mean_per_day=_mean(days)))
    return rows


def _span(periods: list[AssistedPeriod]) -> tuple[date | None, date | None]:
    if not periods:
        return None, None
    return periods[0].start, periods[-1].end


def _mean(days: pd.DataFrame) -> float | None:
    return round(float(days["net_revenue"].mean()), 2) if not days.empty else None


def _power(panel: pd.DataFrame, visitors: pd.DataFrame, chosen_lift: float, estimates: dict[str, Estimate],
           notes: list[str]):
    if panel.empty:
        return None
    known = {}
    if panel["ever_assisted"].any():  # `_pooled_estimates` tried both: pass on what it found (None: no answer)
        known = {"did": _first_of(estimates, "difference_in_differences_capped", "difference_in_differences"),
                 "holdout_revenue": _first_of(estimates, "variant_vs_holdout_revenue_cuped_capped",
                                              "variant_vs_holdout_revenue_cuped", "variant_vs_holdout_revenue")}
    return _attempt(notes, "power", lambda: estimators.power(panel, visitors, chosen_lift=chosen_lift, **known))


def _first_of(estimates: dict[str, Estimate], *names: str) -> Estimate | None:
    return next((estimates[name] for name in names if name in estimates), None)


HEADLINE_ORDER = ("aa_revenue_adjusted", "variant_vs_holdout_revenue_cuped", "variant_vs_holdout_revenue",
                  "difference_in_differences")


def headline_estimate(report: BenefitReport) -> Estimate | None:
    for name in HEADLINE_ORDER:
        estimate = report.estimates.get(name)
        if estimate is not None and estimate.lift is not None:
            return estimate
    return None


def headline_sentence(report: BenefitReport) -> str:
    experiment = report.experiment
    if experiment is not None and not experiment.trusted:
        return experiment.sample_ratio.message + " No lift is headlined until the split is fixed."
    if experiment is not None and experiment.aa:
        return _aa_sentence(report)
    estimate = headline_estimate(report)
    if estimate is None:
        return "Not enough data yet to say what the AI listings earned: " + (
            report.notes[0] if report.notes else "publish AI listings and collect a few weeks of sales.")
    weeks = round(((report.end - report.start).days + 1) / 7)
    assisted = sum(1 for row in report.products if row.days_after)
    what = ("net revenue per exposed customer" if "customer" in estimate.estimand
            else "net revenue per visitor" if "visitor" in estimate.estimand else "net revenue per product-day")
    low, high, kind = estimate.ci_low, estimate.ci_high, "95 % CI"
    always_valid = experiment.sequential if experiment is not None else None
    cuped = report.estimates.get("variant_vs_holdout_revenue_cuped")
    if report.sequential and always_valid is not None and estimate is cuped:
        low, high, kind = always_valid.ci_low, always_valid.ci_high, "always-valid 95 % interval, safe to peek"
    interval = f"{kind} {_percent(low)} to {_percent(high)}"
    money = _money_per_day(report)
    if low is not None and low > 0:
        verb = f"raised {what} by {_percent(estimate.lift)}"
    elif high is not None and high < 0:
        verb = f"lowered {what} by {_percent(-estimate.lift)}"
    else:
        return (f"Personalised listings changed {what} by {_percent(estimate.lift)} over {weeks} weeks, but the "
                f"{interval} includes no change: keep collecting data{_days_needed(report)}.")
    return f"Personalised listings {verb} ({interval}) over {weeks} weeks{money} across {assisted} products."


def _aa_sentence(report: BenefitReport) -> str:
    estimate = report.estimates.get("aa_revenue_adjusted")
    if estimate is None or estimate.lift is None:
        return ("A/A check: no estimate yet, too few held-out customers, or purchases among them, to split in two. "
                + " ".join(report.notes[:1])).strip()
    always_valid = report.experiment.sequential
    found = always_valid is not None and (always_valid.ci_low > 0 or always_valid.ci_high < 0)
    verdict = ("it finds a difference where none exists: check the pipeline and the split before trusting a lift"
               if found else "it finds no difference, as it should")
    interval = (f"always-valid 95 % interval {_percent(always_valid.ci_low)} to {_percent(always_valid.ci_high)}"
                if always_valid else f"95 % CI {_percent(estimate.ci_low)} to {_percent(estimate.ci_high)}")
    return (f"A/A check (held-out customers split in two, nobody saw a variant): {_percent(estimate.lift)} "
            f"({interval}); {verdict}.")


def _money_per_day(report: BenefitReport) -> str:
    did = report.estimates.get("difference_in_differences")
    if did is None or did.effect_per_day is None:
        return ""
    assisted = sum(1 for row in report.products if row.days_after)
    return f": about {did.effect_per_day * assisted:,.0f} {report.currency} a day"


def _days_needed(report: BenefitReport) -> str:
    days = getattr(report.power, "days_needed", None)
    if days is None:
        return ""
    if report.power.note:
        return f" (detecting a {CHOSEN_LIFT:.0%} lift would take {report.power.note})"
    return f" (about {days} more days to detect a {CHOSEN_LIFT:.0%} lift)"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"
