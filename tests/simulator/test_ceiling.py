"""The persona-recovery ceiling: the Bayes posterior under the simulator's own probabilities."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from shop_ai.simulator import SimulationConfig, StoreSimulation
from shop_ai.simulator.ceiling import STYLES, archetype_log_likelihoods, log_style_prior, most_probable_archetypes
from shop_ai.simulator.personas import ARCHETYPES

END = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def shop():
    simulation = StoreSimulation(SimulationConfig(customers=500, products=120, weeks=6, seed=5, images=False, end=END))
    events = simulation.generate_events()
    return events, simulation.truth()


def accuracy(guesses: dict, truth: dict, customers) -> float:
    return sum(guesses[c] == truth["customers"][c]["archetype"] for c in customers) / len(customers)


def test_truth_names_the_demand_type_of_every_stored_review(shop):
    events, truth = shop
    reviews = {e["event_id"] for e in events if e["type"] == "review"}
    assert reviews and set(truth["review_demands"]) == reviews
    assert set(truth["review_demands"].values()) <= {a.demand for a in ARCHETYPES}


def test_shoppers_with_a_long_history_are_almost_all_recovered(shop):
    events, truth = shop
    counts = Counter(e["customer_id"] for e in events)
    regulars = [c for c in truth["customers"] if counts[c] >= 10]
    assert len(regulars) > 100
    assert accuracy(most_probable_archetypes(events, truth), truth, regulars) >= 0.95


def test_the_guess_rests_on_the_truth_it_is_given(shop):
    events, truth = shop
    customers = sorted(truth["customers"])
    honest = accuracy(most_probable_archetypes(events, truth), truth, customers)
    themes = [p["theme"] for p in truth["products"].values()]
    random.Random(0).shuffle(themes)
    shuffled = {**truth, "review_demands": {},
                "products": {pid: {**p, "theme": theme} for (pid, p), theme in zip(truth["products"].items(), themes)}}
    blind = accuracy(most_probable_archetypes(events, shuffled), shuffled, customers)
    assert honest >= 0.8 and blind < 0.35


def test_a_review_points_to_the_archetype_of_its_demand_type(shop):
    _, truth = shop
    customer = next(iter(truth["customers"]))
    review = {"event_id": "r1", "type": "review", "customer_id": customer, "product_id": next(iter(truth["products"])),
              "occurred_at": END.isoformat(), "rating": 5}
    scores = archetype_log_likelihoods([review], {**truth, "review_demands": {"r1": "L2"}})[customer]
    assert ARCHETYPES[int(scores.argmax())].demand == "L2"


def test_a_shoppers_style_names_their_archetype_under_the_prior():
    prior = np.exp(log_style_prior())
    assert np.allclose(prior.sum(axis=0), 1)
    assert prior.max(axis=1).sum() / len(ARCHETYPES) >= 0.95  # the Bayes accuracy of guessing from the style


def test_buying_in_one_archetypes_style_points_to_that_archetype():
    """Carts and purchases depend on style alone; through P(style | archetype) they are evidence."""
    heritage = ARCHETYPES.index(next(a for a in ARCHETYPES if a.key == "heritage"))
    style = STYLES[int(log_style_prior()[:, heritage].argmax())]
    products = {f"p{n}": {"theme": ARCHETYPES[n % len(ARCHETYPES)].key, "style": list(style)} for n in range(8)}
    events = []
    for n, product_id in enumerate(products):
        carted = END + timedelta(hours=n)
        events += [{"event_id": f"c{n}", "type": "add_to_cart", "customer_id": "x", "product_id": product_id,
                    "occurred_at": carted.isoformat()},
                   {"event_id": f"b{n}", "type": "purchase", "customer_id": "x", "product_id": product_id,
                    "occurred_at": (carted + timedelta(seconds=90)).isoformat()}]
    scores = archetype_log_likelihoods(events, {"products": products, "customers": {"x": {}}})["x"]
    assert int(scores.argmax()) == heritage
    assert scores[heritage] - np.delete(scores, heritage).max() > 1  # e times likelier than the next
