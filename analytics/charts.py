"""Server-side SVG charts of the benefit report, readable without JavaScript.

Text stays text in the SVG (`svg.fonttype = none`), so the browser draws Chinese titles with its
own fonts and screen readers can read the labels.
"""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

AI_COLOUR, CONTROL_COLOUR, RAW_COLOUR = "#b3261e", "#5f6368", "#e8a39d"
MAX_PANELS = 6
FOREST_CLIP_PERCENT = 300  # intervals beyond this are cut at the chart's edge


def _svg(figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings(), matplotlib.rc_context({"svg.fonttype": "none"}):
        warnings.simplefilter("ignore")  # missing CJK glyphs in matplotlib's own font: the browser draws them
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog so it can be inlined in HTML


def daily_revenue_chart(panel: pd.DataFrame, *, titles: dict[str, str], currency: str) -> str | None:
    """Seed 002 Fig. 6, with a control: daily net revenue of the largest assisted products (7-day mean),
    the day AI started, and the mean of unassisted products of the same category over the same days."""
    assisted = panel[panel["ever_assisted"]]
    if assisted.empty:
        return None
    top = assisted.groupby("product_id")["net_revenue"].sum().sort_values(ascending=False).index[:MAX_PANELS]
    columns = min(3, len(top))
    rows = (len(top) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False, sharex=True)
    for ax, product_id in zip(axes.flat, top):
        _product_panel(ax, panel, product_id, titles.get(product_id, product_id), currency)
    for ax in list(axes.flat)[len(top):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="upper left", fontsize=7, frameon=False)
    figure.autofmt_xdate()
    return _svg(figure)


def _product_panel(ax, panel: pd.DataFrame, product_id: str, title: str, currency: str) -> None:
    days = panel[panel["product_id"] == product_id].set_index("day").sort_index()
    category = days["category"].iloc[0]
    control = panel[(panel["category"] == category) & ~panel["ever_assisted"]]
    ax.plot(days.index, days["net_revenue"], color=RAW_COLOUR, linewidth=0.8, label="daily")
    ax.plot(days.index, days["net_revenue"].rolling(7, min_periods=1).mean(), color=AI_COLOUR, linewidth=1.8,
            label="7-day mean")
    if not control.empty:
        control_mean = control.groupby("day")["net_revenue"].mean().rolling(7, min_periods=1).mean()
        ax.plot(control_mean.index, control_mean.values, color=CONTROL_COLOUR, linewidth=1.4, linestyle="--",
                label=f"unassisted {category.replace('_', ' ')} (mean)")
    started = days.index[days["assisted"]]
    if len(started):
        ax.axvline(started[0], color="black", linewidth=1, linestyle=":")
        ax.annotate("AI listings live", (started[0], ax.get_ylim()[1]), fontsize=7, va="top", ha="left",
                    xytext=(3, -2), textcoords="offset points")
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(f"net revenue / day ({currency})", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)


def forest_plot(lifts: list[tuple[str, float, float, float]], *, pooled: tuple[str, float, float, float] | None) -> str | None:
    """Per-product lifts with 95 % CIs (label, lift, low, high), the pooled estimate last, a line at 0."""
    rows = [row for row in lifts if row[1] is not None] + ([pooled] if pooled else [])
    if not rows:
        return None
    figure, ax = plt.subplots(figsize=(6.5, 0.32 * len(rows) + 1.0))
    for position, (label, lift, low, high) in enumerate(reversed(rows)):
        is_pooled = pooled is not None and position == 0
        colour = "black" if is_pooled else AI_COLOUR
        ax.errorbar(lift * 100, position, xerr=[[max(0.0, (lift - low) * 100)], [max(0.0, (high - lift) * 100)]],
                    fmt="D" if is_pooled else "o", color=colour, markersize=6 if is_pooled else 4, capsize=2)
    ax.axvline(0, color=CONTROL_COLOUR, linewidth=1)
    # One tiny product's interval can reach thousands of percent and flatten everyone else onto 0.
    right = min(max(high for _, _, _, high in rows) * 100, FOREST_CLIP_PERCENT)
    ax.set_xlim(max(-100, min(low for _, _, low, _ in rows) * 100) - 5, right + 5)
    ax.set_yticks(range(len(rows)), [row[0] for row in reversed(rows)], fontsize=7)
    ax.set_xlabel("lift in net revenue per day, % (95 % CI)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(figure)
