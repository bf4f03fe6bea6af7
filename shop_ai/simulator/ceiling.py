"""How well could anyone recover the hidden personas from a simulated shop's events?

The Bayes posterior of each shopper's archetype under the simulator's own probabilities, given
their events and, beyond what the events say, the hidden truth: every product's theme, every
shopper's and product's style, and the demand type every review was written for (a perfect
demand classifier). Its most probable archetype per shopper is as good a guess as any method
reading the events can make, and better than ours can, which sees none of the truth. The
benchmark scores it like our personas: the ceiling of persona recovery on that shop.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np

from shop_ai.simulator.personas import ARCHETYPES
from shop_ai.simulator.store import (
    ON_THEME_SHARE,
    OWN_DEMAND_SHARE,
    cart_probability,
    positive_review_probability,
    style_match,
)

CART_WITHIN = timedelta(seconds=120)  # the session model carts a product 10-120 s after viewing it
ARCHETYPE_INDEX = {archetype.key: index for index, archetype in enumerate(ARCHETYPES)}


def archetype_log_likelihoods(events: list[dict], truth: dict) -> dict[str, np.ndarray]:
    """{customer id: log P(their events | archetype a) for each a}, up to a constant per customer.

    `events` in the API's shape (event_id, type, customer_id, product_id, occurred_at, rating);
    `truth` as the simulator writes it. Purchases and refunds depend on style alone, the number of
    sessions on nothing: they carry no evidence and are left out."""
    themes = {pid: ARCHETYPE_INDEX[p["theme"]] for pid, p in truth["products"].items()}
    pick = _pick_log_probabilities(themes)
    by_customer = defaultdict(list)
    for event in events:
        by_customer[event["customer_id"]].append(event)
    return {customer_id: _customer_log_likelihood(sorted(rows, key=lambda e: e["occurred_at"]), truth, themes, pick)
            for customer_id, rows in by_customer.items()}


def most_probable_archetypes(events: list[dict], truth: dict, seed: int = 0) -> dict[str, str]:
    """{customer id: archetype key} for every customer of the truth (ties and no events: at random)."""
    rng = np.random.default_rng(seed)
    scores = archetype_log_likelihoods(events, truth)
    guesses = {}
    for customer_id in sorted(truth["customers"]):
        score = scores.get(customer_id, np.zeros(len(ARCHETYPES)))
        best = np.flatnonzero(score >= score.max() - 1e-9)
        guesses[customer_id] = ARCHETYPES[int(best[rng.integers(len(best))])].key
    return guesses


def _pick_log_probabilities(themes: dict[str, int]) -> np.ndarray:
    """[theme t, archetype a]: log P(a view of archetype a picks a given product of theme t)."""
    counts = np.bincount(list(themes.values()), minlength=len(ARCHETYPES)).astype(float)
    own = np.eye(len(ARCHETYPES)) * ON_THEME_SHARE / np.maximum(counts, 1)[:, None]
    return np.log(own + (1 - ON_THEME_SHARE) / max(len(themes), 1))


def _customer_log_likelihood(events: list[dict], truth: dict, themes: dict[str, int], pick: np.ndarray) -> np.ndarray:
    customer_style = tuple(truth["customers"][events[0]["customer_id"]]["style"])
    own_theme = np.eye(len(ARCHETYPES), dtype=bool)
    carts = defaultdict(list)
    for event in events:
        if event["type"] == "add_to_cart":
            carts[event["product_id"]].append(_time(event))
    total = np.zeros(len(ARCHETYPES))
    for event in events:
        product_id = event.get("product_id")
        if product_id not in themes:
            continue
        theme = themes[product_id]
        match = style_match(customer_style, tuple(truth["products"][product_id]["style"]))
        if event["type"] == "view":
            at = _time(event)
            carted = any(at < cart <= at + CART_WITHIN for cart in carts[product_id])
            cart = np.array([cart_probability(bool(own), match) for own in own_theme[theme]])
            total += pick[theme] + np.log(cart if carted else 1 - cart)
        elif event["type"] == "review":
            total += _review_log_likelihood(event, truth, match)
    return total


def _review_log_likelihood(event: dict, truth: dict, match: float) -> np.ndarray:
    demand = truth.get("review_demands", {}).get(event["event_id"])
    other = (1 - OWN_DEMAND_SHARE) / len(ARCHETYPES)
    demand_term = np.array([OWN_DEMAND_SHARE * (demand == a.demand) + other for a in ARCHETYPES]) if demand \
        else np.ones(len(ARCHETYPES))
    positive = (event.get("rating") or 0) >= 4  # the simulator rates positive reviews 4-5, negative 1-2
    chance = np.array([positive_review_probability(match, a.sentiment) for a in ARCHETYPES])
    return np.log(demand_term) + np.log(chance if positive else 1 - chance)


def _time(event: dict) -> datetime:
    at = event["occurred_at"]
    return at if isinstance(at, datetime) else datetime.fromisoformat(at)
