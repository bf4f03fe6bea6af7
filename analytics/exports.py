"""The benefit report as plain data (the API's JSON) and as CSV (one row per product, same numbers)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, is_dataclass
from datetime import date

from analytics.experiments import ProductTest
from analytics.kansei import KanseiMatrix
from analytics.reports import BenefitReport, ProductBenefit

CSV_COLUMNS = [
    "product_id", "title", "category", "assisted_from", "assisted_until", "days_before", "days_after",
    "mean_net_revenue_per_day_before", "mean_net_revenue_per_day_after",
    "before_after_lift", "before_after_ci_low", "before_after_ci_high", "before_after_p_value",
    "did_lift", "did_ci_low", "did_ci_high", "did_p_value", "did_effect_per_day", "did_method",
    "days_in_window", "mean_net_revenue_per_day",
    "holdout_cuped_lift", "holdout_cuped_ci_low", "holdout_cuped_ci_high", "holdout_cuped_p_value",
    "always_valid_ci_low", "always_valid_ci_high", "always_valid_p_value", "decision", "decision_days_more",
    "decision_sentence",
]
POOLED_ROW_ID = "pooled"


def _plain(value):
    if is_dataclass(value):
        return {key: _plain(item) for key, item in asdict(value).items()}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def kansei_as_dict(matrix: KanseiMatrix) -> dict:
    return {
        "scale": {"low": matrix.scale[0], "high": matrix.scale[1],
                  "meaning": "1 = not at all <word>, 7 = very <word> (7-point semantic differential)"},
        "words": matrix.words,
        "designs": [{"key": d.key, "product_id": d.product_id, "label": d.label,
                     "scores": {word: {"mean": c.mean, "n": c.n} for word, c in d.cells.items()}}
                    for d in matrix.designs],
        "best_design_per_word": matrix.best,
    }


def experiment_as_dict(report: BenefitReport) -> dict:
    """Checks, CUPED beside unadjusted, the always-valid interval and the pooled decision."""
    experiment = report.experiment
    if experiment is None:
        return {}
    return {
        "mode": "a/a" if experiment.aa else "variant vs holdout",
        "sample_ratio": {**_plain(experiment.sample_ratio), "message": experiment.sample_ratio.message},
        "trusted": experiment.trusted,
        "exposures": _plain(experiment.exposures), "exposure_notes": experiment.exposure_notes,
        "cuped": {name: _plain(adjusted) for name, adjusted in experiment.adjusted.items()},
        "always_valid": _plain(experiment.sequential), "decision": _plain(experiment.decision),
        "smallest_lift_worth_having": experiment.smallest_lift, "safe_to_peek": experiment.peek_note,
    }


def report_as_dict(report: BenefitReport) -> dict:
    return {
        "shop": report.shop, "currency": report.currency, "start": report.start.isoformat(),
        "end": report.end.isoformat(), "category": report.category, "headline": report.headline,
        "estimates": _plain(report.estimates), "power": _plain(report.power),
        "products": [_plain(row) for row in report.products], "kansei": kansei_as_dict(report.kansei),
        "kansei_profiles": _plain(report.kansei_profiles),
        "notes": report.notes, "sequential": report.sequential, "experiment": experiment_as_dict(report),
        "decisions": decisions_as_list(report),
    }


def decisions_as_list(report: BenefitReport) -> list[dict]:
    """keep / stop / keep testing, pooled first, then per product (from the always-valid intervals)."""
    experiment = report.experiment
    rows = []
    if experiment is not None and experiment.decision is not None:
        rows.append({"product_id": POOLED_ROW_ID, **_plain(experiment.decision)})
    for row in report.products:
        if row.holdout_test is not None:
            rows.append({"product_id": row.product_id, **_plain(row.holdout_test.decision)})
    return rows


def _estimate_cells(estimate) -> list:
    if estimate is None:
        return ["", "", "", ""]
    return [_rounded(estimate.lift), _rounded(estimate.ci_low), _rounded(estimate.ci_high), _rounded(estimate.p_value)]


def _rounded(value) -> str:
    return "" if value is None else f"{value:.6f}"


def _blank(value) -> object:
    return "" if value is None else value


def _csv_row(row: ProductBenefit) -> list:
    did = row.difference_in_differences
    return [row.product_id, row.title, row.category, row.assisted_from or "", row.assisted_until or "",
            _blank(row.days_before), _blank(row.days_after),
            "" if row.mean_before is None else f"{row.mean_before:.2f}",
            "" if row.mean_after is None else f"{row.mean_after:.2f}",
            *_estimate_cells(row.before_after), *_estimate_cells(did),
            "" if did is None or did.effect_per_day is None else f"{did.effect_per_day:.2f}",
            "" if did is None else did.method,
            row.days_in_window, "" if row.mean_per_day is None else f"{row.mean_per_day:.2f}",
            *_test_cells(row.holdout_test)]


def _test_cells(test) -> list:
    if test is None:
        return ["", "", "", "", "", "", "", "", "", ""]
    always_valid = test.sequential
    return [*_estimate_cells(test.estimate),
            *([_rounded(always_valid.ci_low), _rounded(always_valid.ci_high), _rounded(always_valid.p_value)]
              if always_valid else ["", "", ""]),
            test.decision.action, _blank(test.decision.days_more), test.decision.sentence]


def report_as_csv(report: BenefitReport) -> str:
    """UTF-8 with a BOM so spreadsheet programs read Chinese titles correctly."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in report.products:
        writer.writerow(_csv_row(row))
    experiment = report.experiment
    if experiment is not None and experiment.decision is not None:  # the pooled test, in the same columns
        pooled = experiment.adjusted["revenue"].adjusted
        cells = _test_cells(ProductTest(pooled, experiment.sequential, experiment.decision))
        writer.writerow([POOLED_ROW_ID, "all exposed products (pooled)", *[""] * (len(CSV_COLUMNS) - 2 - len(cells)),
                         *cells])
    return buffer.getvalue()
