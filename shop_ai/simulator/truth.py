"""The true effect of what the storefront showed, from the simulator's own purchase model.

For each simulated view the model gives the expected net revenue and the chance of a purchase
under any shown style, so the effect of a variant is known without sampling noise: compare the
expectation under the style shown (or the variant a held-out shopper would have seen) with the
expectation under the house photo, over the same views. The benefit estimators are checked
against these numbers (benchmarks/benefit.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from shop_ai.simulator.store import (
    SimView,
    cart_probability,
    purchase_probability,
    refund_probability,
    style_match,
)

QUANTITY_MEAN = 1.15  # the session model buys 2 units with probability 0.15


def purchase_chance(view: SimView, style: tuple) -> float:
    match = style_match(view.customer.style, style)
    return cart_probability(view.product.theme == view.customer.archetype, match) * purchase_probability(match)


def expected_net_revenue(view: SimView, style: tuple) -> float:
    match = style_match(view.customer.style, style)
    return purchase_chance(view, style) * QUANTITY_MEAN * float(view.product.price) * (1 - refund_probability(match))


def _lift(treated: float, baseline: float) -> float | None:
    return treated / baseline - 1 if baseline > 0 else None


def product_lifts(views: Iterable[SimView], assisted: set[str]) -> tuple[dict[str, float], float | None]:
    """Per assisted product and pooled over them: expected revenue with what was shown vs with the
    house photo, over every view (held-out shoppers and shoppers without a variant count as
    unchanged): the estimand of difference-in-differences and before/after."""
    shown, house = defaultdict(float), defaultdict(float)
    for view in views:
        if view.product.product_id not in assisted:
            continue
        house[view.product.product_id] += expected_net_revenue(view, view.house_style)
        shown[view.product.product_id] += expected_net_revenue(view, view.shown_style or view.house_style)
    lifts = {product_id: _lift(shown[product_id], house[product_id]) for product_id in house}
    return {k: v for k, v in lifts.items() if v is not None}, _lift(sum(shown.values()), sum(house.values()))


VariantOf = Callable[[SimView], "tuple | None"]


def visitor_lifts(views: Iterable[SimView], variant_of: VariantOf) -> dict[str, dict]:
    """Per product and pooled ("*"): revenue and conversion per eligible (shopper, product) pair if
    every eligible shopper saw the variant vs if none did — the estimand of variant vs holdout.
    `variant_of(view)` is the variant style the shopper was eligible for (None: not eligible)."""
    pairs: dict[tuple, dict] = defaultdict(lambda: {"revenue": [0.0, 0.0], "no_purchase": [1.0, 1.0]})
    for view in views:
        variant = variant_of(view)
        if variant is None:
            continue
        pair = pairs[(view.customer.customer_id, view.product.product_id)]
        for arm, style in enumerate((variant, view.house_style)):
            pair["revenue"][arm] += expected_net_revenue(view, style)
            pair["no_purchase"][arm] *= 1 - purchase_chance(view, style)
    totals: dict[str, dict] = defaultdict(lambda: {"revenue": [0.0, 0.0], "conversion": [0.0, 0.0]})
    for (_, product_id), pair in pairs.items():
        for key in (product_id, "*"):
            for arm in (0, 1):
                totals[key]["revenue"][arm] += pair["revenue"][arm]
                totals[key]["conversion"][arm] += 1 - pair["no_purchase"][arm]
    return {key: {measure: _lift(*values) for measure, values in sums.items()} for key, sums in totals.items()}
