"""The text models persona learning uses, loaded once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from profiles.nlp.keywords import text_keywords


@dataclass(frozen=True)
class ReviewResult:
    sentiment: float
    is_demand: bool
    demand_type: str
    keywords: list[str]


@functools.cache
def sentiment_model():
    from profiles.nlp.sentiment import SentimentModel

    return SentimentModel.load()


@functools.cache
def demand_classifier():
    from profiles.nlp.demand import DemandClassifier

    return DemandClassifier.load()


def analyse_reviews(texts: list[str], model=None) -> list[ReviewResult]:
    """``model``: the shop's sentiment model (``profiles.shop_sentiment.shop_sentiment_model``); base if None."""
    if not texts:
        return []
    sentiments = (model or sentiment_model()).predict_proba(texts)
    demands = demand_classifier().predict_reviews(texts)
    return [
        ReviewResult(float(sentiment), demand.is_demand, demand.demand_type or "", [w for w, _ in text_keywords(text, 8)])
        for text, sentiment, demand in zip(texts, sentiments, demands)
    ]
