"""Kansei ratings: the scale, tenancy, one rating per rater and design, and the Table 1 matrix."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from analytics.kansei import KanseiInputError, kansei_matrix, kansei_rating_record
from analytics.models import KanseiRating
from profiles.services import product_upsert
from shop_ai.simulator.kansei import simulate_kansei_ratings
from tests.analytics.factories import listing_live, persona_for


@pytest.fixture
def puppet(shop):
    return product_upsert(shop=shop, external_id="puppet", title="布袋木偶", price=Decimal("88"))[0]


def test_the_matrix_has_means_and_counts_and_the_best_design_per_word(shop, puppet):
    variant = listing_live(shop=shop, product=puppet, persona=persona_for(shop), published_at=datetime.now(timezone.utc))
    for rater, original, drawn in (("r1", 3, 6), ("r2", 4, 7), ("r3", 5, 5)):
        kansei_rating_record(shop=shop, product_external_id="puppet", listing_id=None, word="warm", score=original,
                             rater=rater)
        kansei_rating_record(shop=shop, product_external_id="puppet", listing_id=variant.id, word="warm", score=drawn,
                             rater=rater)
    kansei_rating_record(shop=shop, product_external_id="puppet", listing_id=None, word="simple", score=6, rater="r1")
    _, created = kansei_rating_record(shop=shop, product_external_id="puppet", listing_id=None, word="simple",
                                      score=7, rater="r1")  # the same rater changes their mind: replaced
    matrix = kansei_matrix(shop=shop)
    cells = {design.key: design.cells for design in matrix.designs}
    assert not created and cells["original:puppet"]["simple"].mean == 7 and cells["original:puppet"]["simple"].n == 1
    assert cells["original:puppet"]["warm"].mean == 4 and cells[f"listing:{variant.id}"]["warm"].mean == 6
    assert matrix.best["warm"] == f"listing:{variant.id}" and matrix.best["simple"] == "original:puppet"
    assert matrix.best["light"] is None and matrix.words[0] == "emotional" and len(matrix.words) == 6


@pytest.mark.parametrize(("field", "changes"), [
    ("score", {"score": 8}), ("score", {"score": 0}), ("score", {"score": True}), ("word", {"word": "cheap"}),
    ("product_id", {"product_external_id": "nope"}), ("listing_id", {"listing_id": 999_999}),
])
def test_bad_ratings_are_refused_naming_the_field(shop, puppet, field, changes):
    values = {"product_external_id": "puppet", "listing_id": None, "word": "warm", "score": 4, "rater": "r"} | changes
    with pytest.raises(KanseiInputError) as refused:
        kansei_rating_record(shop=shop, **values)
    assert refused.value.field == field


def test_another_shops_design_cannot_be_rated(shop, other_shop, puppet):
    theirs = product_upsert(shop=other_shop, external_id="puppet", title="别家木偶", price=Decimal("1"))[0]
    their_listing = listing_live(shop=other_shop, product=theirs, persona=persona_for(other_shop),
                                 published_at=datetime.now(timezone.utc))
    with pytest.raises(KanseiInputError, match="no listing"):
        kansei_rating_record(shop=shop, product_external_id="puppet", listing_id=their_listing.id, word="warm",
                             score=5, rater="r")
    assert kansei_matrix(shop=other_shop).designs == []


def test_the_simulated_panel_rates_originals_and_variants_and_sees_the_persona_in_the_variant(
        shop, puppet, django_assert_max_num_queries):
    persona = persona_for(shop)
    persona.kansei = {"warm": 1.0, "emotional": 0.9, "simple": 0.0, "light": 0.1, "fashionable": 0.2, "effortless": 0.1}
    persona.save(update_fields=["kansei"])
    variant = listing_live(shop=shop, product=puppet, persona=persona, published_at=datetime.now(timezone.utc))
    kansei_rating_record(shop=shop, product_external_id="puppet", listing_id=None, word="warm", score=4, rater="r")
    with django_assert_max_num_queries(8):  # in bulk, not a query or two per rating
        stored = simulate_kansei_ratings(shop=shop, shoppers=8, experts=3, seed=1)
    first = set(KanseiRating.objects.values_list("listing_id", "word", "rater", "score"))
    assert stored == 2 * 11 * 6 == simulate_kansei_ratings(shop=shop, shoppers=8, experts=3, seed=1)
    # A re-run replaces the panel's scores (same seed, same scores) and keeps everyone else's.
    assert set(KanseiRating.objects.values_list("listing_id", "word", "rater", "score")) == first
    assert KanseiRating.objects.count() == stored + 1 and KanseiRating.objects.filter(rater="r").delete()[0] == 1
    matrix = kansei_matrix(shop=shop)
    cells = {design.key: design.cells for design in matrix.designs}
    assert set(cells) == {"original:puppet", f"listing:{variant.id}"} and cells["original:puppet"]["warm"].n == 11
    assert cells[f"listing:{variant.id}"]["warm"].mean > cells["original:puppet"]["warm"].mean + 1
    assert cells[f"listing:{variant.id}"]["simple"].mean < cells["original:puppet"]["simple"].mean - 1
    assert matrix.best["warm"] == f"listing:{variant.id}" and matrix.best["simple"] == "original:puppet"
