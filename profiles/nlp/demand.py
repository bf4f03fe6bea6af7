"""Demand extraction (seed 000 §3.2): TF-IDF + linear SVM over our labelled corpus.

- ``DEMAND_TYPES``: the six demand types of seed 000 Fig. 4, code → name.
- ``load_demand_corpus()``: ``data/demand_corpus.tsv`` as (texts, labels); label ``none`` means
  "not a demand".
- ``build_pipeline(features)``: the scikit-learn pipeline (``features`` = "char", "word" or
  "char+word"), shared by the classifier and the benchmark so both measure the same model.
- ``DemandClassifier``: ``DemandClassifier.load().predict(texts)`` →
  ``[DemandPrediction(is_demand, demand_type, scores), ...]``.

One 7-way model (none, L0-L5) answers both questions: a sentence is a demand when its best
class is not ``none``. Features: the union of character 1-3-grams of the text and its jieba /
English words (TF-IDF, sublinear tf). ``benchmarks/demand.py`` compares char, word and both by
5-fold CV; the union was best on our corpus (see its table), and char n-grams keep working on
words jieba does not know. ``benchmarks/demand.py --nested`` searches the char analyser and C
inside each training split: no setting beats these by more than the folds' noise.

Why train at first use instead of shipping a pickle: the corpus is ~2,700 sentences and fits
in about a second, a pickle would tie the repo to one scikit-learn version, and the model can
never drift from the corpus it claims to be trained on. The fitted model is cached per process.
No Django imports here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from profiles.nlp.segmentation import DATA_DIR, clean_text, tokens

CORPUS_PATH = DATA_DIR / "demand_corpus.tsv"
NOT_DEMAND = "none"
DEMAND_TYPES: dict[str, str] = {
    "L0": "functional",
    "L1": "emotional",
    "L2": "cultural",
    "L3": "social",
    "L4": "investment",
    "L5": "environmental",
}
LABELS = (NOT_DEMAND, *DEMAND_TYPES)
DEFAULT_FEATURES = "char+word"
SVM_C = 1.0


@dataclass(frozen=True)
class DemandPrediction:
    """``is_demand``; ``demand_type`` (L0-L5) or None; ``scores``: SVM decision value per label."""

    is_demand: bool
    demand_type: str | None
    scores: dict[str, float]


def load_demand_corpus(path: Path = CORPUS_PATH) -> tuple[list[str], list[str]]:
    """Texts and labels of the corpus TSV (``label<TAB>text``, ``#`` lines are comments)."""
    texts: list[str] = []
    labels: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.partition("\t")
        if label not in LABELS or not text.strip():
            raise ValueError(f"{path}:{number}: bad row {line!r}")
        texts.append(text.strip())
        labels.append(label)
    return texts, labels


def analyse_words(text: str) -> list[str]:
    """jieba words of Chinese runs and English words, for the word TF-IDF."""
    return tokens(text)


def _char_vectoriser() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1,
        preprocessor=lambda text: clean_text(text).lower(),
    )


def _word_vectoriser() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=analyse_words, ngram_range=(1, 1), sublinear_tf=True, min_df=1,
    )


def build_pipeline(features: str = DEFAULT_FEATURES, c: float = SVM_C) -> Pipeline:
    """TF-IDF (``"char"``, ``"word"`` or ``"char+word"``) followed by a linear SVM."""
    parts = {"char": _char_vectoriser, "word": _word_vectoriser}
    chosen = features.split("+")
    if not chosen or any(name not in parts for name in chosen):
        raise ValueError(f"unknown features {features!r}; use char, word or char+word")
    union = FeatureUnion([(name, parts[name]()) for name in chosen])
    return Pipeline([("tfidf", union), ("svm", LinearSVC(C=c, class_weight="balanced"))])


class DemandClassifier:
    """The fitted demand model. ``DemandClassifier.load()`` fits it once per process."""

    _instance: DemandClassifier | None = None
    _lock = threading.Lock()

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.labels: list[str] = [str(label) for label in pipeline.classes_]

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], features: str = DEFAULT_FEATURES) -> DemandClassifier:
        pipeline = build_pipeline(features)
        pipeline.fit(list(texts), list(labels))
        return cls(pipeline)

    @classmethod
    def load(cls) -> DemandClassifier:
        """The classifier fitted on ``data/demand_corpus.tsv`` (cached per process)."""
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls.train(*load_demand_corpus())
            return cls._instance

    def predict(self, texts: Sequence[object]) -> list[DemandPrediction]:
        """One prediction per text; empty or symbol-only texts are never a demand."""
        cleaned = [clean_text(text) for text in texts]
        if not cleaned:
            return []
        decision = np.atleast_2d(self.pipeline.decision_function(cleaned))
        return [self._prediction(text, row) for text, row in zip(cleaned, decision)]

    def predict_reviews(self, texts: Sequence[object]) -> list[DemandPrediction]:
        """One prediction per review, read sentence by sentence: a review states a demand when one of
        its sentences does (the strongest such sentence gives the type). Classifying the whole text
        lets two sentences of complaint outvote the one sentence that says what the shopper wants."""
        sentences = [[part for part in _REVIEW_SENTENCE_END.split(clean_text(text)) if part.strip()] or [""]
                     for text in texts]
        flat = iter(self.predict([sentence for review in sentences for sentence in review]))
        return [_strongest([next(flat) for _ in review]) for review in sentences]

    def _prediction(self, text: str, row: np.ndarray) -> DemandPrediction:
        scores = {label: round(float(value), 4) for label, value in zip(self.labels, row)}
        best = self.labels[int(np.argmax(row))]
        if best == NOT_DEMAND or not tokens(text):
            return DemandPrediction(False, None, scores)
        return DemandPrediction(True, best, scores)


_REVIEW_SENTENCE_END = re.compile(r"[。！？!?；;\n]+")


def _strongest(predictions: list[DemandPrediction]) -> DemandPrediction:
    demands = [prediction for prediction in predictions if prediction.is_demand]
    if not demands:
        return predictions[0]
    return max(demands, key=lambda prediction: prediction.scores[prediction.demand_type])
