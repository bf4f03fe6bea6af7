"""The data behind seed 000's Fig. 3 (weekly behaviour) and Fig. 4 (t-SNE of customers), per shop,
and PNG renderings of both for `recompute_personas --charts`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from profiles.models import CustomerProfile, Event, Shop
from profiles.personas import clustering

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BEHAVIOUR_TYPES = ("view", "add_to_cart", "purchase")
DEMAND_LABELS = {"L0": "functional", "L1": "emotional", "L2": "cultural", "L3": "social",
                 "L4": "investment", "L5": "environmental"}


def weekly_behaviour(*, shop: Shop) -> dict[str, list[int]]:
    """{event type: [Mon … Sun counts]} over the shop's whole history, in the shop's time zone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(shop.timezone)
    counts = {kind: [0] * 7 for kind in BEHAVIOUR_TYPES}
    rows = Event.objects.filter(shop=shop, type__in=BEHAVIOUR_TYPES).values_list("type", "occurred_at")
    for kind, moment in rows.iterator(chunk_size=5000):
        counts[kind][moment.astimezone(zone).weekday()] += 1
    return counts


def customer_map(*, shop: Shop, max_points: int = 2000, seed: int = 0) -> dict:
    """2-D t-SNE of customer vectors with each customer's dominant demand type and persona."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    profiles = list(CustomerProfile.objects.filter(shop=shop, persona__is_new_visitors=False)
                    .exclude(keywords={}).only("keywords", "demand_mix", "persona_id")[:max_points])
    if len(profiles) < 5:
        return {"points": [], "note": "Fewer than 5 profiled customers: nothing to map yet."}
    keywords = [p.keywords for p in profiles]
    vectors = clustering.build_vocabulary(keywords).embed(keywords)
    if vectors.shape[1] < 2:  # t-SNE's PCA start needs two dimensions to project from
        return {"points": [], "note": "Customers share fewer than 2 keywords: nothing to map yet."}
    perplexity = float(min(30, max(2, len(profiles) // 4)))
    # One thread: OpenMP threads spin-wait for each other, and beside a busy worker or web process
    # 400 customers took 60 s with two threads and 9 s with one (measured on this 2-core machine).
    with threadpool_limits(limits=1):
        xy = TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca",
                  max_iter=500).fit_transform(vectors)
    points = [
        {"x": round(float(x), 3), "y": round(float(y), 3), "persona": p.persona_id,
         "demand": max(p.demand_mix, key=p.demand_mix.get) if p.demand_mix else None}
        for (x, y), p in zip(xy, profiles)
    ]
    return {"points": points, "note": ""}


def write_charts(*, shop: Shop, directory: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    behaviour = weekly_behaviour(shop=shop)
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, counts in behaviour.items():
        ax.plot(WEEKDAYS, counts, marker="o", label=kind.replace("_", " "))
    ax.set_title(f"{shop.name}: behaviour by day of week")
    ax.set_ylabel("events")
    ax.set_yscale("log")
    ax.legend()
    weekly = directory / "weekly_behaviour.png"
    fig.tight_layout()
    fig.savefig(weekly, dpi=110)
    plt.close(fig)

    mapped = customer_map(shop=shop)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    points = mapped["points"]
    demand_colours = {code: index for index, code in enumerate(DEMAND_LABELS)}
    for ax, key, title in ((axes[0], "demand", "by dominant demand type (before clustering)"),
                           (axes[1], "persona", "by persona (after clustering)")):
        groups = Counter(p[key] for p in points)
        for group in sorted(groups, key=str):
            xs = [p["x"] for p in points if p[key] == group]
            ys = [p["y"] for p in points if p[key] == group]
            label = DEMAND_LABELS.get(group, "no demand stated") if key == "demand" else f"persona {group}"
            ax.scatter(xs, ys, s=8, label=label,
                       color=plt.cm.tab10(demand_colours.get(group, 9) if key == "demand" else hash(group) % 10))
        ax.set_title(title)
        ax.set_xticks([]), ax.set_yticks([])
        ax.legend(fontsize=7, markerscale=2)
    fig.suptitle(f"{shop.name}: customers, t-SNE" + (f" — {mapped['note']}" if mapped["note"] else ""))
    tsne = directory / "customer_tsne.png"
    fig.tight_layout()
    fig.savefig(tsne, dpi=110)
    plt.close(fig)
    return [weekly, tsne]
