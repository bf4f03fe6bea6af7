"""Customers as bags of keywords, K-means personas, and stable persona identities (no Django).

Vectors (seed 000 §3.1): a customer is a bag of words over the shop's keyword vocabulary. The
raw counts are TextRank weights summed by event type; we then apply IDF weighting and L2
normalisation. Both were chosen by `benchmarks/personas.py`: without IDF, words every persona
uses ("书签", "好") dominate the distances; without L2 normalisation, heavy buyers sit far from
light ones of the same taste and K-means splits personas by activity instead of taste.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score

MAX_VOCABULARY = 600
MIN_DOCUMENT_FREQUENCY = 2
MIN_CUSTOMERS_FOR_SILHOUETTE = 10
K_RANGE = range(2, 13)
MINIBATCH_ABOVE = 50_000
SILHOUETTE_SAMPLE = 4_000
MATCH_MIN_SIMILARITY = 0.3


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
    """Words used by at least two customers, most widespread first; smoothed IDF as sklearn's."""
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
    return KMeans(n_clusters=k, random_state=seed, n_init=4)


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
    best, scores = None, {}
    for k in k_range:
        if k >= n:
            break
        model = _kmeans(k, n, seed).fit(vectors)
        if len(set(model.labels_[sample])) < 2:
            continue
        scores[k] = float(silhouette_score(vectors[sample], model.labels_[sample]))
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
