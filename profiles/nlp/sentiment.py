"""Review sentiment: a TextCNN (Kim 2014) in PyTorch and the shipped model that wraps it.

- ``TextCNN``: embedding (characters, optionally plus character bigrams) → parallel 1-D
  convolutions of several widths → ReLU → max (and optionally mean) over time → dropout → one
  logit (positive vs negative); optionally plus a "wide" linear term, the mean of learned
  weights of the text's hashed character 1-3-grams (fastText-style), trained jointly. The
  shipped model uses it: the convolutional part alone did not beat a TF-IDF + LR baseline.
- ``Vocabulary``: text → token ids, character- or jieba-word-level (``unit``). Characters won
  on this machine: jieba alone segments only ~1-3 k reviews/s, below the throughput target.
- ``SentimentModel``: the shipped ensemble loaded from ``weights/``: the trained network and
  vocabulary, plus (``sentiment_linear.safetensors``) a hashed char 1-3-gram TF-IDF + logistic
  regression and the three numbers that blend the two logits (``profiles.nlp.sentiment_linear``);
  ``SentimentModel.load()``, ``predict_proba(texts) -> np.ndarray`` (probability positive) and
  ``predict_logits`` (what a shop's own head builds on, ``profiles.nlp.shop_sentiment``).
  ``weights/sentiment_manifest.json`` lists the files' SHA-256 and the corpora; ``MODEL_CARD.md``
  says what it is and is not good for.
- ``SentimentWeightsError``: raised when the shipped files are missing or corrupt, naming the
  file and the command that retrains them.

Trained by ``python -m profiles.nlp.train_sentiment`` (or ``manage.py train_sentiment``).
No Django imports here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import repeat
from operator import add
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file as load_numpy_file
from safetensors.numpy import save_file as save_numpy_file
from safetensors.torch import load_file, save_file
from torch import nn

from profiles.nlp.segmentation import clean_text, tokens
from profiles.nlp.sentiment_linear import NGRAM_HASHING, Blend, LinearSentiment, hashed_char_ngrams, sigmoid

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_PATH = WEIGHTS_DIR / "sentiment_textcnn.safetensors"
VOCAB_PATH = WEIGHTS_DIR / "sentiment_vocab.json"
LINEAR_PATH = WEIGHTS_DIR / "sentiment_linear.safetensors"
MANIFEST_PATH = WEIGHTS_DIR / "sentiment_manifest.json"
RETRAIN_COMMAND = "python manage.py train_sentiment  (or: python -m profiles.nlp.train_sentiment)"

PAD_ID = 0
UNKNOWN_ID = 1
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")


class SentimentWeightsError(RuntimeError):
    """The shipped sentiment model cannot be loaded; the message says which file and how to fix it."""


@dataclass(frozen=True)
class TextCNNConfig:
    vocab_size: int
    embedding_dim: int = 128
    kernel_sizes: tuple[int, ...] = (2, 3, 4, 5)
    filters_per_size: int = 128
    dropout: float = 0.5
    bigram_vocab_size: int = 0  # > 0: a second embedding of each character bigram, added per position
    pooling: str = "max"  # "max" (Kim 2014) or "max+mean" (also the mean over the text's windows)
    ngram_buckets: int = 0  # > 0: add a linear term over hashed character 1-3-grams ("wide" part)


class TextCNN(nn.Module):
    """Kim's TextCNN for binary classification; ``forward(ids, bigram_ids) -> logits`` (batch,).

    Windows that run into the right padding are masked out of the pooling, so a text scores
    the same whatever batch it is padded in.
    """

    def __init__(self, config: TextCNNConfig) -> None:
        super().__init__()
        if config.pooling not in ("max", "max+mean"):
            raise ValueError(f"unknown pooling {config.pooling!r}; use 'max' or 'max+mean'")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.bigram_embedding = (
            nn.Embedding(config.bigram_vocab_size, config.embedding_dim, padding_idx=PAD_ID)
            if config.bigram_vocab_size
            else None
        )
        self.convolutions = nn.ModuleList(
            nn.Conv1d(config.embedding_dim, config.filters_per_size, width)
            for width in config.kernel_sizes
        )
        self.dropout = nn.Dropout(config.dropout)
        pools = 2 if config.pooling == "max+mean" else 1
        self.classifier = nn.Linear(config.filters_per_size * len(config.kernel_sizes) * pools, 1)
        # The wide part: one learned weight per hashed character n-gram, averaged over the text.
        self.ngram_weights = (
            nn.EmbeddingBag(config.ngram_buckets, 1, mode="mean") if config.ngram_buckets else None
        )

    def forward(
        self,
        token_ids: torch.Tensor,
        bigram_ids: torch.Tensor | None = None,
        ngrams: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits; ``ngrams`` = (flat hashed n-gram ids, offsets) when the model has a wide part."""
        logits = self.classify(self.window_scores(token_ids, bigram_ids), token_ids)
        if self.ngram_weights is not None and ngrams is not None:
            logits = logits + self.ngram_weights(*ngrams).squeeze(1).float()
        return logits

    def window_scores(self, token_ids: torch.Tensor, bigram_ids: torch.Tensor | None) -> list[torch.Tensor]:
        """Per kernel width k, the convolution over each window: (batch, filters, time - k + 1)."""
        embedded = self.embedding(token_ids)
        if self.bigram_embedding is not None and bigram_ids is not None:
            embedded = embedded + self.bigram_embedding(bigram_ids)
        embedded = embedded.transpose(1, 2)  # (batch, embedding, time)
        return [conv(embedded) for conv in self.convolutions]

    def classify(self, scores: list[torch.Tensor], token_ids: torch.Tensor) -> torch.Tensor:
        """ReLU, pool over each text's own windows, dropout, linear → one logit per text."""
        lengths = (token_ids != PAD_ID).sum(dim=1)
        pooled: list[torch.Tensor] = []
        for width, score in zip(self.config.kernel_sizes, scores):
            windows = torch.arange(score.shape[2], device=score.device)
            valid_counts = (lengths - width + 1).clamp(min=1)
            invalid = (windows[None, :] >= valid_counts[:, None]).unsqueeze(1)  # (batch, 1, windows)
            # ReLU output is ≥ 0, so zeroing windows past the text changes neither max nor sum.
            activated = score.float()  # no copy in fp32
            if activated.requires_grad:
                activated = activated.relu().masked_fill(invalid, 0.0)
            else:  # inference: in place, a fifth less time per review (no new (batch, filters, time) tensors)
                activated = activated.relu_().masked_fill_(invalid, 0.0)
            pooled.append(activated.amax(dim=2))
            if self.config.pooling == "max+mean":
                pooled.append(activated.sum(dim=2) / valid_counts[:, None])
        features = self.dropout(torch.cat(pooled, dim=1))
        # The last layer stays float32 even under bf16 autocast: bf16 keeps ~3 significant
        # digits, which would round different reviews' probabilities to the same value.
        with torch.autocast("cpu", enabled=False):
            return self.classifier(features.float()).squeeze(1)


@dataclass
class Vocabulary:
    """Token ↔ id table. ``unit`` is "char" (each character a token) or "word" (jieba words).

    With ``bigrams`` (character vocabularies only) each position also gets the id of the
    bigram starting there, so the network sees both 汉 and 汉字 at the same place.
    """

    unit: str
    tokens: list[str]
    max_length: int = 256
    bigrams: list[str] = field(default_factory=list)
    ngram_buckets: int = 0
    ngram_hashing: str = NGRAM_HASHING
    index: dict[str, int] = field(init=False, repr=False)
    bigram_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.unit not in ("char", "word"):
            raise ValueError(f"unknown vocabulary unit {self.unit!r}; use 'char' or 'word'")
        if self.bigrams and self.unit != "char":
            raise ValueError("bigram embeddings need a character vocabulary")
        self.index = {token: position for position, token in enumerate(self.tokens)}
        self.bigram_index = {bigram: position for position, bigram in enumerate(self.bigrams)}
        if self.ngram_buckets and self.ngram_hashing != NGRAM_HASHING:
            raise ValueError(f"its wide n-gram term was trained with n-gram hashing {self.ngram_hashing!r}, "
                             f"this code hashes with {NGRAM_HASHING!r}")

    @classmethod
    def build(
        cls, texts: Sequence[str], unit: str, min_count: int, max_length: int, bigram_min_count: int = 0,
        ngram_buckets: int = 0,
    ) -> Vocabulary:
        """Tokens seen ``min_count`` times; bigrams seen ``bigram_min_count`` times (0: none);
        ``ngram_buckets`` hashed n-gram buckets for the wide term (0: none)."""
        split = [split_units(text, unit) for text in texts]
        counts = Counter(token for units in split for token in units)
        kept = sorted(token for token, count in counts.items() if count >= min_count)
        bigrams: list[str] = []
        if bigram_min_count:
            bigram_counts = Counter(bigram for units in split for bigram in _bigrams(units))
            frequent = sorted(b for b, count in bigram_counts.items() if count >= bigram_min_count)
            bigrams = ["<pad>", "<unk>", *frequent]
        return cls(unit=unit, tokens=["<pad>", "<unk>", *kept], max_length=max_length, bigrams=bigrams,
                   ngram_buckets=ngram_buckets)

    def units(self, text: object, unit: str | None = None) -> list[str]:
        """The (at most ``max_length``) characters or words of ``text``; ["<unk>"] when it has none."""
        return split_units(clean_text(text), unit or self.unit)[: self.max_length] or ["<unk>"]

    def encode(self, text: object) -> tuple[list[int], list[int] | None]:
        """Token ids of ``text`` (at least one), and the aligned bigram ids if the vocabulary has them."""
        return self.encode_units(self.units(text))

    def encode_units(self, units: list[str]) -> tuple[list[int], list[int] | None]:
        ids = list(map(self.index.get, units, repeat(UNKNOWN_ID)))
        if not self.bigrams:
            return ids, None
        return ids, list(map(self.bigram_index.get, _bigrams(units), repeat(UNKNOWN_ID)))

    def to_json(self) -> dict:
        return {
            "unit": self.unit,
            "max_length": self.max_length,
            "tokens": self.tokens,
            "bigrams": self.bigrams,
            "ngram_buckets": self.ngram_buckets,
            "ngram_hashing": self.ngram_hashing,
        }

    def hashed_ngrams(self, text: object) -> list[int]:
        """Bucket ids of the character 1-, 2- and 3-grams of ``text`` (``hashed_char_ngrams``)."""
        flat, _ = self.hashed_ngrams_batch([self.units(text, "char")])
        return flat.tolist()

    def hashed_ngrams_batch(self, characters_per_text: Sequence[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(flat bucket ids, offsets) of many texts' n-grams for ``nn.EmbeddingBag``, in one pass."""
        rows, buckets = hashed_char_ngrams(["".join(characters) for characters in characters_per_text],
                                           self.ngram_buckets)
        flat = buckets[np.argsort(rows, kind="stable")]
        lengths = np.bincount(rows, minlength=len(characters_per_text))
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        return torch.from_numpy(flat), torch.from_numpy(offsets)


def _bigrams(units: Sequence[str]) -> list[str]:
    """The bigram starting at each position (the last one pairs with an end marker)."""
    return list(map(add, units, [*units[1:], "</s>"]))


def split_units(text: str, unit: str) -> list[str]:
    """Characters (digits folded to 0, whitespace dropped) or jieba/English words of ``text``."""
    text = _DIGITS.sub("0", text.lower())
    if unit == "char":
        return list(_SPACES.sub("", text))
    return tokens(text)


def pad_batch(sequences: Sequence[list[int]], min_length: int) -> torch.Tensor:
    """Right-pad id lists to one tensor, at least ``min_length`` long (the widest kernel)."""
    width = max(min_length, max(len(sequence) for sequence in sequences))
    batch = np.full((len(sequences), width), PAD_ID, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence
    return torch.from_numpy(batch)


Encoded = tuple[list[int], "list[int] | None"]


def batch_inputs(encoded: Sequence[Encoded], min_length: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Padded token ids and (if present) bigram ids of a batch of ``Vocabulary.encode`` results."""
    ids = pad_batch([tokens_ for tokens_, _ in encoded], min_length)
    if encoded[0][1] is None:
        return ids, None
    return ids, pad_batch([bigrams for _, bigrams in encoded], min_length)


def batch_ngrams(hashed: Sequence[list[int]] | None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(flat ids, offsets) for ``nn.EmbeddingBag`` from per-text hashed n-gram lists."""
    if hashed is None:
        return None
    lengths = np.fromiter((len(ids) for ids in hashed), dtype=np.int64, count=len(hashed))
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    flat = np.fromiter((i for ids in hashed for i in ids), dtype=np.int64, count=int(lengths.sum()))
    return torch.from_numpy(flat), torch.from_numpy(offsets)


def save_model(model: TextCNN, vocabulary: Vocabulary, metadata: dict, directory: Path) -> None:
    """Write ``sentiment_textcnn.safetensors`` and ``sentiment_vocab.json`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    # float16 on disk halves the file (the bigram table dominates it); loading casts back to float32.
    tensors = {
        name: tensor.detach().to(torch.float16).contiguous() for name, tensor in model.state_dict().items()
    }
    save_file(tensors, str(directory / WEIGHTS_PATH.name))
    config = model.config
    document = {
        "vocabulary": vocabulary.to_json(),
        "model": {
            "embedding_dim": config.embedding_dim,
            "kernel_sizes": list(config.kernel_sizes),
            "filters_per_size": config.filters_per_size,
            "dropout": config.dropout,
            "bigram_vocab_size": config.bigram_vocab_size,
            "pooling": config.pooling,
            "ngram_buckets": config.ngram_buckets,
        },
        "training": metadata,
    }
    (directory / VOCAB_PATH.name).write_text(json.dumps(document, ensure_ascii=False), "utf-8")


class SentimentModel:
    """The shipped ensemble: ``SentimentModel.load().predict_proba(["很好用", "太差了"])``.

    The TextCNN's logit and the hashed char n-gram TF-IDF + LR's logit are blended by three numbers
    fitted on the validation split (``sentiment_linear.safetensors``); without ``linear`` (and
    ``blend``) it is the TextCNN alone. ``predict_proba(texts, cnn_only=True)`` reads the TextCNN
    alone, for the benchmark.
    """

    _cache: dict[tuple, SentimentModel] = {}
    _cache_lock = threading.Lock()

    def __init__(self, network: TextCNN, vocabulary: Vocabulary, metadata: dict,
                 linear: LinearSentiment | None = None, blend: Blend | None = None) -> None:
        self.network = network.eval()
        self.vocabulary = vocabulary
        self.metadata = metadata
        self.linear = linear
        self.blend = blend
        self.fingerprint = ""  # set by load(): which shipped files these are (a shop's head is made for one)
        self.min_length = max(network.config.kernel_sizes)
        # bf16 autocast at inference depends on the CPU: no clear gain on an AMX Xeon (the
        # convolutions are small; casts cost about what they save), 15 % more reviews per
        # wall-second on a 2-core AMD EPYC with AVX512-BF16. Off, so results are the same
        # everywhere; benchmarks/sentiment.py prints both settings side by side.
        # Training does use it (--bf16, ~1.25x faster per step).
        self.bf16 = False
        self._pool: ThreadPoolExecutor | None = None
        self._pool_threads = 0
        self._pool_lock = threading.Lock()

    @classmethod
    def load(
        cls, weights_path: Path = WEIGHTS_PATH, vocab_path: Path = VOCAB_PATH, *, cached: bool = True,
        linear_path: Path | None = LINEAR_PATH,
    ) -> SentimentModel:
        """Load (once per process when ``cached``) the weights, vocabulary and (unless ``linear_path``
        is None) the linear model and blend of the ensemble.

        Raises ``SentimentWeightsError`` naming the missing or corrupt file and the retrain command.
        """
        key = (Path(weights_path).resolve(), Path(vocab_path).resolve(),
               None if linear_path is None else Path(linear_path).resolve())
        with cls._cache_lock:
            if cached and key in cls._cache:
                return cls._cache[key]
            model = cls._load_uncached(Path(weights_path), Path(vocab_path))
            files = [Path(weights_path), Path(vocab_path)]
            if linear_path is not None:
                model.linear, model.blend = read_linear_file(Path(linear_path))
                files.append(Path(linear_path))
            model.fingerprint = files_fingerprint(files)
            if cached:
                cls._cache[key] = model
            return model

    @classmethod
    def _load_uncached(cls, weights_path: Path, vocab_path: Path) -> SentimentModel:
        document = _read_vocab_document(vocab_path)
        try:
            # Files from before the hashing was recorded used CRC32 of each n-gram's UTF-8.
            vocabulary = Vocabulary(**{"ngram_hashing": "CRC32 (v1)", **document["vocabulary"]})
            config = TextCNNConfig(
                vocab_size=len(vocabulary.tokens),
                embedding_dim=int(document["model"]["embedding_dim"]),
                kernel_sizes=tuple(int(size) for size in document["model"]["kernel_sizes"]),
                filters_per_size=int(document["model"]["filters_per_size"]),
                dropout=float(document["model"]["dropout"]),
                bigram_vocab_size=len(vocabulary.bigrams),
                pooling=str(document["model"].get("pooling", "max")),
                ngram_buckets=int(document["model"].get("ngram_buckets", 0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise _weights_error(vocab_path, f"is not a valid vocabulary file ({error})") from error
        network = TextCNN(config)
        network.load_state_dict(_read_state_dict(weights_path, network))
        return cls(network, vocabulary, document.get("training", {}))

    def predict_proba(self, texts: Sequence[object], batch_size: int = 256, *, cnn_only: bool = False) -> np.ndarray:
        """Probability that each text is positive, shape (len(texts),), float32.

        Texts are sorted by length so each batch pads little, run in batches, and the results put
        back in input order. Empty or symbol-only texts get the model's output for a single unknown
        token (close to 0.5).

        Batches go to a pool of as many threads as torch has intra-op threads, each running whole
        batches (Python encoding, then the network) on one torch thread: while one thread encodes,
        holding the GIL, the other runs its convolutions, so both cores stay busy. On this 2-core
        machine that is about 5,500 reviews/s in batches of 256, against 4,700 for one thread feeding a
        2-thread network (batches of 512: fewer, so the two threads finish less evenly).
        """
        cnn_logits, linear_logits = self.logits(texts, batch_size, cnn_only=cnn_only)
        if linear_logits is None:
            return sigmoid(cnn_logits)
        return sigmoid(self.blend.logits(cnn_logits, linear_logits))

    def predict_logits(self, texts: Sequence[object], batch_size: int = 256) -> np.ndarray:
        """The logit whose sigmoid ``predict_proba`` returns (the base of a shop's own head)."""
        cnn_logits, linear_logits = self.logits(texts, batch_size)
        return cnn_logits if linear_logits is None else self.blend.logits(cnn_logits, linear_logits)

    def logits(self, texts: Sequence[object], batch_size: int = 256, *,
               cnn_only: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """The TextCNN's logits and (for the ensemble, unless ``cnn_only``) the linear model's, in input order."""
        texts = list(texts)
        use_linear = self.linear is not None and self.blend is not None and not cnn_only
        cnn_logits = np.empty(len(texts), dtype=np.float32)
        linear_logits = np.empty(len(texts), dtype=np.float32) if use_linear else None
        # Characters approximate the encoded length well enough to sort by (whitespace aside).
        order = np.argsort([len(text) if isinstance(text, str) else 0 for text in texts], kind="stable")
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

        def score(rows: np.ndarray) -> None:
            batch = [texts[row] for row in rows]
            cnn_logits[rows] = self._forward(*self._inputs(batch))
            if linear_logits is not None:
                linear_logits[rows] = self.linear.logits(batch)

        if len(batches) <= 1:
            for rows in batches:
                score(rows)
            return cnn_logits, linear_logits
        threads = torch.get_num_threads()
        try:
            list(self._batch_pool(threads).map(score, batches))
        finally:
            # A new pool thread sets torch's process-wide default to 1 as it starts: put it back, so
            # threads started later elsewhere get the caller's setting (the pool's own keep 1).
            torch.set_num_threads(threads)
        return cnn_logits, linear_logits

    def _batch_pool(self, threads: int) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None or self._pool_threads != threads:
                if self._pool is not None:
                    self._pool.shutdown(wait=False)
                self._pool = ThreadPoolExecutor(threads, thread_name_prefix="sentiment",
                                                initializer=torch.set_num_threads, initargs=(1,))
                self._pool_threads = threads
            return self._pool

    def _inputs(self, texts: list[object]) -> tuple:
        """Padded token ids, bigram ids and hashed n-grams of one batch, for `TextCNN.forward`."""
        vocabulary = self.vocabulary
        units = [vocabulary.units(text) for text in texts]
        ids, bigram_ids = batch_inputs([vocabulary.encode_units(text_units) for text_units in units], self.min_length)
        if not vocabulary.ngram_buckets:
            return ids, bigram_ids, None
        # A character vocabulary's units are the characters the n-grams are made of.
        characters = units if vocabulary.unit == "char" else [vocabulary.units(text, "char") for text in texts]
        return ids, bigram_ids, vocabulary.hashed_ngrams_batch(characters)

    def _forward(self, ids: torch.Tensor, bigram_ids: torch.Tensor | None, ngrams) -> np.ndarray:
        with torch.inference_mode(), self._autocast():  # inference mode is per thread
            logits = self.network(ids, bigram_ids, ngrams)
        return logits.float().numpy()

    def _autocast(self):
        if self.bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return nullcontext()

    def predict_labels(self, texts: Sequence[object]) -> list[str]:
        """"pos" or "neg" per text (probability ≥ 0.5 is positive)."""
        return ["pos" if p >= 0.5 else "neg" for p in self.predict_proba(texts)]


def save_linear_file(linear: LinearSentiment, blend: Blend, metadata: dict, path: Path) -> None:
    """Write the ensemble's linear model and blend as one safetensors file (metadata as JSON strings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {**linear.to_tensors(), "blend": blend.to_tensor()}
    save_numpy_file(tensors, str(path), metadata={"training": json.dumps(metadata, ensure_ascii=False),
                                                  "ngram_hashing": NGRAM_HASHING})


def read_linear_file(path: Path) -> tuple[LinearSentiment, Blend]:
    if not path.is_file():
        raise _weights_error(path, "is missing")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            hashing = (handle.metadata() or {}).get("ngram_hashing", "CRC32 (v1)")
        tensors = load_numpy_file(str(path))
        linear, blend = LinearSentiment.from_tensors(tensors), Blend.from_tensor(tensors["blend"])
    except (SafetensorError, OSError, ValueError, KeyError) as error:
        raise _weights_error(path, f"is corrupt ({error})") from error
    if hashing != NGRAM_HASHING:
        raise _weights_error(path, f"was trained with n-gram hashing {hashing!r}; this code hashes with {NGRAM_HASHING!r}")
    return linear, blend


@functools.cache
def shipped_fingerprint() -> str:
    """The fingerprint ``SentimentModel.load()`` gives the shipped files, without loading the network
    (a page that only asks which shop heads are current should not load a model)."""
    return files_fingerprint([WEIGHTS_PATH, VOCAB_PATH, LINEAR_PATH])


def files_fingerprint(paths: Sequence[Path]) -> str:
    """The first 16 hex digits of the SHA-256 of the files' contents, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _weights_error(path: Path, problem: str) -> SentimentWeightsError:
    return SentimentWeightsError(
        f"Sentiment model file {path} {problem}. Retrain and rewrite it with: {RETRAIN_COMMAND}"
    )


def _read_vocab_document(path: Path) -> dict:
    if not path.is_file():
        raise _weights_error(path, "is missing")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _weights_error(path, f"is corrupt ({error})") from error
    if not isinstance(document, dict):
        raise _weights_error(path, "is corrupt (not a JSON object)")
    return document


def _read_state_dict(path: Path, network: TextCNN) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise _weights_error(path, "is missing")
    try:
        state = {name: tensor.float() for name, tensor in load_file(str(path)).items()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise _weights_error(path, f"is corrupt ({error})") from error
    expected = {name: tensor.shape for name, tensor in network.state_dict().items()}
    found = {name: tensor.shape for name, tensor in state.items()}
    if expected != found:
        raise _weights_error(path, "does not match its vocabulary file (different shapes)")
    return state
