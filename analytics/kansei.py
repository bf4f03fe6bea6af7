"""Kansei evaluation (seed 002 Table 1): raters score designs on six emotional words; the matrix of
means per design × word, and the best design per word."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Avg, Count

from analytics.models import KANSEI_SCALE, KanseiRating, KanseiWord, RaterKind
from generation.models import Listing
from profiles.models import Product, Shop


class KanseiInputError(ValueError):
    """A rating that cannot be stored; the message says which field and why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class KanseiCell:
    mean: float
    n: int


@dataclass(frozen=True)
class KanseiDesign:
    key: str  # "original:<product id>" or "listing:<listing id>"
    product_id: str
    label: str
    cells: dict[str, KanseiCell]


@dataclass(frozen=True)
class KanseiMatrix:
    words: list[str]
    designs: list[KanseiDesign]
    best: dict[str, str | None]  # word → design key with the highest mean (ties: more ratings)
    scale: tuple[int, int] = KANSEI_SCALE


@transaction.atomic
def kansei_rating_record(*, shop: Shop, product_external_id: str, listing_id: int | None, word: str, score: int,
                         rater: str, rater_kind: str = RaterKind.SHOPPER) -> tuple[KanseiRating, bool]:
    """Store (or replace) one rater's score of one design on one word; returns (rating, created)."""
    low, high = KANSEI_SCALE
    if word not in KanseiWord.values:
        raise KanseiInputError("word", f"must be one of {', '.join(KanseiWord.values)} (seed 002 Table 1)")
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise KanseiInputError("score", f"must be a whole number from {low} (not at all {word}) to {high} (very {word})")
    product = Product.objects.filter(shop=shop, external_id=product_external_id).first()
    if product is None:
        raise KanseiInputError("product_id", f"unknown product {product_external_id!r} in this shop")
    listing = None
    if listing_id is not None:
        listing = Listing.objects.filter(shop=shop, id=listing_id, product=product).first()
        if listing is None:
            raise KanseiInputError("listing_id", f"no listing {listing_id} of product {product_external_id!r} "
                                                 "in this shop; omit it to rate the original design")
    rating, created = KanseiRating.objects.update_or_create(
        shop=shop, product=product, listing=listing, word=word, rater=rater,
        defaults={"score": score, "rater_kind": rater_kind},
    )
    return rating, created


def kansei_matrix(*, shop: Shop, product_ids: list[int] | None = None) -> KanseiMatrix:
    ratings = KanseiRating.objects.filter(shop=shop)
    if product_ids is not None:
        ratings = ratings.filter(product_id__in=product_ids)
    grouped = (ratings.values("product__external_id", "product__title", "listing_id", "listing__title", "word")
               .annotate(mean=Avg("score"), n=Count("id")).order_by("product__external_id", "listing_id"))
    designs: dict[str, dict] = {}
    for row in grouped:
        key = f"listing:{row['listing_id']}" if row["listing_id"] else f"original:{row['product__external_id']}"
        label = row["listing__title"] or f"{row['product__title']} (original)"
        design = designs.setdefault(key, {"product_id": row["product__external_id"], "label": label, "cells": {}})
        design["cells"][row["word"]] = KanseiCell(round(float(row["mean"]), 2), row["n"])
    rows = [KanseiDesign(key, d["product_id"], d["label"], d["cells"]) for key, d in designs.items()]
    return KanseiMatrix(words=list(KanseiWord.values), designs=rows, best=_best_per_word(rows))


def _best_per_word(designs: list[KanseiDesign]) -> dict[str, str | None]:
    best: dict[str, str | None] = defaultdict(lambda: None)
    for word in KanseiWord.values:
        rated = [d for d in designs if word in d.cells]
        if rated:
            best[word] = max(rated, key=lambda d: (d.cells[word].mean, d.cells[word].n)).key
        else:
            best[word] = None
    return dict(best)
