"""The linear half of the shipped sentiment ensemble, and the per-shop head, on hashed character n-grams.

- ``HashedTfidf``: a text → L2-normalised, sublinear-tf TF-IDF vector over its character 1-, 2- and
  3-grams hashed (``hashed_char_ngrams``: packed code points, Fibonacci hashing) into ``buckets``
  columns: the linear baseline of DESIGN §5.1 without a vocabulary to ship (a hashing trick), so the
  file is fixed-size and loads without pickles.
- ``LinearSentiment``: logistic regression on those vectors; ``logits(texts)``.
- ``Blend``: the ensemble's last step, ``sigmoid(a · TextCNN logit + b · linear logit + c)``,
  fitted on the validation split (three numbers: the two models' votes are weighed, not averaged).
- ``ShopHead``: a shop's own logistic regression on [base-model logit, the shop's n-gram TF-IDF],
  learnt from its star ratings (see ``profiles.nlp.shop_sentiment``).

All are stored as safetensors; no pickles, no Django imports here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse

from profiles.nlp.segmentation import clean_text

LINEAR_BUCKETS = 2**19


NGRAM_HASHING = "packed code points, Fibonacci hashing (v2)"  # recorded beside weights that depend on it
CODE_BITS = 21  # every Unicode code point fits in 21 bits
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads the n-gram keys' bits over the top bits


def hashed_char_ngrams(texts: Sequence[str], buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, bucket) of every character 1-, 2- and 3-gram of each (already split) text, in numpy.

    An n-gram's key packs its code points, each plus one, into 21-bit fields (so 1-, 2- and 3-grams
    never share a key); multiplying by a 64-bit odd constant and keeping the high bits spreads keys over
    ``buckets``. No per-n-gram Python work: the whole batch is hashed at a few million n-grams per second.
    """
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + np.uint64(1)
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    left = lengths[row_of] - (np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    rows, keys = [row_of], [codes]
    key = codes
    for n in (2, 3):
        fits = left[: len(codes) - n + 1] >= n  # the n-gram starting here ends inside its own text
        key = key[:-1] | (codes[n - 1 :] << np.uint64(CODE_BITS * (n - 1)))
        rows.append(row_of[: len(key)][fits])
        keys.append(key[fits])
    mixed = (np.concatenate(keys) * GOLDEN) >> np.uint64(32)
    return np.concatenate(rows), (mixed % np.uint64(buckets)).astype(np.int64)


@dataclass
class HashedTfidf:
    """Sublinear-tf TF-IDF over hashed character 1-3-grams, L2-normalised per text."""

    idf: np.ndarray  # (buckets,) float32; 0 for buckets never seen in training

    def __post_init__(self) -> None:
        self.idf = np.asarray(self.idf, dtype=np.float32)

    @property
    def buckets(self) -> int:
        return len(self.idf)

    @classmethod
    def fit(cls, texts: Sequence[object], buckets: int = LINEAR_BUCKETS, min_df: int = 2) -> HashedTfidf:
        """idf = ln((1 + n) / (1 + df)) + 1 as scikit-learn's smooth idf; buckets seen in fewer than
        ``min_df`` texts get 0 (they only add noise and collisions)."""
        counter = cls(np.zeros(buckets, np.float32))
        rows, columns, _ = counter._coordinates(texts)
        document_frequency = np.bincount(columns, minlength=buckets).astype(np.float64)
        idf = np.log((1 + len(texts)) / (1 + document_frequency)) + 1
        idf[document_frequency < min_df] = 0.0
        return cls(idf.astype(np.float32))

    def _coordinates(self, texts: Sequence[object]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, bucket, count) of each distinct bucket of each text."""
        from profiles.nlp.sentiment import split_units  # the same characters the TextCNN reads

        rows, buckets = hashed_char_ngrams(["".join(split_units(clean_text(text), "char")) for text in texts],
                                           self.buckets)
        keys = rows * self.buckets + buckets
        keys.sort()  # in place: np.unique would sort a copy
        starts = np.flatnonzero(np.r_[len(keys) > 0, keys[1:] != keys[:-1]])  # none for texts with no characters
        unique, counts = keys[starts], np.diff(np.r_[starts, len(keys)])
        return unique // self.buckets, unique % self.buckets, counts

    def transform(self, texts: Sequence[object]) -> sparse.csr_matrix:
        rows, columns, counts = self._coordinates(texts)
        values = (1.0 + np.log(counts)) * self.idf[columns]
        norms = np.sqrt(np.bincount(rows, values * values, minlength=len(texts)))
        values = values / np.where(norms > 0, norms, 1.0)[rows]
        return sparse.csr_matrix((values.astype(np.float32), (rows, columns)), shape=(len(texts), self.buckets))


@dataclass
class LinearSentiment:
    """Logistic regression on ``HashedTfidf`` vectors."""

    features: HashedTfidf
    coef: np.ndarray  # (buckets,)
    intercept: float

    @classmethod
    def fit(cls, texts: Sequence[str], labels: np.ndarray, *, c: float, weights: np.ndarray | None = None,
            buckets: int = LINEAR_BUCKETS) -> LinearSentiment:
        from sklearn.linear_model import LogisticRegression

        features = HashedTfidf.fit(texts, buckets)
        model = LogisticRegression(C=c, max_iter=3000)
        model.fit(features.transform(texts), labels, sample_weight=weights)
        return cls(features, model.coef_[0].astype(np.float32), float(model.intercept_[0]))

    def logits(self, texts: Sequence[object]) -> np.ndarray:
        if not len(texts):
            return np.zeros(0, np.float32)
        return (self.features.transform(texts) @ self.coef + self.intercept).astype(np.float32)

    def to_tensors(self, prefix: str = "linear.") -> dict[str, np.ndarray]:
        # float16 halves the file; the weights of a TF-IDF LR need no more than 3 digits.
        return {f"{prefix}idf": self.features.idf.astype(np.float16), f"{prefix}coef": self.coef.astype(np.float16),
                f"{prefix}intercept": np.array([self.intercept], np.float32)}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], prefix: str = "linear.") -> LinearSentiment:
        idf, coef = tensors[f"{prefix}idf"], tensors[f"{prefix}coef"]
        if idf.shape != coef.shape or idf.ndim != 1:
            raise ValueError(f"{prefix}idf and {prefix}coef differ in shape ({idf.shape} vs {coef.shape})")
        return cls(HashedTfidf(idf.astype(np.float32)), coef.astype(np.float32),
                   float(tensors[f"{prefix}intercept"].reshape(-1)[0]))


@dataclass(frozen=True)
class Blend:
    """``sigmoid(cnn_weight · cnn logit + linear_weight · linear logit + bias)``."""

    cnn_weight: float
    linear_weight: float
    bias: float

    @classmethod
    def fit(cls, cnn_logits: np.ndarray, linear_logits: np.ndarray, labels: np.ndarray) -> Blend:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0).fit(np.column_stack([cnn_logits, linear_logits]), labels)
        return cls(float(model.coef_[0, 0]), float(model.coef_[0, 1]), float(model.intercept_[0]))

    def logits(self, cnn_logits: np.ndarray, linear_logits: np.ndarray) -> np.ndarray:
        return (self.cnn_weight * cnn_logits + self.linear_weight * linear_logits + self.bias).astype(np.float32)

    def to_tensor(self) -> np.ndarray:
        return np.array([self.cnn_weight, self.linear_weight, self.bias], np.float32)

    @classmethod
    def from_tensor(cls, tensor: np.ndarray) -> Blend:
        if tensor.shape != (3,):
            raise ValueError(f"blend has shape {tensor.shape}, expected (3,)")
        return cls(*(float(value) for value in tensor))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
