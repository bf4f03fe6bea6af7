"""The simulator's true lift agrees with what its shoppers actually do."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from shop_ai.simulator import SimulationConfig, StoreSimulation
from shop_ai.simulator.truth import product_lifts, visitor_lifts

END = datetime(2026, 10, 1, tzinfo=timezone.utc)


def _run(shown_style) -> tuple[StoreSimulation, list, Decimal]:
    views: list = []
    simulation = StoreSimulation(SimulationConfig(customers=4000, products=12, weeks=2, seed=5, images=False, end=END),
                                 shown_style=shown_style, view_log=views)
    events = simulation.generate_events()
    net = sum((1 if e["type"] == "purchase" else -1) * e["quantity"] * Decimal(e["unit_price"])
              for e in events if e["type"] in ("purchase", "refund"))
    return simulation, views, net


def test_the_true_lift_matches_the_revenue_the_simulated_shoppers_make():
    own_style = lambda customer, product, at: customer.style  # noqa: E731 - every shopper sees their own taste
    _, house_views, house_revenue = _run(None)
    simulation, shown_views, shown_revenue = _run(own_style)
    every = {p.product_id for p in simulation.products}
    per_product, pooled = product_lifts(shown_views, every)
    realised = float(shown_revenue / house_revenue) - 1
    assert pooled > 0.5 and abs(realised - pooled) < 0.15 * (1 + pooled)
    assert product_lifts(house_views, every)[1] == 0.0  # nothing shown: no effect
    assert set(per_product) <= every and all(lift >= 0 for lift in per_product.values())


def test_visitor_lifts_count_only_eligible_pairs_and_pool_them():
    own_style = lambda customer, product, at: customer.style  # noqa: E731
    simulation, views, _ = _run(own_style)
    first = simulation.products[0].product_id
    lifts = visitor_lifts(views, lambda view: view.customer.style if view.product.product_id == first else None)
    assert set(lifts) == {first, "*"} and lifts["*"] == lifts[first]
    assert lifts[first]["revenue"] > 0 and 0 < lifts[first]["conversion"] <= lifts[first]["revenue"] + 1e-9
