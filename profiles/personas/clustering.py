"""Customers as bags of terms, K-means personas, and stable persona identities (no Django).

Vectors (seed 000 §3.1): a customer is a bag of terms over the shop's vocabulary: their keywords
(TextRank weights summed by event type, profiles/nlp/keywords.py) and one term per product they
touched ("product:<pk>", its event weights summed, times PRODUCT_WEIGHT); then IDF weighting and
L2 normalisation. K-means (KMEANS_RESTARTS restarts, on sparse rows) with k by silhouette.

All of it was chosen by `benchmarks/personas.py`, the adjusted Rand index of our personas against
the simulator's hidden archetypes, on three simulated shops of 10,000 customers (seeds 11, 12, 13;
a third of them with 3 events or fewer), offline on the same events:

- without IDF, words every persona uses ("书签", "好") dominate the distances (0.669 against
  0.751 on seed 11); without L2 normalisation, heavy buyers sit far from light ones of the same
  taste and K-means splits personas by activity instead of taste;
- event weights 1 / 1 / 3 / 0.25 (view, cart, review, purchase) instead of 1 / 2 / 3 / 4: 0.751,
  0.741, 0.750 -> 0.768, 0.761, 0.762 (with the 10 restarts below). Purchases follow the
  photo's style more than the product's theme, and at 4 a few bought products outweighed many
  views;
- product terms: +0.010 to +0.016 more, to 0.779, 0.771, 0.778 (the Bayes ceiling, which reads
  the hidden truth: 0.791, 0.779, 0.791). A product's words name its theme only roughly (crafts
  such as 剪纸 are also heritage words; one tag is another theme's); its term names the product
  exactly, and K-means learns what it says from the many customers who touched it. That helps
  most the one-visit shoppers, whose one or two views are all there is. Weight 8 on top of IDF
  lets the product outweigh its words; 4-16 scored alike. The silhouette's peak at k = 6 also
  stands out (0.029 against 0.022 at 7; on keywords alone 0.148 against 0.147 and 0.148 at 7
  and 8 on seed 11);
- 10 K-means restarts instead of 4: with 4, a bad start at the right k sometimes lost the
  silhouette to k = 5 or 7 (ARI 0.62, 0.76); with 10 it was 6 on all 3 shops x 6 seeds tried;
- tried and dropped: log or square-root term counts (+0.004 on the old weights, -0.006 on the
  new), every keyword instead of the top 20, the customer's demand-type mix as extra features
  (no gain at scale 0.3-0.6, k wrong at 1), cluster-informativeness weights instead of IDF
  (-0.07), a multinomial mixture (EM) started from K-means (+0.001-0.002, not worth a second
  model beside `nearest`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score

MAX_VOCABULARY = 600  # words and products, most widespread first
PRODUCT_WEIGHT = 8.0
PRODUCT_TERM = "product:{}"
MIN_DOCUMENT_FREQUENCY = 2
MIN_CUSTOMERS_FOR_SILHOUETTE = 10
K_RANGE = range(2, 13)
MINIBATCH_ABOVE = 50_000
SILHOUETTE_SAMPLE = 4_000
KMEANS_RESTARTS = 10
MATCH_MIN_SIMILARITY = 0.3


def product_weights(weighted_products: list[tuple[object, float]]) -> dict[str, float]:
    """{product pk: summed event weight} of the products one customer touched (JSON-ready keys)."""
    totals: Counter[str] = Counter()
    for product, weight in weighted_products:
        if product is not None and weight and weight > 0:
            totals[str(product)] += float(weight)
    return {product: round(weight, 6) for product, weight in totals.items()}


def customer_terms(keywords: dict[str, float], products: dict[str, float] | None = None) -> dict[str, float]:
    """One customer's bag of terms: their keywords and a term per product, weighted PRODUCT_WEIGHT.
    The full fit and the incremental assignment both embed this, so a customer lands the same way."""
    terms = dict(keywords)
    for product, weight in (products or {}).items():
        terms[PRODUCT_TERM.format(product)] = PRODUCT_WEIGHT * weight
    return terms


@dataclass
class Vocabulary:
    words: list[str]
    idf: np.ndarray
    index: dict[str, int] = field(init=False)

    def __post_init__(self):
        self.index = {word: position for position, word in enumerate(self.words)}

    def embed(self, keywords: list[dict[str, float]], weighting: str = "tfidf", normalise: bool = True) -> np.ndarray:
        matrix = np.zeros((len(keywords), len(self.words)), dtype=np.float32)
        for row, weights in enumerate(keywords):
            for word, weight in weights.items():
                column = self.index.get(word)
                if column is not None:
                    matrix[row, column] += weight
        if weighting == "tfidf":
            matrix *= self.idf
        if normalise:
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        return matrix


def build_vocabulary(keywords: list[dict[str, float]], max_words: int = MAX_VOCABULARY) -> Vocabulary:
    """Terms used by at least two customers, most widespread first; smoothed IDF as sklearn's."""
    frequency = Counter(word for weights in keywords for word in weights)
    minimum = MIN_DOCUMENT_FREQUENCY if len(keywords) >= 20 else 1
    words = [word for word, count in frequency.most_common() if count >= minimum][:max_words]
    n = len(keywords)
    idf = np.array([np.log((1 + n) / (1 + frequency[word])) + 1 for word in words], dtype=np.float32)
    return Vocabulary(sorted(words), idf[np.argsort(words)] if words else np.zeros(0, np.float32))


@dataclass
class Clustering:
    labels: np.ndarray
    centroids: np.ndarray
    k: int
    silhouette: float | None
    k_scores: dict[int, float]
    note: str = ""


def _kmeans(k: int, n: int, seed: int):
    if n > MINIBATCH_ABOVE:
        return MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096)
    return KMeans(n_clusters=k, random_state=seed, n_init=KMEANS_RESTARTS)


def choose_k_and_fit(vectors: np.ndarray, seed: int = 0, k_range: range = K_RANGE) -> Clustering:
    """K-means with k chosen by the silhouette score over `k_range`."""
    n = len(vectors)
    if n < MIN_CUSTOMERS_FOR_SILHOUETTE:
        note = (f"Only {n} customers with enough signal: k cannot be chosen by silhouette "
                f"(needs {MIN_CUSTOMERS_FOR_SILHOUETTE}); using one persona.")
        centroid = vectors.mean(axis=0, keepdims=True) if n else np.zeros((1, vectors.shape[1]), np.float32)
        return Clustering(np.zeros(n, dtype=int), centroid, 1, None, {}, note)
    rng = np.random.default_rng(seed)
    sample = rng.choice(n, size=min(n, SILHOUETTE_SAMPLE), replace=False)
    rows = sparse.csr_matrix(vectors)  # a customer uses a few dozen of the terms: sparse fits are ~5x faster
    best, scores = None, {}
    for k in k_range:
        if k >= n:
            break
        model = _kmeans(k, n, seed).fit(rows)
        if len(set(model.labels_[sample])) < 2:
            continue
        scores[k] = float(silhouette_score(rows[sample], model.labels_[sample]))
        if best is None or scores[k] > scores[best[0]]:
            best = (k, model)
    if best is None:
        return Clustering(np.zeros(n, dtype=int), vectors.mean(axis=0, keepdims=True), 1, None, scores,
                          "All customers look alike: one persona.")
    k, model = best
    return Clustering(model.labels_.astype(int), model.cluster_centers_.astype(np.float32), k, scores[k], scores)


def nearest(vectors: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centroid and the Euclidean distance to it, per row."""
    distances = np.linalg.norm(vectors[:, None, :] - centroids[None, :, :], axis=2)
    labels = distances.argmin(axis=1)
    return labels, distances[np.arange(len(vectors)), labels]


def _as_dense(centroid: dict[str, float], words: list[str]) -> np.ndarray:
    return np.array([centroid.get(word, 0.0) for word in words], dtype=np.float32)


def match_centroids(old: list[dict[str, float]], new: list[dict[str, float]]) -> dict[int, int]:
    """Pair new centroids with old ones (Hungarian assignment on cosine similarity, over the union
    of both vocabularies). Returns {new index: old index}; a new centroid whose best partner is less
    similar than MATCH_MIN_SIMILARITY stays unpaired and becomes a new persona."""
    if not old or not new:
        return {}
    words = sorted({word for centroid in old + new for word in centroid})
    a = np.stack([_as_dense(c, words) for c in new])
    b = np.stack([_as_dense(c, words) for c in old])
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-9)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-9)
    similarity = a @ b.T
    rows, columns = linear_sum_assignment(-similarity)
    return {int(r): int(c) for r, c in zip(rows, columns) if similarity[r, c] >= MATCH_MIN_SIMILARITY}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    """Cosine similarity of two sparse {word: weight} vectors."""
    dot = sum(weight * b.get(word, 0.0) for word, weight in a.items())
    norm = (sum(w * w for w in a.values()) ** 0.5) * (sum(w * w for w in b.values()) ** 0.5)
    return dot / norm if norm else 0.0


def centroid_as_dict(centroid: np.ndarray, vocabulary: Vocabulary, top: int | None = None) -> dict[str, float]:
    order = np.argsort(-centroid)
    if top is not None:
        order = order[:top]
    return {vocabulary.words[i]: round(float(centroid[i]), 5) for i in order if centroid[i] > 0}
