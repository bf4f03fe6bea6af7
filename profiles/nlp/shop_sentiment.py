"""A shop's own sentiment head, learnt from its reviews' star ratings.

``adapt_to_shop(texts, stars, base)`` fits a logistic regression on [the base model's logit, the
TF-IDF of the shop's own character 1-3-grams] and checks it against the base model on held-out
rated reviews of the same shop. ``ShopSentimentModel`` is the base model plus that head;
``ShopHead.to_bytes()`` / ``from_bytes()`` store it as safetensors.

Labels: 1-2 stars negative, 4-5 positive. 3 stars are left out: a 3-star review usually praises and
complains in the same text ("还行，就是物流慢"), so either label would teach the head a wrong word.

Why at least ``MIN_RATED_REVIEWS`` = 500 labelled reviews: a fifth of them is held out to judge the head
against the base model, and below ~100 held-out reviews the accuracy estimate's standard error (~3
points at 90 % accuracy) is as large as the gain we look for, so a head could be kept or dropped by
chance. Each class needs ``MIN_PER_CLASS`` reviews too: with only 5-star reviews there is nothing to
learn what the shop's complaints look like.

Survives label noise (5 stars on "太差了"): the base logit is a feature, so the head starts from the
base model's reading and the L2 penalty (C picked by cross-validation on the training part) keeps
single noisy n-grams from outvoting it. No Django imports here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from profiles.nlp.sentiment_linear import HashedTfidf, sigmoid

MIN_RATED_REVIEWS = 500
MIN_PER_CLASS = 30
HELD_OUT_SHARE = 0.2
SHOP_BUCKETS = 2**16
C_CHOICES = (0.3, 1.0, 3.0, 10.0)
HEAD_FORMAT = "shop-sentiment-head/v1"


class NotAdaptableError(ValueError):
    """The shop's ratings cannot teach a head; the message says why, for the dashboard."""


class ShopHeadError(ValueError):
    """A stored head cannot be read."""


def stars_to_labels(stars: Sequence[int]) -> np.ndarray:
    stars = np.asarray(stars)
    return np.where(stars >= 4, 1, np.where(stars <= 2, 0, -1))


@dataclass
class ShopHead:
    """``sigmoid(base_weight · base logit + tfidf(text) · coef + intercept)``."""

    features: HashedTfidf
    coef: np.ndarray
    base_weight: float
    intercept: float

    def logits(self, base_logits: np.ndarray, texts: Sequence[object]) -> np.ndarray:
        if not len(texts):
            return np.zeros(0, np.float32)
        return (self.base_weight * base_logits + self.features.transform(texts) @ self.coef
                + self.intercept).astype(np.float32)

    def to_bytes(self, metadata: dict) -> bytes:
        tensors = {"idf": self.features.idf.astype(np.float16), "coef": self.coef.astype(np.float16),
                   "scalars": np.array([self.base_weight, self.intercept], np.float32)}
        return save_tensors(tensors, metadata={"format": HEAD_FORMAT, "metrics": json.dumps(metadata)})

    @classmethod
    def from_bytes(cls, data: bytes) -> ShopHead:
        try:
            tensors = load_tensors(bytes(data))
            idf, coef, scalars = tensors["idf"], tensors["coef"], tensors["scalars"]
        except (SafetensorError, KeyError, ValueError) as error:
            raise ShopHeadError(f"the stored shop sentiment head is corrupt ({error}); run "
                                "`python manage.py adapt_sentiment --shop NAME` again") from error
        if idf.shape != coef.shape or scalars.shape != (2,):
            raise ShopHeadError("the stored shop sentiment head has inconsistent shapes; run "
                                "`python manage.py adapt_sentiment --shop NAME` again")
        return cls(HashedTfidf(idf.astype(np.float32)), coef.astype(np.float32), float(scalars[0]), float(scalars[1]))


class ShopSentimentModel:
    """The base model with a shop's head on top; the same ``predict_proba`` / ``predict_labels``."""

    def __init__(self, base, head: ShopHead, version: int) -> None:
        self.base = base
        self.head = head
        self.version = version

    def predict_proba(self, texts: Sequence[object], batch_size: int = 256) -> np.ndarray:
        texts = list(texts)
        return sigmoid(self.head.logits(self.base.predict_logits(texts, batch_size), texts))

    def predict_labels(self, texts: Sequence[object]) -> list[str]:
        return ["pos" if p >= 0.5 else "neg" for p in self.predict_proba(texts)]


@dataclass(frozen=True)
class Adaptation:
    """The outcome of ``adapt_to_shop``: the head (None when it lost to the base model) and its figures."""

    head: ShopHead | None
    used: bool
    labelled: int
    trained_on: int
    held_out: int
    base_accuracy: float
    shop_accuracy: float
    c: float
    reason: str

    def metrics(self) -> dict:
        return {"labelled": self.labelled, "trained_on": self.trained_on, "held_out": self.held_out,
                "base_accuracy": round(self.base_accuracy, 4), "shop_accuracy": round(self.shop_accuracy, 4),
                "c": self.c}


def held_out_mask(texts: Sequence[str], labels: np.ndarray, share: float = HELD_OUT_SHARE) -> np.ndarray:
    """Which reviews are held out: a fixed hash of the text ranks each class, and the first ``share`` of
    each goes out, so the split is the same on every run and both classes are represented."""
    mask = np.zeros(len(texts), bool)
    for label in (0, 1):
        rows = np.flatnonzero(labels == label)
        keys = [hashlib.sha256(f"{i}:{texts[i]}".encode("utf-8")).digest() for i in rows]
        ranked = rows[np.argsort(keys, kind="stable")]
        mask[ranked[: max(1, int(round(len(rows) * share)))]] = True
    return mask


def check_adaptable(labels: np.ndarray, min_rated: int = MIN_RATED_REVIEWS) -> None:
    labelled = int((labels >= 0).sum())
    positives, negatives = int((labels == 1).sum()), int((labels == 0).sum())
    if labelled < min_rated:
        raise NotAdaptableError(f"{labelled} reviews rated 1-2 or 4-5 stars; adaptation needs {min_rated} "
                                "(fewer cannot show reliably that a shop model beats the base model)")
    if negatives < MIN_PER_CLASS or positives < MIN_PER_CLASS:
        scarce = "1-2 star" if negatives < MIN_PER_CLASS else "4-5 star"
        raise NotAdaptableError(f"only {min(negatives, positives)} {scarce} reviews (of {labelled} rated): a "
                                f"shop model needs at least {MIN_PER_CLASS} of each to learn what both sound like")


def adapt_to_shop(
    texts: Sequence[str],
    stars: Sequence[int],
    base,
    *,
    min_rated: int = MIN_RATED_REVIEWS,
    progress: Callable[[str], None] | None = None,
) -> Adaptation:
    """Fit a head on the shop's rated reviews and judge it against ``base`` on a held-out fifth.

    ``base`` needs ``predict_logits(texts)``. Raises ``NotAdaptableError`` when the ratings cannot teach
    a head (too few, or one class missing). ``used`` is True only when the head is strictly more accurate
    than the base model on the held-out reviews.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    step = progress or (lambda _: None)
    labels = stars_to_labels(stars)
    check_adaptable(labels, min_rated)
    keep = labels >= 0
    texts = [text for text, kept in zip(texts, keep) if kept]
    labels = labels[keep]
    step("base model")
    base_logits = base.predict_logits(texts)
    held_out = held_out_mask(texts, labels)
    train_rows, test_rows = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    train_texts = [texts[i] for i in train_rows]
    step("features")
    features = HashedTfidf.fit(train_texts, SHOP_BUCKETS, min_df=2)
    columns = np.flatnonzero(features.idf > 0)  # only the shop's seen n-grams: a solver on 65 k empty columns is slow
    design = _design(features, columns, base_logits[train_rows], train_texts)
    step("choosing the regularisation")
    scores = {c: cross_val_score(LogisticRegression(C=c, solver="liblinear"), design, labels[train_rows], cv=5).mean()
              for c in C_CHOICES}
    c = max(C_CHOICES, key=lambda choice: (scores[choice], -choice))
    step("fitting")
    model = LogisticRegression(C=c, solver="liblinear").fit(design, labels[train_rows])
    coef = np.zeros(features.buckets, np.float32)
    coef[columns] = model.coef_[0, 1:]
    head = ShopHead(features, coef, float(model.coef_[0, 0]), float(model.intercept_[0]))
    step("judging on held-out reviews")
    test_texts = [texts[i] for i in test_rows]
    shop_right = (head.logits(base_logits[test_rows], test_texts) >= 0) == labels[test_rows]
    base_right = (base_logits[test_rows] >= 0) == labels[test_rows]
    shop_accuracy, base_accuracy = float(shop_right.mean()), float(base_right.mean())
    used = shop_accuracy > base_accuracy
    reason = (f"shop model {shop_accuracy:.1%} vs base {base_accuracy:.1%} on {len(test_rows)} held-out rated reviews"
              + ("" if used else ": not better, the base model stays"))
    return Adaptation(head if used else None, used, len(texts), len(train_rows), len(test_rows),
                      base_accuracy, shop_accuracy, c, reason)


def _design(features: HashedTfidf, columns: np.ndarray, base_logits: np.ndarray, texts: Sequence[str]):
    import scipy.sparse as sparse

    return sparse.hstack([sparse.csr_matrix(base_logits.reshape(-1, 1).astype(np.float32)),
                          features.transform(texts)[:, columns]]).tocsr()


__all__ = ["Adaptation", "MIN_RATED_REVIEWS", "NotAdaptableError", "ShopHead", "ShopHeadError",
           "ShopSentimentModel", "adapt_to_shop", "stars_to_labels"]
