"""Each shop's own sentiment model, learnt from its reviews' star ratings (DESIGN §5.1).

- ``shop_sentiment_adapt(shop=...)``: fit a head on the shop's rated reviews, judge it against the base
  model on held-out rated reviews, store the attempt as the next ``SentimentAdaptation`` version.
- ``shop_sentiment_model(shop=...)``: the model to read this shop's reviews with: its latest adaptation
  that beat the base model, else the base model. Never another shop's.
- ``shop_sentiment_status(shop=...)``: what the dashboard shows: which model, its accuracy, or why none.
- ``sentiment_adaptation_due(shop_id=...)``: whether the `profiles` queue should run an adaptation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from profiles.models import Event, EventType, SentimentAdaptation, Shop
from profiles.nlp.sentiment import SentimentModel, shipped_fingerprint
from profiles.nlp.shop_sentiment import (
    MIN_RATED_REVIEWS,
    NotAdaptableError,
    ShopHead,
    ShopSentimentModel,
    adapt_to_shop,
)

MAX_RATED_REVIEWS = 20_000  # the newest; more adds little to a head of a few thousand n-grams and costs minutes
READAPT_GROWTH = 2.0  # adapt again once the shop has this many times the rated reviews of its last attempt
MAX_LOADED_HEADS = 200  # heads kept in memory per process

_loaded: dict[tuple, ShopSentimentModel] = {}
_loaded_lock = threading.Lock()


def _rated_reviews(shop: Shop) -> tuple[list[str], list[int]]:
    rows = (Event.objects.filter(shop=shop, type=EventType.REVIEW, rating__gte=1, rating__lte=5)
            .exclude(text="").order_by("-occurred_at", "-id").values_list("text", "rating")[:MAX_RATED_REVIEWS])
    rows = list(rows)
    return [text for text, _ in rows], [rating for _, rating in rows]


def _labelled_count(shop_id: int) -> int:
    return (Event.objects.filter(shop_id=shop_id, type=EventType.REVIEW, rating__in=(1, 2, 4, 5))
            .exclude(text="").count())


def shop_sentiment_adapt(*, shop: Shop, progress: Callable[[str], None] | None = None) -> SentimentAdaptation:
    """Adapt to ``shop`` and store the attempt (used or not, with its reason) as the next version."""
    texts, ratings = _rated_reviews(shop)
    labelled = sum(1 for rating in ratings if rating != 3)
    base = SentimentModel.load()
    try:
        result = adapt_to_shop(texts, ratings, base, progress=progress)
    except NotAdaptableError as refusal:
        return _store(shop, rated_reviews=labelled, used=False, reason=str(refusal), base_model=base.fingerprint)
    metrics = result.metrics()
    return _store(
        shop, rated_reviews=labelled, base_model=base.fingerprint, trained_on=result.trained_on, held_out=result.held_out,
        base_accuracy=result.base_accuracy, validation_accuracy=result.shop_accuracy, used=result.used,
        reason=result.reason, head=result.head.to_bytes(metrics) if result.head is not None else b"",
    )


@transaction.atomic
def _store(shop: Shop, **fields) -> SentimentAdaptation:
    Shop.objects.select_for_update().filter(pk=shop.pk).first()  # one version number per attempt
    latest = SentimentAdaptation.objects.filter(shop=shop).aggregate(v=Max("version"))["v"] or 0
    return SentimentAdaptation.objects.create(shop=shop, version=latest + 1, **fields)


def _for_current_base(shop_id: int):
    """The shop's attempts made on top of the base model shipped now (a head learnt on another base
    model's logits would read this one's wrongly)."""
    return SentimentAdaptation.objects.filter(shop_id=shop_id, base_model=shipped_fingerprint())


def _latest_used(shop: Shop) -> SentimentAdaptation | None:
    return _for_current_base(shop.pk).filter(used=True).order_by("-version").first()


def shop_sentiment_model(*, shop: Shop):
    """This shop's adapted model when one beat the base model, else the shipped base model."""
    adaptation = (_for_current_base(shop.pk).filter(used=True).order_by("-version")
                  .only("id", "version", "shop_id", "created_at").first())
    if adaptation is None:
        return SentimentModel.load()
    # The row's id and time too: SQLite can hand a deleted shop's ids to a new one, whose v1 is another head.
    key = (shop.pk, adaptation.pk, adaptation.version, adaptation.created_at)
    with _loaded_lock:
        if key not in _loaded:
            head_bytes = SentimentAdaptation.objects.filter(pk=adaptation.pk).values_list("head", flat=True).get()
            for stale in [k for k in _loaded if k[0] == shop.pk]:  # the shop's older versions
                del _loaded[stale]
            while len(_loaded) >= MAX_LOADED_HEADS:  # ~0.5 MB each: drop the longest-loaded
                del _loaded[next(iter(_loaded))]
            _loaded[key] = ShopSentimentModel(SentimentModel.load(), ShopHead.from_bytes(head_bytes), adaptation.version)
        return _loaded[key]


@dataclass(frozen=True)
class SentimentStatus:
    model: str  # "shop model v3" or "base model"
    accuracy: float | None  # the model in use, on the shop's held-out rated reviews (None: never measured)
    base_accuracy: float | None
    held_out: int
    note: str  # the latest attempt's reason, or why no attempt ran yet


def shop_sentiment_status(*, shop: Shop) -> SentimentStatus:
    latest = SentimentAdaptation.objects.filter(shop=shop).order_by("-version").first()
    if latest is None or latest.base_model != shipped_fingerprint():
        count = _labelled_count(shop.pk)
        note = (f"{count} reviews rated 1-2 or 4-5 stars; a shop model is tried from {MIN_RATED_REVIEWS}"
                if count < MIN_RATED_REVIEWS else "an adaptation is due")
        if latest is not None:
            note = f"the base model was updated after this shop's v{latest.version}, which is not used; {note}"
        return SentimentStatus("base model", None, None, 0, note)
    used = _latest_used(shop)
    if used is None:
        return SentimentStatus("base model", latest.base_accuracy, latest.base_accuracy, latest.held_out, latest.reason)
    note = latest.reason if latest.pk == used.pk else f"v{latest.version}: {latest.reason}"
    return SentimentStatus(f"shop model v{used.version}", used.validation_accuracy, used.base_accuracy,
                           used.held_out, note)


def sentiment_adaptation_due(*, shop_id: int) -> bool:
    """At least MIN_RATED_REVIEWS labelled reviews, and twice as many as at the last attempt on the current
    base model (a new base model makes every shop's earlier heads stale, so they are adapted again)."""
    count = _labelled_count(shop_id)
    if count < MIN_RATED_REVIEWS:
        return False
    last = _for_current_base(shop_id).order_by("-version").values_list("rated_reviews", flat=True).first()
    return last is None or count >= READAPT_GROWTH * max(last, 1)
