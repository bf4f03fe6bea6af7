"""Keywords of texts and of customers: jieba TextRank for Chinese, word counts for English.

- ``text_keywords(text, top_k)``: keywords of one text, weights in (0, 1], the best = 1.
- ``tag_keywords(tags)``: a product's tags as keywords, verbatim, each weighing 1.0.
- ``customer_keywords(weighted_texts, top_k, weighted_tags)``: one customer's keywords over many
  texts (review texts, titles of what they viewed, carted and bought) and the tags of those
  products, each keyword weight multiplied by the weight of the event it came from and summed.
- ``EVENT_TYPE_WEIGHTS`` and the ``*_WEIGHT`` constants: how much one text of each event type
  counts. Each event adds to the one before it in the funnel: a product viewed counts 1, viewed
  and carted 2, bought 2.25; the customer's own review words count 3 (see the constants).

No Django imports here.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import jieba.analyse

from profiles.nlp.segmentation import (
    chinese_part,
    clean_text,
    ensure_jieba,
    english_tokens,
    is_content_word,
    stop_words,
)

# Chosen by benchmarks/personas.py (persona recovery ARI, see profiles/personas/clustering.py).
# A cart follows a view of the same product and a purchase follows its cart, so a product's
# words are counted again at each step. A cart says the product is to the customer's taste; in
# the benchmark's shop a purchase then depends on how well the photo suits them, not on the
# theme. At 1 / 2 / 3 / 4 a few bought products outweighed many views; purchases at 0 scored
# best, 0.25 within 0.001 of it, and they must still count for customers known only from orders.
VIEW_WEIGHT = 1.0
CART_WEIGHT = 1.0
REVIEW_WEIGHT = 3.0
PURCHASE_WEIGHT = 0.25
EVENT_TYPE_WEIGHTS: dict[str, float] = {
    "view": VIEW_WEIGHT,
    "add_to_cart": CART_WEIGHT,
    "review": REVIEW_WEIGHT,
    "purchase": PURCHASE_WEIGHT,
}

# jieba part-of-speech tags TextRank may keep: nouns (incl. our user-dictionary terms, tagged
# n), place and other proper nouns, verbal nouns, and adjectives, which carry the Kansei
# emotion words (典雅, 精致) personas are described by. Plain verbs are mostly noise in reviews.
KEYWORD_POS_TAGS = ("n", "nz", "ns", "nr", "nrt", "vn", "an", "a")
DEFAULT_TOP_K = 20
MAX_TAG_CHARS = 40

_textrank: jieba.analyse.TextRank | None = None


def _textrank_extractor() -> jieba.analyse.TextRank:
    global _textrank
    if _textrank is None:
        ensure_jieba()
        extractor = jieba.analyse.TextRank()
        extractor.stop_words = set(extractor.stop_words) | set(stop_words())
        _textrank = extractor
    return _textrank


@lru_cache(maxsize=50_000)
def _cached_text_keywords(text: str, top_k: int) -> tuple[tuple[str, float], ...]:
    scores: Counter[str] = Counter()
    chinese = chinese_part(text)
    if chinese:
        scores.update(_chinese_keywords(chinese, top_k))
    scores.update(_english_keywords(text))
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:top_k]
    return tuple(ranked)


def _chinese_keywords(chinese: str, top_k: int) -> dict[str, float]:
    ranked = _textrank_extractor().textrank(
        chinese, topK=top_k, withWeight=True, allowPOS=KEYWORD_POS_TAGS
    )
    keywords = {word: float(weight) for word, weight in ranked if _is_keyword(word)}
    if keywords:
        return keywords
    # TextRank needs at least two co-occurring words; a one-word title ("折扇") has none.
    return {word: 1.0 for word in _single_word_fallback(chinese)}


def _single_word_fallback(chinese: str) -> list[str]:
    words = jieba.analyse.default_textrank.postokenizer.lcut(chinese)
    return [
        pair.word
        for pair in words
        if pair.flag.startswith(KEYWORD_POS_TAGS) and _is_keyword(pair.word)
    ]


def _is_keyword(word: str) -> bool:
    # Single Chinese characters (工, 扇) are mostly fragments of words jieba did not know.
    return is_content_word(word) and (word.isascii() or len(word) >= 2)


def _english_keywords(text: str) -> dict[str, float]:
    counts = Counter(word for word in english_tokens(text) if _is_keyword(word))
    if not counts:
        return {}
    most = max(counts.values())
    return {word: count / most for word, count in counts.items()}


def text_keywords(text: object, top_k: int = DEFAULT_TOP_K) -> list[tuple[str, float]]:
    """Keywords of one text, best first, weights in (0, 1] with the best at 1.0.

    Chinese runs go through jieba TextRank (with the user dictionary); English words are
    scored by their count relative to the most frequent one. Never raises on odd input.
    """
    cleaned = clean_text(text)
    if not cleaned or top_k <= 0:
        return []
    return list(_cached_text_keywords(cleaned, top_k))


def tag_keywords(tags: object) -> list[tuple[str, float]]:
    """A product's tags as keywords, each weighing as much as a title's best keyword (1.0).

    Tags are words the shop chose to describe the product, so they skip TextRank and its
    part-of-speech filter: jieba tags 实用 and 送礼 as verbs and 环保 as an abbreviation, and
    TextRank would drop exactly the words that say who a product is for.
    """
    if not isinstance(tags, (list, tuple)):
        return []
    keywords: dict[str, float] = {}
    for tag in tags:
        word = " ".join(clean_text(tag, max_chars=MAX_TAG_CHARS).split())
        word = word.lower() if word.isascii() else word
        if word and _is_keyword(word):
            keywords[word] = 1.0
    return list(keywords.items())


def customer_keywords(
    weighted_texts: list[tuple[object, float]],
    top_k: int = DEFAULT_TOP_K,
    weighted_tags: list[tuple[object, float]] = (),
) -> dict[str, float]:
    """One customer's keywords: the event-weighted sum of their texts' TextRank weights and tags.

    ``weighted_texts`` pairs each text (a review, or a viewed/carted/bought product's title)
    with its event weight, normally ``EVENT_TYPE_WEIGHTS[event_type]``; ``weighted_tags`` pairs
    those products' tag lists with the same weights (see ``tag_keywords``). A keyword's
    score therefore grows with how often it occurs and how committed the events were, which
    is what the bag-of-words customer vector of seed 000 §3.1 counts. Returns at most
    ``top_k`` keywords, highest first (dicts keep insertion order).
    """
    totals: Counter[str] = Counter()
    for text, weight in weighted_texts:
        if not weight or weight < 0:
            continue
        for word, score in text_keywords(text, top_k=top_k):
            totals[word] += score * float(weight)
    for tags, weight in weighted_tags:
        if not weight or weight < 0:
            continue
        for word, score in tag_keywords(tags):
            totals[word] += score * float(weight)
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:top_k]
    return {word: round(score, 6) for word, score in ranked}
