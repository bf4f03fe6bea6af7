"""The hashed character n-grams both halves of the sentiment ensemble read, and the files that depend on them."""

import json
import shutil

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from profiles.nlp.sentiment import (
    LINEAR_PATH,
    VOCAB_PATH,
    WEIGHTS_DIR,
    WEIGHTS_PATH,
    SentimentModel,
    SentimentWeightsError,
    shipped_fingerprint,
)
from profiles.nlp.sentiment_linear import HashedTfidf, hashed_char_ngrams


def test_every_1_2_and_3_gram_of_each_text_and_none_across_texts():
    rows, buckets = hashed_char_ngrams(["好用吗", "", "差", "很差"], 1 << 20)
    assert np.bincount(rows, minlength=4).tolist() == [6, 0, 1, 3]  # 3 + 2 + 1 grams of 好用吗; 差; 很, 差, 很差
    # The same n-gram gets the same bucket wherever it is: 差 in the third and the fourth text.
    assert buckets[rows == 2][0] in buckets[rows == 3]
    # 1-, 2- and 3-grams never share a key: all six n-grams of 好用吗 land in different buckets here.
    assert len(set(buckets[rows == 0].tolist())) == 6


def test_the_hashing_does_not_change_without_retraining():
    """The shipped weights are indexed by these buckets: a change to the hash must come with new weights
    (and a new NGRAM_HASHING, which makes old files fail to load with a clear message)."""
    _, buckets = hashed_char_ngrams(["好用"], 2**19)
    assert buckets.tolist() == [int(b) for b in _expected_buckets()]


def _expected_buckets():
    golden, keys = 0x9E3779B97F4A7C15, [ord("好") + 1, ord("用") + 1, (ord("好") + 1) | ((ord("用") + 1) << 21)]
    return [((key * golden) % 2**64 >> 32) % 2**19 for key in keys]


def test_texts_without_characters_get_an_empty_vector():
    features = HashedTfidf.fit(["好用", "很好用", "太差", "差评"], buckets=256, min_df=1)
    matrix = features.transform(["", "   ", "好用"])
    assert matrix.shape == (3, 256) and matrix[0].nnz == 0 and matrix[1].nnz == 0 and matrix[2].nnz > 0


@pytest.fixture
def weights_copy(tmp_path):
    for path in (WEIGHTS_PATH, VOCAB_PATH, LINEAR_PATH):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _load(directory):
    return SentimentModel.load(directory / WEIGHTS_PATH.name, directory / VOCAB_PATH.name, cached=False,
                               linear_path=directory / LINEAR_PATH.name)


def test_files_trained_with_the_old_crc32_hashing_are_refused_with_the_retrain_command(weights_copy):
    vocab_path = weights_copy / VOCAB_PATH.name
    document = json.loads(vocab_path.read_text("utf-8"))
    del document["vocabulary"]["ngram_hashing"]  # as written before the hashing was recorded
    vocab_path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(SentimentWeightsError, match="CRC32.*train_sentiment"):
        _load(weights_copy)

    shutil.copy(WEIGHTS_DIR / VOCAB_PATH.name, vocab_path)
    linear_path = weights_copy / LINEAR_PATH.name
    save_file(load_file(str(linear_path)), str(linear_path))  # the same tensors without the hashing metadata
    with pytest.raises(SentimentWeightsError, match="CRC32.*train_sentiment"):
        _load(weights_copy)


def test_the_fingerprint_names_the_files_a_shop_head_was_made_on(weights_copy):
    shipped = _load(weights_copy)
    assert shipped.fingerprint == SentimentModel.load().fingerprint and len(shipped.fingerprint) == 16
    assert shipped_fingerprint() == shipped.fingerprint  # what the shop-head queries compare, read off the files
    linear_path = weights_copy / LINEAR_PATH.name
    tensors = load_file(str(linear_path))
    tensors["blend"] = tensors["blend"] + np.float32(0.01)
    with safe_open(str(LINEAR_PATH), framework="numpy") as handle:
        metadata = handle.metadata()
    save_file(tensors, str(linear_path), metadata=metadata)
    assert _load(weights_copy).fingerprint != shipped.fingerprint
