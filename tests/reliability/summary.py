"""Rows of the reliability summary table, collected across the run and printed at its end."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

COLUMNS = ("sent", "stored", "lost", "duplicated", "errors_5xx", "p95_ms")


@dataclass
class ReliabilityRow:
    test: str
    sent: int | None = None
    stored: int | None = None
    lost: int | None = None
    duplicated: int | None = None
    errors_5xx: int | None = None
    p95_ms: float | None = None
    passed: bool = True
    notes: str = ""
    extra: dict = field(default_factory=dict)


ROWS: list[ReliabilityRow] = []


def record_row(test: str, **figures) -> ReliabilityRow:
    known = {name: figures.pop(name) for name in [*COLUMNS, "passed", "notes"] if name in figures}
    row = ReliabilityRow(test=test, **known, extra=figures)
    ROWS.append(row)
    return row


def render_table(rows: list[ReliabilityRow]) -> str:
    header = ["test", *COLUMNS, "result", "notes"]
    body = [[_short(row.test), *(_cell(getattr(row, c)) for c in COLUMNS),
             "PASS" if row.passed else "FAIL", row.notes] for row in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(line, widths)) for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(path: str, rows: list[ReliabilityRow]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump([asdict(row) for row in rows], out, indent=2, default=str)


def _short(nodeid: str) -> str:
    return nodeid.removeprefix("tests/reliability/")


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def json_path() -> str | None:
    return os.environ.get("RELIABILITY_JSON") or None
