"""Simulated Kansei evaluation (seed 002 Table 1): a panel of raters scores the original design and
the published variants of a shop's assisted products on the six words.

A variant was drawn for a persona, so raters perceive roughly that persona's Kansei profile in it;
the original photo reads as neutral. Each rater has a personal leniency and rates with noise, as
people do, so the matrix has spread and the best design per word is not a foregone conclusion."""

from __future__ import annotations

import numpy as np
from django.db import transaction
from django.db.models import Q

from analytics.models import KANSEI_SCALE, KanseiRating, KanseiWord, RaterKind
from generation.models import Listing, ListingStatus
from profiles.models import Shop

NEUTRAL = 0.5


@transaction.atomic
def simulate_kansei_ratings(*, shop: Shop, products: int = 6, shoppers: int = 8, experts: int = 3,
                            seed: int = 2026) -> int:
    """Rate the originals and published variants of up to `products` assisted products; returns how
    many ratings were stored. Re-running replaces each rater's earlier scores (same rater ids)."""
    rng = np.random.default_rng(seed)
    raters = [(f"expert-{i + 1}", RaterKind.EXPERT) for i in range(experts)]
    raters += [(f"shopper-{i + 1}", RaterKind.SHOPPER) for i in range(shoppers)]
    leniency = {rater: rng.normal(0, 0.4) for rater, _ in raters}
    designs_by_product = _designs_by_product(shop, products)
    ratings = []
    for product, designs in designs_by_product.items():
        for listing, profile in designs:
            for rater, kind in raters:
                for word in KanseiWord.values:
                    ratings.append(KanseiRating(shop=shop, product=product, listing=listing, word=word, rater=rater,
                                                rater_kind=kind,
                                                score=_score(profile.get(word, NEUTRAL), leniency[rater], rng)))
    listings = [listing for designs in designs_by_product.values() for listing, _ in designs if listing]
    earlier = KanseiRating.objects.filter(shop=shop, product__in=list(designs_by_product),
                                          rater__in=[rater for rater, _ in raters])
    earlier.filter(Q(listing__isnull=True) | Q(listing__in=listings)).delete()
    KanseiRating.objects.bulk_create(ratings, batch_size=1000)
    return len(ratings)


def _designs_by_product(shop: Shop, limit: int) -> dict:
    listings = (Listing.objects.filter(shop=shop, status=ListingStatus.PUBLISHED)
                .select_related("product", "persona").order_by("product__external_id", "id"))
    designs: dict = {}
    for listing in listings:
        if listing.product not in designs:
            if len(designs) == limit:
                continue
            designs[listing.product] = [(None, {})]
        designs[listing.product].append((listing, (listing.persona.kansei if listing.persona else None) or {}))
    return designs


def _score(perceived: float, leniency: float, rng: np.random.Generator) -> int:
    low, high = KANSEI_SCALE
    centre = low + (high - low) * perceived + leniency
    return int(np.clip(round(centre + rng.normal(0, 0.9)), low, high))
