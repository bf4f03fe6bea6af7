"""Reads for the benefit report: the product × day panel, AI-assisted periods and exposed visitors.

The panels come out in the column shapes `analytics.estimators` takes (pandas DataFrames).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from django.db.models import Count, IntegerField, Max, Min
from django.db.models.functions import Cast

from analytics.models import DailyProductStats, ExperimentSettings
from analytics.rollup import day_bounds, shop_zone
from generation.models import Exposure, GenerationSettings, Listing
from profiles.models import Event, Product, Shop

PANEL_COLUMNS = ["product_id", "category", "day", "net_revenue", "visitors", "assisted", "ever_assisted"]
VISITOR_COLUMNS = ["customer_id", "product_id", "holdout", "revenue", "converted"]
PRE_PERIOD_COLUMNS = ["pre_revenue", "pre_converted", "pre_views", "pre_product_revenue", "pre_product_views",
                      "has_pre_period"]


@dataclass(frozen=True)
class AssistedPeriod:
    """A product is assisted from the day a variant of it is published until its last one is retired."""

    start: date
    end: date | None  # the first day no longer assisted; None: still assisted

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def assisted_periods(*, shop: Shop) -> dict[int, list[AssistedPeriod]]:
    """{product id: merged periods}, from every listing that was ever published."""
    zone = shop_zone(shop)
    spans = defaultdict(list)
    listings = Listing.objects.filter(shop=shop, published_at__isnull=False).values_list(
        "product_id", "published_at", "retired_at")
    for product_id, published_at, retired_at in listings:
        end = retired_at.astimezone(zone).date() if retired_at else None
        spans[product_id].append((published_at.astimezone(zone).date(), end))
    return {product_id: _merged(periods) for product_id, periods in spans.items()}


def _merged(spans: list[tuple[date, date | None]]) -> list[AssistedPeriod]:
    merged: list[tuple[date, date | None]] = []
    for start, end in sorted(spans, key=lambda span: span[0]):
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):  # overlaps or touches the last one
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, None if end is None or last_end is None else max(end, last_end))
        else:
            merged.append((start, end))
    # A variant published and retired on the same day never assisted a whole day.
    return [AssistedPeriod(start, end) for start, end in merged if end is None or end > start]


def report_products(*, shop: Shop, start: date, end: date, category: str | None = None) -> list[Product]:
    """Products with activity in the window or AI variants: the rows of the report."""
    active = set(DailyProductStats.objects.filter(shop=shop, day__range=(start, end)).values_list("product_id", flat=True))
    active |= set(assisted_periods(shop=shop))
    products = Product.objects.filter(shop=shop, id__in=active)
    if category:
        products = products.filter(category=category)
    return list(products.order_by("external_id"))


def window_currencies(*, shop: Shop, start: date, end: date) -> set[str]:
    return set(DailyProductStats.objects.filter(shop=shop, day__range=(start, end))
               .values_list("currency", flat=True).distinct())


def benefit_panel(*, shop: Shop, start: date, end: date, category: str | None = None) -> pd.DataFrame:
    """One row per product × day of the window (days without activity are zeros)."""
    products = report_products(shop=shop, start=start, end=end, category=category)
    periods = assisted_periods(shop=shop)
    stats = {(product_id, day): (net, visitors) for product_id, day, net, visitors in
             DailyProductStats.objects.filter(shop=shop, product__in=products, day__range=(start, end))
             .values_list("product_id", "day", "net_revenue", "visitors")}
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    rows = []
    for product in products:
        product_periods = periods.get(product.id, [])
        ever = any(period.covers(day) for period in product_periods for day in days)
        for day in days:
            net, visitors = stats.get((product.id, day), (0, 0))
            rows.append((product.external_id, product.category or "uncategorised", day, float(net), int(visitors),
                         any(period.covers(day) for period in product_periods), ever))
    panel = pd.DataFrame(rows, columns=PANEL_COLUMNS)
    panel["day"] = pd.to_datetime(panel["day"])
    return panel


def exposed_visitors(*, shop: Shop, start: date, end: date, pre_period: bool = False,
                     pre_days: int | None = None) -> pd.DataFrame:
    """One row per (customer, product) shown — or held out from — a live variant in the window.

    Revenue is that customer's net revenue on that product from their first exposure to the end of
    the window. Pairs whose holdout flag changed (the owner changed the holdout share) are left out.
    With `pre_period`, each row also carries the customer's own behaviour in the `pre_days` (default:
    the window's length) before their first exposure to any variant: net revenue, whether they
    bought, products viewed, and whether they had any event then (`PRE_PERIOD_COLUMNS`, for CUPED).
    """
    zone = shop_zone(shop)
    window_start, window_end = day_bounds(start, zone)[0], day_bounds(end, zone)[1]
    pairs = (Exposure.objects.filter(shop=shop, listing__isnull=False, shown_at__gte=window_start,
                                     shown_at__lt=window_end)
             .values("customer_external_id", "product_id")
             .annotate(first=Min("shown_at"), held_min=Min(Cast("holdout", IntegerField())),
                       held_max=Max(Cast("holdout", IntegerField()))))
    pairs = [pair for pair in pairs if pair["held_min"] == pair["held_max"]]
    outcomes = _purchase_outcomes(shop, pairs, window_end)
    external = dict(Product.objects.filter(shop=shop, id__in={p["product_id"] for p in pairs})
                    .values_list("id", "external_id"))
    rows = []
    for pair in pairs:
        revenue, converted = outcomes.get((pair["customer_external_id"], pair["product_id"]), (0.0, False))
        rows.append((pair["customer_external_id"], external[pair["product_id"]], bool(pair["held_max"]),
                     revenue, converted))
    visitors = pd.DataFrame(rows, columns=VISITOR_COLUMNS)
    if pre_period:
        length = timedelta(days=pre_days or (end - start).days + 1)
        visitors = _with_pre_period(shop, visitors, pairs, length)
    return visitors


def _with_pre_period(shop: Shop, visitors: pd.DataFrame, pairs: list[dict], length: timedelta) -> pd.DataFrame:
    first_exposure: dict[str, object] = {}
    for pair in pairs:
        customer = pair["customer_external_id"]
        first_exposure[customer] = min(pair["first"], first_exposure.get(customer, pair["first"]))
    behaviour: dict = defaultdict(lambda: [0.0, False, set(), False])
    on_product: dict = defaultdict(lambda: [0.0, 0])  # (customer, product id) -> [net revenue, views]
    if first_exposure:
        events = Event.objects.filter(
            shop=shop, customer__external_id__in=set(first_exposure),
            occurred_at__gte=min(first_exposure.values()) - length, occurred_at__lt=max(first_exposure.values()),
        ).values_list("customer__external_id", "product_id", "type", "occurred_at", "quantity", "unit_price")
        for customer, product_id, kind, occurred_at, quantity, unit_price in events.iterator(chunk_size=5000):
            exposed_at = first_exposure[customer]
            if not exposed_at - length <= occurred_at < exposed_at:
                continue
            seen = behaviour[customer]
            seen[3] = True
            amount = float((quantity or 1) * (unit_price or 0))
            own = on_product[(customer, product_id)]
            if kind == "purchase":
                seen[0] += amount
                seen[1] = True
                own[0] += amount
            elif kind == "refund":
                seen[0] -= amount
                own[0] -= amount
            elif kind == "view":
                seen[2].add(product_id)
                own[1] += 1
    products = Product.objects.filter(shop=shop, external_id__in=set(visitors["product_id"]))
    internal = {external_id: id_ for id_, external_id in products.values_list("id", "external_id")}
    columns = {name: [] for name in PRE_PERIOD_COLUMNS}
    for customer, product in zip(visitors["customer_id"], visitors["product_id"]):
        revenue, bought, viewed, present = behaviour.get(customer, (0.0, False, set(), False))
        own_revenue, own_views = on_product.get((customer, internal[product]), (0.0, 0))
        values = (revenue, float(bought), float(len(viewed)), own_revenue, float(own_views), present)
        for name, value in zip(PRE_PERIOD_COLUMNS, values):
            columns[name].append(value)
    return visitors.assign(**columns)


def _purchase_outcomes(shop: Shop, pairs: list[dict], window_end) -> dict:
    if not pairs:
        return {}
    first_seen = {(p["customer_external_id"], p["product_id"]): p["first"] for p in pairs}
    events = Event.objects.filter(
        shop=shop, type__in=("purchase", "refund"), product_id__in={p["product_id"] for p in pairs},
        customer__external_id__in={p["customer_external_id"] for p in pairs},
        occurred_at__gte=min(first_seen.values()), occurred_at__lt=window_end,
    ).values_list("customer__external_id", "product_id", "type", "occurred_at", "quantity", "unit_price")
    outcomes: dict = defaultdict(lambda: [0.0, False])
    for customer, product_id, kind, occurred_at, quantity, unit_price in events.iterator(chunk_size=5000):
        exposed_at = first_seen.get((customer, product_id))
        if exposed_at is None or occurred_at < exposed_at:
            continue
        amount = float((quantity or 1) * (unit_price or 0))
        outcome = outcomes[(customer, product_id)]
        outcome[0] += amount if kind == "purchase" else -amount
        outcome[1] = outcome[1] or kind == "purchase"
    return {key: (value[0], value[1]) for key, value in outcomes.items()}


@dataclass(frozen=True)
class ExposureSummary:
    """Did the storefront serve what it should: variant images to the shown arm, originals to the holdout."""

    exposures: int
    customers: int
    variant_served: int  # exposures of the shown arm that served the variant image
    shown_arm: int  # exposures of customers not held out
    holdout_served_variant: int  # must be 0
    most_per_customer: int

    @property
    def per_customer(self) -> float:
        return self.exposures / self.customers if self.customers else 0.0


def exposure_summary(*, shop: Shop, start: date, end: date) -> ExposureSummary:
    zone = shop_zone(shop)
    exposures = Exposure.objects.filter(shop=shop, listing__isnull=False, shown_at__gte=day_bounds(start, zone)[0],
                                        shown_at__lt=day_bounds(end, zone)[1])
    per_customer = list(exposures.values("customer_external_id").annotate(n=Count("id")).values_list("n", flat=True))
    shown = exposures.filter(holdout=False)
    return ExposureSummary(
        exposures=sum(per_customer), customers=len(per_customer),
        variant_served=shown.exclude(variant="original").count(), shown_arm=shown.count(),
        holdout_served_variant=exposures.filter(holdout=True).exclude(variant="original").count(),
        most_per_customer=max(per_customer, default=0))


def configured_holdout_share(*, shop: Shop) -> float:
    settings = GenerationSettings.objects.filter(shop=shop).first()
    if settings is None:
        return float(GenerationSettings._meta.get_field("holdout_share").default)
    return float(settings.holdout_share)


def smallest_lift_worth_having(*, shop: Shop) -> float:
    settings = ExperimentSettings.objects.filter(shop=shop).first()
    return float(settings.smallest_lift) if settings else 0.05
