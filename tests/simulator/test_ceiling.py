"""The persona-recovery ceiling: the Bayes posterior under the simulator's own probabilities."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timezone

import pytest

from shop_ai.simulator import SimulationConfig, StoreSimulation
from shop_ai.simulator.ceiling import archetype_log_likelihoods, most_probable_archetypes
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
