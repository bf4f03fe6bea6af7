"""How well could anyone recover the hidden personas from a simulated shop's events?

The Bayes posterior of each shopper's archetype under the simulator's own probabilities, given
their events and the hidden truth about the catalogue: every product's theme and style, and the
demand type every review was written for (a perfect demand classifier). Its most probable
archetype per shopper is as good a guess as any method reading the events can make, and better
than ours can, which sees none of that truth. The benchmark scores it like our personas: the
ceiling of persona recovery on that shop.

The shopper's own style is not given: a method cannot see it either. It is summed out under
P(style | archetype), which the simulator's customer draws define. That prior matters: the
style alone names the archetype for 99 % of shoppers, and carts, purchases, refunds and review
polarity all depend on how well a product's style matches the shopper's, so they are evidence
too. (A ceiling that took the true style as known but ignored its prior left that out and sat
below what the events allow.)
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

from generation.rendering.style import MOTIF_SCORES, PALETTES
from shop_ai.simulator.personas import ARCHETYPES, customer_vector
from shop_ai.simulator.store import (
    ON_THEME_SHARE,
    OWN_DEMAND_SHARE,
    _style_key,
    cart_probability,
    positive_review_probability,
    purchase_probability,
    refund_probability,
    style_match,
)

CART_WITHIN = timedelta(seconds=120)  # the session model carts a product 10-120 s after viewing it
PURCHASE_WITHIN = timedelta(seconds=600)  # and buys it 30-600 s after carting
REFUND_AFTER_DAYS = range(1, 7)  # a refund comes a whole number of days (1-6) after its purchase
ARCHETYPE_INDEX = {archetype.key: index for index, archetype in enumerate(ARCHETYPES)}
STYLES = tuple(itertools.product(PALETTES, MOTIF_SCORES, ("sparse", "medium", "dense")))
STYLE_INDEX = {style: index for index, style in enumerate(STYLES)}


@lru_cache(maxsize=1)
def log_style_prior(draws_per_archetype: int = 20_000, seed: int = 0) -> np.ndarray:
    """[style s, archetype a]: log P(s | a), from the simulator's own customer draws (Monte Carlo,
    with half a draw added to every cell so that no style is impossible)."""
    rng = np.random.default_rng(seed)
    counts = np.full((len(STYLES), len(ARCHETYPES)), 0.5)
    for index, archetype in enumerate(ARCHETYPES):
        for _ in range(draws_per_archetype):
            counts[STYLE_INDEX[_style_key(customer_vector(archetype, rng))], index] += 1
    return np.log(counts / counts.sum(axis=0, keepdims=True))


def archetype_log_likelihoods(events: list[dict], truth: dict) -> dict[str, np.ndarray]:
    """{customer id: log P(their events | archetype a) for each a}, up to a constant per customer.

    `events` in the API's shape (event_id, type, customer_id, product_id, occurred_at, rating);
    `truth` as the simulator writes it. The number of sessions and views depends on nothing and
    is left out."""
    themes = {pid: ARCHETYPE_INDEX[p["theme"]] for pid, p in truth["products"].items()}
    matches = {pid: _matches(tuple(p["style"])) for pid, p in truth["products"].items()}
    pick = _pick_log_probabilities(themes)
    prior = log_style_prior()
    by_customer = defaultdict(list)
    for event in events:
        by_customer[event["customer_id"]].append(event)
    scores = {}
    for customer_id, rows in by_customer.items():
        joint = prior + _customer_log_likelihood(rows, truth, themes, matches, pick)
        scores[customer_id] = _logsumexp_over_styles(joint)
    return scores


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


def _matches(product_style: tuple) -> np.ndarray:
    """[style s]: how well a product of this style matches a shopper of style s."""
    return np.array([style_match(style, product_style) for style in STYLES])


def _pick_log_probabilities(themes: dict[str, int]) -> np.ndarray:
    """[theme t, archetype a]: log P(a view of archetype a picks a given product of theme t)."""
    counts = np.bincount(list(themes.values()), minlength=len(ARCHETYPES)).astype(float)
    own = np.eye(len(ARCHETYPES)) * ON_THEME_SHARE / np.maximum(counts, 1)[:, None]
    return np.log(own + (1 - ON_THEME_SHARE) / max(len(themes), 1))


def _customer_log_likelihood(events: list[dict], truth: dict, themes: dict[str, int],
                             matches: dict[str, np.ndarray], pick: np.ndarray) -> np.ndarray:
    """[style s, archetype a]: log P(this customer's events | s, a)."""
    times = defaultdict(set)  # (type, product id) -> the times it happened
    for event in events:
        times[event["type"], event.get("product_id")].add(_time(event))
    own_theme = np.eye(len(ARCHETYPES), dtype=bool)
    total = np.zeros((len(STYLES), len(ARCHETYPES)))
    for event in events:
        product_id = event.get("product_id")
        if product_id not in themes:
            continue
        at, match = _time(event), matches[product_id][:, None]
        if event["type"] == "view":
            theme = themes[product_id]
            carted = any(at < cart <= at + CART_WITHIN for cart in times["add_to_cart", product_id])
            cart = cart_probability(own_theme[theme][None, :], match)
            total += pick[theme] + np.log(cart if carted else 1 - cart)
        elif event["type"] == "add_to_cart":
            bought = any(at < buy <= at + PURCHASE_WITHIN for buy in times["purchase", product_id])
            chance = purchase_probability(match)
            total += np.log(chance if bought else 1 - chance)
        elif event["type"] == "purchase":
            refunded = any(at + timedelta(days=d) in times["refund", product_id] for d in REFUND_AFTER_DAYS)
            chance = refund_probability(match)
            total += np.log(chance if refunded else 1 - chance)
        elif event["type"] == "review":
            total += _review_log_likelihood(event, truth, match)
    return total


def _review_log_likelihood(event: dict, truth: dict, match: np.ndarray) -> np.ndarray:
    demand = truth.get("review_demands", {}).get(event["event_id"])
    other = (1 - OWN_DEMAND_SHARE) / len(ARCHETYPES)
    demand_term = np.array([OWN_DEMAND_SHARE * (demand == a.demand) + other for a in ARCHETYPES]) if demand \
        else np.ones(len(ARCHETYPES))
    positive = (event.get("rating") or 0) >= 4  # the simulator rates positive reviews 4-5, negative 1-2
    sentiments = np.array([a.sentiment for a in ARCHETYPES])[None, :]
    chance = positive_review_probability(match, sentiments)
    return np.log(demand_term) + np.log(chance if positive else 1 - chance)


def _logsumexp_over_styles(joint: np.ndarray) -> np.ndarray:
    top = joint.max(axis=0)
    return top + np.log(np.exp(joint - top).sum(axis=0))


def _time(event: dict) -> datetime:
    at = event["occurred_at"]
    return at if isinstance(at, datetime) else datetime.fromisoformat(at)
