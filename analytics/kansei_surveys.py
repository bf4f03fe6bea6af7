"""Kansei surveys (seed 002): the owner puts a product's original and its persona variants before
raters through a link with a token (no login); each rater scores one design at a time on the six
words of Table 1. Ratings are stored by `kansei_rating_record`, like the API's; the profiles compare
each design with the original, per rater group (experts and customers, as the paper splits them).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from scipy import stats

from analytics.kansei import kansei_rating_record
from analytics.models import (
    KANSEI_SCALE,
    KanseiRating,
    KanseiSurvey,
    KanseiSurveyDesign,
    KanseiSurveySubmission,
    KanseiWord,
    RaterKind,
)
from generation.models import Listing
from profiles.models import Product, Shop

# Seed 002 Table 1, as the rater reads them (Chinese first: the paper's raters were Chinese).
WORD_LABELS = {
    KanseiWord.EMOTIONAL: ("有情感的", "emotional"),
    KanseiWord.SIMPLE: ("简约的", "simple"),
    KanseiWord.LIGHT: ("轻盈的", "light"),
    KanseiWord.FASHIONABLE: ("时尚的", "fashionable"),
    KanseiWord.WARM: ("温暖的", "warm"),
    KanseiWord.EFFORTLESS: ("自然随性的", "effortless"),
}


class KanseiSurveyError(ValueError):
    """A survey request that cannot be done; the message says why and what to do."""


class KanseiSurveyNotFound(KanseiSurveyError):
    pass


@transaction.atomic
def kansei_survey_create(*, shop: Shop, product_external_id: str, rater_kind: str = RaterKind.SHOPPER,
                         title: str = "") -> KanseiSurvey:
    """A survey of the product's original and every variant of it that was ever published."""
    product = Product.objects.filter(shop=shop, external_id=product_external_id).first()
    if product is None:
        raise KanseiSurveyError(f"unknown product {product_external_id!r} in this shop")
    if rater_kind not in RaterKind.values:
        raise KanseiSurveyError(f"raters are {' or '.join(RaterKind.values)}")
    variants = list(Listing.objects.filter(shop=shop, product=product, published_at__isnull=False).order_by("id"))
    survey = KanseiSurvey.objects.create(shop=shop, title=title or f"{product.title}: original and persona variants",
                                         token=secrets.token_urlsafe(24), rater_kind=rater_kind)
    KanseiSurveyDesign.objects.create(survey=survey, product=product, listing=None, position=0)
    KanseiSurveyDesign.objects.bulk_create([KanseiSurveyDesign(survey=survey, product=product, listing=listing,
                                                               position=index + 1)
                                            for index, listing in enumerate(variants)])
    return survey


def kansei_survey_close(*, shop: Shop, survey_id: int) -> KanseiSurvey:
    survey = KanseiSurvey.objects.filter(shop=shop, id=survey_id).first()
    if survey is None:
        raise KanseiSurveyNotFound(f"no survey {survey_id} in this shop")
    survey.is_open = False
    survey.save(update_fields=["is_open"])
    return survey


def kansei_survey_by_token(*, token: str) -> KanseiSurvey:
    survey = KanseiSurvey.objects.select_related("shop").filter(token=token).first()
    if survey is None:
        raise KanseiSurveyNotFound("this survey link is not valid: ask the shop for a new one")
    return survey


def next_design(*, survey: KanseiSurvey, rater: str) -> KanseiSurveyDesign | None:
    """The first design this rater has not rated yet (None: all done)."""
    return (survey.designs.select_related("product", "listing__image").exclude(submissions__rater=rater).first())


def survey_rater_key(survey: KanseiSurvey, rater: str) -> str:
    """The rater id stored with the ratings: one survey's raters never collide with another's."""
    return f"survey{survey.id}:{rater}"[:100]


def kansei_survey_submit(*, survey: KanseiSurvey, design_id: int, rater: str, scores: dict[str, object]) -> None:
    """Store one rater's six scores of one design, through `kansei_rating_record`; once per rater and design."""
    if not survey.is_open:
        raise KanseiSurveyError("this survey is closed: thank you, no more ratings are taken")
    design = survey.designs.filter(id=design_id).select_related("product").first()
    if design is None:
        raise KanseiSurveyError("this design is not part of this survey")
    values = _checked_scores(scores)
    try:
        with transaction.atomic():
            KanseiSurveySubmission.objects.create(design=design, rater=rater)
            for word, score in values.items():
                kansei_rating_record(shop=survey.shop, product_external_id=design.product.external_id,
                                     listing_id=design.listing_id, word=word, score=score,
                                     rater=survey_rater_key(survey, rater), rater_kind=survey.rater_kind)
    except IntegrityError as duplicate:
        raise KanseiSurveyError("you have already rated this design: one rating per person and design") from duplicate


def _checked_scores(scores: dict[str, object]) -> dict[str, int]:
    low, high = KANSEI_SCALE
    values = {}
    for word in KanseiWord.values:
        raw = scores.get(word)
        try:
            value = int(str(raw))
        except (TypeError, ValueError):
            raise KanseiSurveyError(f"move the slider for {word!r}: a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise KanseiSurveyError(f"{word!r} must be from {low} to {high}, not {value}")
        values[word] = value
    return values


# --- profiles ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WordProfile:
    mean: float
    ci_low: float | None
    ci_high: float | None
    raters: int
    difference: float | None = None  # against the original, same rater group
    difference_low: float | None = None
    difference_high: float | None = None


@dataclass(frozen=True)
class DesignProfile:
    key: str
    product_id: str
    label: str
    is_original: bool
    groups: dict[str, dict[str, WordProfile]]  # rater kind → word → profile
    raters: dict[str, int]


def _mean_interval(scores: list[int]) -> tuple[float, float | None, float | None]:
    mean = sum(scores) / len(scores)
    if len(scores) < 2:
        return mean, None, None
    spread = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1) / len(scores))
    half = stats.t.ppf(0.975, len(scores) - 1) * spread
    return mean, mean - half, mean + half


def _welch(a: list[int], b: list[int]) -> tuple[float, float | None, float | None]:
    difference = sum(a) / len(a) - sum(b) / len(b)
    if len(a) < 2 or len(b) < 2:
        return difference, None, None
    va = sum((x - sum(a) / len(a)) ** 2 for x in a) / (len(a) - 1) / len(a)
    vb = sum((x - sum(b) / len(b)) ** 2 for x in b) / (len(b) - 1) / len(b)
    if va + vb == 0:
        return difference, difference, difference
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
    return difference, difference - half, difference + half


def kansei_profiles(*, shop: Shop, product_ids: list[int] | None = None) -> list[DesignProfile]:
    """Each rated design's mean per word with a 95 % CI and its raters, per rater group, and its
    difference from the original of the same product (Welch 95 % CI), as seed 002 compares them."""
    ratings = KanseiRating.objects.filter(shop=shop)
    if product_ids is not None:
        ratings = ratings.filter(product_id__in=product_ids)
    scores: dict[tuple, dict] = {}
    labels = {}
    for product, title, listing, listing_title, word, score, kind, rater in ratings.values_list(
            "product__external_id", "product__title", "listing_id", "listing__title", "word", "score", "rater_kind",
            "rater").order_by("product__external_id", "listing_id"):
        key = (product, listing)
        labels[key] = listing_title or f"{title} (original)"
        scores.setdefault(key, {}).setdefault(kind, {}).setdefault(word, {})[rater] = score
    profiles = []
    for (product, listing), by_kind in scores.items():
        original = scores.get((product, None), {})
        groups, raters = {}, {}
        for kind, words in by_kind.items():
            groups[kind] = {word: _word_profile(list(values.values()), original.get(kind, {}).get(word), listing)
                            for word, values in words.items()}
            raters[kind] = len({rater for values in words.values() for rater in values})
        profiles.append(DesignProfile(f"listing:{listing}" if listing else f"original:{product}", product,
                                      labels[(product, listing)], listing is None, groups, raters))
    return profiles


def _word_profile(values: list[int], original: dict | None, listing: int | None) -> WordProfile:
    mean, low, high = _mean_interval(values)
    if listing is None or not original:
        return WordProfile(round(mean, 2), low, high, len(values))
    difference, d_low, d_high = _welch(values, list(original.values()))
    return WordProfile(round(mean, 2), low, high, len(values), difference, d_low, d_high)


def surveys_of(*, shop: Shop) -> list[KanseiSurvey]:
    return list(KanseiSurvey.objects.filter(shop=shop).prefetch_related("designs").order_by("-created_at"))


def survey_products(*, shop: Shop) -> list[Product]:
    """Products worth a survey: those with a published variant first, then the rest."""
    with_variants = Product.objects.filter(shop=shop).filter(Q(listings__published_at__isnull=False)).distinct()
    return (list(with_variants.order_by("external_id"))
            or list(Product.objects.filter(shop=shop).order_by("external_id")[:200]))
