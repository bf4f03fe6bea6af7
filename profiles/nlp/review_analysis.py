"""Everything we can say about a review text, for one text, a batch, or a CSV export.

- ``analyse_texts(texts) -> list[ReviewAnalysis]``: sentiment (probability positive and pos/neg
  label), demand (is_demand, demand type L0-L5) and keywords per text, batched.
- ``analyse_csv(input_path, output_path)``: what ``manage.py analyze_reviews`` does; reads a CSV
  with a ``text`` column (UTF-8, UTF-8 with BOM or GB18030), keeps every other column, and adds
  ``sentiment``, ``label``, ``is_demand``, ``demand_type``, ``keywords``.

A text with no words at all (empty, only emoji or punctuation) gets no sentiment and no label
(blank in the CSV): the model would only be guessing. No Django imports here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from profiles.nlp.demand import DemandClassifier
from profiles.nlp.keywords import text_keywords
from profiles.nlp.segmentation import clean_text, tokens
from profiles.nlp.sentiment import SentimentModel

TEXT_COLUMN = "text"
OUTPUT_COLUMNS = ("sentiment", "label", "is_demand", "demand_type", "keywords")
KEYWORDS_PER_REVIEW = 5
CSV_CHUNK_ROWS = 2000
_CSV_ENCODINGS = ("utf-8-sig", "gb18030")


class MissingTextColumnError(ValueError):
    """The input CSV has no ``text`` column."""


@dataclass(frozen=True)
class ReviewAnalysis:
    sentiment: float | None  # probability positive; None when the text has no words
    label: str | None  # "pos" / "neg"; None when the text has no words
    is_demand: bool
    demand_type: str | None
    keywords: list[str]


def analyse_texts(texts: Sequence[object], *, keywords_per_text: int = KEYWORDS_PER_REVIEW,
                  sentiment_model=None) -> list[ReviewAnalysis]:
    """Sentiment, demand and keywords of each text, in input order. Never raises on odd texts.

    ``sentiment_model``: anything with ``predict_proba`` (a shop's own model); the shipped one when None."""
    cleaned = [clean_text(text) for text in texts]
    has_words = [bool(tokens(text)) for text in cleaned]
    worded = [text for text, ok in zip(cleaned, has_words) if ok]
    model = sentiment_model or SentimentModel.load()
    probabilities = iter(model.predict_proba(worded).tolist() if worded else [])
    demands = DemandClassifier.load().predict_reviews(cleaned)
    results = []
    for text, ok, demand in zip(cleaned, has_words, demands):
        probability = next(probabilities) if ok else None
        results.append(
            ReviewAnalysis(
                sentiment=probability,
                label=None if probability is None else ("pos" if probability >= 0.5 else "neg"),
                is_demand=demand.is_demand,
                demand_type=demand.demand_type,
                keywords=[word for word, _ in text_keywords(text, top_k=keywords_per_text)],
            )
        )
    return results


def _csv_cells(analysis: ReviewAnalysis) -> dict[str, str]:
    return {
        "sentiment": "" if analysis.sentiment is None else f"{analysis.sentiment:.4f}",
        "label": analysis.label or "",
        "is_demand": "true" if analysis.is_demand else "false",
        "demand_type": analysis.demand_type or "",
        "keywords": ", ".join(analysis.keywords),
    }


def read_csv_text(path: Path) -> str:
    """The file decoded as UTF-8 (BOM or not), else GB18030, else UTF-8 with replacements."""
    raw = Path(path).read_bytes()
    for encoding in _CSV_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def _chunks(rows: Iterator[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    chunk: list[dict[str, str]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def analyse_csv(
    input_path: Path,
    output_path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    sentiment_model=None,
) -> int:
    """Analyse every row's ``text`` and write the CSV with the added columns; returns the row count.

    ``progress(n)`` is called after each chunk with the rows just done (the command feeds tqdm).
    Existing columns named like an output column are overwritten. Raises
    ``MissingTextColumnError`` when there is no ``text`` column.
    """
    csv.field_size_limit(2**31 - 1)  # a pasted novel in one cell must not stop the export
    reader = csv.DictReader(io.StringIO(read_csv_text(input_path), newline=""))
    columns = list(reader.fieldnames or [])
    if TEXT_COLUMN not in columns:
        raise MissingTextColumnError(
            f"{input_path} has no '{TEXT_COLUMN}' column (found: {', '.join(columns) or 'no header'})"
        )
    output_columns = columns + [column for column in OUTPUT_COLUMNS if column not in columns]
    written = 0
    with open(output_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=output_columns, extrasaction="ignore")
        writer.writeheader()
        for chunk in _chunks(iter(reader), CSV_CHUNK_ROWS):
            analyses = analyse_texts([row.get(TEXT_COLUMN) or "" for row in chunk], sentiment_model=sentiment_model)
            for row, analysis in zip(chunk, analyses):
                row = {key: ("" if value is None else value) for key, value in row.items() if key is not None}
                writer.writerow({**row, **_csv_cells(analysis)})
            written += len(chunk)
            if progress is not None:
                progress(len(chunk))
    return written


def count_csv_rows(path: Path) -> int:
    """Data rows of a CSV (for a progress bar total); quoted newlines are handled."""
    csv.field_size_limit(2**31 - 1)
    return max(0, sum(1 for _ in csv.reader(io.StringIO(read_csv_text(path), newline=""))) - 1)
