"""Main viewpoints of a group of shoppers (seed 000 §3.3): cluster sentences, pick one per cluster.

- ``split_sentences(text)``: a review → its sentences.
- ``cluster_opinions(sentences, ...)``: sentence vectors → cosine similarity matrix → K-means on
  its rows (as §3.3) → ``OpinionCluster``s, largest first, each with the sentence closest to its
  centroid and its keywords.
- ``summarise_opinions(reviews, ...)``: per polarity (TextCNN sentiment) the clusters above:
  ``{"positive": [...], "negative": [...]}``; this is what a persona's viewpoints are made of.

Sentence vectors are TF-IDF over content words (jieba / English) plus character bigrams, so two
sentences that share no segmented word but say "扇骨断了" / "扇骨容易断" still meet. The number
of clusters is chosen by silhouette (cosine) unless given; 0, 1 or 2 distinct sentences cannot
be chosen between, so they give 0 or 1 cluster. No Django imports here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import hstack
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

from profiles.nlp.keywords import customer_keywords
from profiles.nlp.segmentation import clean_text, content_words

DEFAULT_MAX_CLUSTERS = 5
# The similarity matrix is n × n; past this many distinct sentences we keep the most repeated
# ones (ties: first seen), which are the ones a summary must cover anyway.
MAX_SENTENCES = 2000
RANDOM_STATE = 0
POSITIVE_THRESHOLD = 0.5
CHAR_BIGRAM_WEIGHT = 0.5

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…\n])|(?<=[.．](?=\s))")


@dataclass(frozen=True)
class OpinionCluster:
    """One viewpoint: ``representative`` sentence, ``keywords``, ``size`` (sentences incl. repeats),
    and its distinct ``sentences`` (closest to the centroid first)."""

    representative: str
    keywords: list[str]
    size: int
    sentences: list[str]


def split_sentences(text: object) -> list[str]:
    """Sentences of one review (split after 。！？!?；; … and newlines; tiny fragments dropped)."""
    cleaned = clean_text(text, normalise=False)
    parts = (part.strip(" ，,、\t\n\r\u3000") for part in _SENTENCE_END.split(cleaned))
    return [part for part in parts if len(part) >= 2 and content_words(part)]


def _distinct_sentences(sentences: Sequence[object]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for sentence in sentences:
        cleaned = clean_text(sentence, normalise=False)  # shown to people as written
        if cleaned and content_words(cleaned):
            counts[cleaned] += 1
    if len(counts) > MAX_SENTENCES:
        counts = Counter(dict(counts.most_common(MAX_SENTENCES)))
    return counts


def sentence_vectors(sentences: Sequence[str]) -> np.ndarray:
    """L2-normalised TF-IDF vectors (content words + character bigrams), dense (n, features)."""
    words = TfidfVectorizer(analyzer=content_words, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char", ngram_range=(2, 2), sublinear_tf=True)
    # Character bigrams only bridge segmentation differences; words carry the meaning.
    matrix = hstack([words.fit_transform(sentences), CHAR_BIGRAM_WEIGHT * chars.fit_transform(sentences)])
    return normalize(matrix).toarray()


def _choose_cluster_count(similarity: np.ndarray, max_clusters: int) -> tuple[int, np.ndarray]:
    best_k, best_labels, best_score = 1, np.zeros(len(similarity), dtype=int), -1.0
    distance = np.clip(1.0 - similarity, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    for k in range(2, min(max_clusters, len(similarity) - 1) + 1):
        labels = _kmeans(similarity, k)
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(distance, labels, metric="precomputed")
        if score > best_score:
            best_k, best_labels, best_score = k, labels, score
    return best_k, best_labels


def _kmeans(features: np.ndarray, k: int) -> np.ndarray:
    return KMeans(n_clusters=k, n_init=4, random_state=RANDOM_STATE).fit_predict(features)


def cluster_opinions(
    sentences: Sequence[object],
    n_clusters: int | None = None,
    *,
    max_clusters: int = DEFAULT_MAX_CLUSTERS,
    top_keywords: int = 5,
) -> list[OpinionCluster]:
    """Group sentences that say the same thing; one ``OpinionCluster`` per group, largest first.

    Identical sentences are merged (and counted in ``size``). With ``n_clusters`` None, k is
    chosen by cosine silhouette over 2..``max_clusters``; fewer than 3 distinct sentences give
    one cluster (or none for no usable sentence).
    """
    counts = _distinct_sentences(sentences)
    distinct = list(counts)
    if not distinct:
        return []
    if len(distinct) < 3:
        labels = np.zeros(len(distinct), dtype=int)
        features = sentence_vectors(distinct)
    else:
        similarity = sentence_vectors(distinct)
        similarity = similarity @ similarity.T  # cosine: rows are unit vectors
        features = similarity
        if n_clusters is None:
            _, labels = _choose_cluster_count(similarity, max_clusters)
        else:
            labels = _kmeans(similarity, max(1, min(n_clusters, len(distinct))))
    clusters = [
        _describe_cluster(distinct, counts, features, np.flatnonzero(labels == label), top_keywords)
        for label in sorted(set(labels.tolist()))
    ]
    return sorted(clusters, key=lambda cluster: (-cluster.size, cluster.representative))


def _describe_cluster(
    distinct: list[str], counts: Counter[str], features: np.ndarray, members: np.ndarray, top_keywords: int
) -> OpinionCluster:
    centroid = features[members].mean(axis=0)
    distances = np.linalg.norm(features[members] - centroid, axis=1)
    # Closest to the centroid; among equals, the most repeated sentence.
    order = sorted(range(len(members)), key=lambda i: (round(float(distances[i]), 9), -counts[distinct[members[i]]]))
    ordered = [distinct[members[i]] for i in order]
    keywords = customer_keywords([(sentence, counts[sentence]) for sentence in ordered], top_k=top_keywords)
    return OpinionCluster(
        representative=ordered[0],
        keywords=list(keywords),
        size=sum(counts[sentence] for sentence in ordered),
        sentences=ordered,
    )


def summarise_opinions(
    reviews: Sequence[object],
    *,
    probabilities: Sequence[float] | None = None,
    max_clusters: int = DEFAULT_MAX_CLUSTERS,
    top_keywords: int = 5,
) -> dict[str, list[OpinionCluster]]:
    """Positive and negative viewpoints of a group's reviews.

    Each review is split into sentences and each sentence is given the polarity of its own
    sentiment probability (the shipped TextCNN, unless ``probabilities`` per *sentence-less
    review* are supplied, in which case every sentence inherits its review's probability).
    """
    sentences, sentence_probabilities = _sentences_with_polarity(reviews, probabilities)
    positive = [s for s, p in zip(sentences, sentence_probabilities) if p >= POSITIVE_THRESHOLD]
    negative = [s for s, p in zip(sentences, sentence_probabilities) if p < POSITIVE_THRESHOLD]
    return {
        "positive": cluster_opinions(positive, max_clusters=max_clusters, top_keywords=top_keywords),
        "negative": cluster_opinions(negative, max_clusters=max_clusters, top_keywords=top_keywords),
    }


def _sentences_with_polarity(
    reviews: Sequence[object], probabilities: Sequence[float] | None
) -> tuple[list[str], list[float]]:
    per_review = [split_sentences(review) for review in reviews]
    sentences = [sentence for split in per_review for sentence in split]
    if probabilities is not None:
        if len(probabilities) != len(reviews):
            raise ValueError("probabilities must have one value per review")
        inherited = [float(p) for split, p in zip(per_review, probabilities) for _ in split]
        return sentences, inherited
    if not sentences:
        return [], []
    from profiles.nlp.sentiment import SentimentModel  # torch only when needed

    return sentences, SentimentModel.load().predict_proba(sentences).tolist()
