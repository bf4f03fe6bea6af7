"""Charts of the dashboard as inline SVG, drawn on the server: a hand-made bar chart for the
overview, matplotlib for the persona figures (seed 000 Fig. 3 and Fig. 4).

The persona figures read every event (weekly behaviour) or run t-SNE (the customer map), so they
are cached per shop and clustering version; a re-fit of the personas draws them anew."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from django.core.cache import cache
from matplotlib.ticker import FuncFormatter
from django.utils.html import escape

from profiles.models import Persona, Shop
from profiles.personas import charts
from shop_ai.dashboard.selectors import DayCount, clustering_version

CACHE_SECONDS = 15 * 60
MAP_POINTS = 1000  # t-SNE runs in the request on first view; a thousand dots show the shape in seconds
LOG_SCALE_FROM = 100  # events on the busiest weekday; below it a linear axis reads better
ACCENT, MUTED, INK = "#9a2b1d", "#b3aa9e", "#1f2328"
BEHAVIOUR_COLOURS = {"view": "#2f5d8a", "add_to_cart": "#b5651d", "purchase": ACCENT}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    day: DayCount


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    bar_width: float
    peak: int


def day_bars(days: list[DayCount], *, height: int = 80, step: int = 10) -> BarChart:
    """Geometry of a bar per day, scaled to the busiest day (the template draws the SVG)."""
    peak = max((day.count for day in days), default=0)
    bars = []
    for index, day in enumerate(days):
        bar_height = round(height * day.count / peak, 1) if peak else 0
        bars.append(Bar(x=index * step + 1, y=height - bar_height, height=bar_height, day=day))
    return BarChart(bars=bars, width=len(days) * step, height=height, bar_width=step - 2, peak=peak)


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    figure.patch.set_alpha(0)
    return figure


def _svg(figure, *, title: str, salt: str) -> str:
    """The figure as an <svg> element that scales with its container, text kept as text."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DejaVu lacks CJK glyphs; the browser draws the text, not matplotlib
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    svg = text[text.index("<svg"):]
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)
    return svg.replace("<svg", f'<svg role="img" aria-label="{escape(title)}" class="chart"', 1)


def weekly_behaviour_svg(*, shop: Shop) -> str:
    key = f"dashboard:weekly:{clustering_version(shop=shop)}"
    svg = cache.get(key)
    if svg is None:
        svg = _weekly_behaviour(shop)
        cache.set(key, svg, CACHE_SECONDS)
    return svg


def _weekly_behaviour(shop: Shop) -> str:
    counts = charts.weekly_behaviour(shop=shop)
    figure = _figure(6.4, 3.2)
    axes = figure.subplots()
    for kind, series in counts.items():
        axes.plot(charts.WEEKDAYS, series, marker="o", color=BEHAVIOUR_COLOURS[kind], label=kind.replace("_", " "))
    if max(max(series) for series in counts.values()) > LOG_SCALE_FROM:
        axes.set_yscale("symlog", linthresh=1)  # views outnumber purchases tenfold; zeros must still show
        axes.set_ylabel("events (log scale)")
    else:
        axes.set_ylabel("events")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    # Below the plot, never over the lines it explains.
    axes.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(counts))
    axes.spines[["top", "right"]].set_visible(False)
    summary = ", ".join(f"{kind.replace('_', ' ')} peaks on {charts.WEEKDAYS[series.index(max(series))]}"
                        for kind, series in counts.items() if any(series))
    return _svg(figure, title=f"Events by day of the week. {summary or 'No events yet.'}", salt="weekly")


def customer_map_svg(*, shop: Shop, persona: Persona) -> str:
    version = clustering_version(shop=shop)
    key = f"dashboard:map:{version}:{persona.id}"
    svg = cache.get(key)
    if svg is None:
        points_key = f"dashboard:map-points:{version}"
        mapped = cache.get(points_key)
        if mapped is None:
            mapped = charts.customer_map(shop=shop, max_points=MAP_POINTS)
            cache.set(points_key, mapped, CACHE_SECONDS)
        svg = _customer_map(mapped, persona)
        cache.set(key, svg, CACHE_SECONDS)
    return svg


def _customer_map(mapped: dict, persona: Persona) -> str:
    figure = _figure(5.2, 4.2)
    axes = figure.subplots()
    axes.set_xticks([]), axes.set_yticks([])
    points = mapped["points"]
    mine = [point for point in points if point["persona"] == persona.id]
    others = [point for point in points if point["persona"] != persona.id]
    if not points:
        axes.text(0.5, 0.5, mapped["note"] or "No customers to map yet.", ha="center", va="center", wrap=True,
                  color=INK, transform=axes.transAxes)
        return _svg(figure, title=f"Customer map: {mapped['note']}", salt=f"map-{persona.id}")
    axes.scatter([p["x"] for p in others], [p["y"] for p in others], s=6, color=MUTED, label="other customers")
    axes.scatter([p["x"] for p in mine], [p["y"] for p in mine], s=10, color=ACCENT, label="this persona")
    axes.legend(frameon=False, loc="best", markerscale=2)
    title = (f"t-SNE map of {len(points)} customers; {len(mine)} of them belong to this persona "
             "(closer points have more similar interests).")
    return _svg(figure, title=title, salt=f"map-{persona.id}")
