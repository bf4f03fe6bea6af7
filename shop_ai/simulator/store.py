"""A store with hidden truth (DESIGN §6): shoppers with latent personas view, cart, buy, refund
and review; their events enter shop-ai through the same ingestion service the API uses.

The purchase model is explicit (`purchase_probability`), so later issues know the true lift
of showing a shopper an image in their own style.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from generation.rendering import style_for
from shop_ai.simulator.catalogue import SimProduct, make_catalogue, product_photo_png
from shop_ai.simulator.personas import ARCHETYPES, customer_vector
from shop_ai.simulator.texts import review_text

# Monday..Sunday (seed 000 Fig. 3: activity climbs towards the weekend).
DAY_WEIGHTS = np.array([0.85, 0.8, 0.85, 0.9, 1.05, 1.3, 1.25])
PROMOTION_BOOST = {0: 2.5, -1: 1.5, -2: 1.3}  # the promotion day and the days before it
LIGHT_SHARE, HEAVY_SHARE = 0.35, 0.2
EVENTS_PER_SESSION = 3.3  # measured mean of the session model below, used to hit --interactions
BATCH_SIZE = 500


def purchase_probability(style_match: float) -> float:
    """P(purchase | cart): the closer the shown image's style to the shopper's taste, the likelier."""
    return 0.30 + 0.35 * style_match


def cart_probability(theme_match: bool, style_match: float) -> float:
    return 0.10 + 0.20 * theme_match + 0.10 * style_match


def refund_probability(style_match: float) -> float:
    return 0.04 + 0.08 * (1 - style_match)


REVIEW_PROBABILITY = 0.5
ON_THEME_SHARE = 0.7  # a view picks a product of the shopper's own theme this often, else any product
OWN_DEMAND_SHARE = 0.8  # a review's demand sentence is of the shopper's own demand type this often


def positive_review_probability(style_match, sentiment):
    """P(a review is positive); takes numbers or numpy arrays (the ceiling scores every style at once)."""
    return np.clip(0.55 + 0.3 * style_match + 0.15 * sentiment, 0.05, 0.95)


@dataclass
class SimulationConfig:
    customers: int = 300
    products: int = 60
    weeks: int = 6
    seed: int = 7
    interactions: int | None = None
    images: bool = True
    image_size: int = 256  # the smallest photo generation stages (generation.imaging.photo_input)
    end: datetime | None = None
    period: int = 0  # 0: the shop's history; 1, 2, …: later periods of the same shoppers and catalogue
    promotion: bool = True  # False: a period without a promotion
    # Extra sessions the promotion brings, as a share of each shopper's sessions in the period; 0:
    # it only moves visits onto its days, so a period's total revenue does not depend on it.
    promotion_traffic: float = 0.0
    light_share: float = LIGHT_SHARE  # one-visit shoppers (1-2 views, rarely more)


@dataclass
class SimulationResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    event_counts: dict = field(default_factory=dict)
    truth_path: str = ""
    first_day: str = ""
    last_day: str = ""


@dataclass
class SimCustomer:
    customer_id: str
    archetype: int
    vector: np.ndarray
    style: tuple
    sessions: int
    light: bool = False  # a one-visit shopper: one short session (a third of customers, seed 000 §4)


def _style_key(vector) -> tuple:
    style = style_for(vector)
    return style.palette, style.motif, style.density


def style_match(customer_style: tuple, shown_style: tuple) -> float:
    return 0.5 * (customer_style[0] == shown_style[0]) + 0.35 * (customer_style[1] == shown_style[1]) \
        + 0.15 * (customer_style[2] == shown_style[2])


def _session_counts(config: SimulationConfig, rng: np.random.Generator) -> np.ndarray:
    shares = [config.light_share, 1 - config.light_share - HEAVY_SHARE, HEAVY_SHARE]
    kinds = rng.choice(3, size=config.customers, p=shares)
    regular = rng.poisson(3, config.customers) + 1
    heavy = rng.poisson(8, config.customers) + 2
    if config.interactions:
        wanted_sessions = config.interactions / EVENTS_PER_SESSION - (kinds == 0).sum()
        current = regular[kinds == 1].sum() + heavy[kinds == 2].sum()
        scale = max(wanted_sessions, 1) / max(current, 1)
        regular = np.maximum(1, np.round(regular * scale)).astype(int)
        heavy = np.maximum(2, np.round(heavy * scale)).astype(int)
    return np.where(kinds == 0, 0, np.where(kinds == 1, regular, heavy))


def make_customers(config: SimulationConfig, rng: np.random.Generator) -> list[SimCustomer]:
    sessions = _session_counts(config, rng)
    customers = []
    for number in range(config.customers):
        archetype = int(rng.integers(len(ARCHETYPES)))
        vector = customer_vector(ARCHETYPES[archetype], rng)
        light = sessions[number] == 0
        customers.append(SimCustomer(f"sim-c{number:05d}", archetype, vector, _style_key(vector),
                                     max(1, int(sessions[number])), light=bool(light)))
    return customers


def promotion_days(days: list[datetime]) -> dict[int, float]:
    """{day index: boost} of the promotion, ten days before the end of the period."""
    promotion = len(days) - 10 if len(days) > 14 else len(days) // 2
    return {promotion + offset: boost for offset, boost in PROMOTION_BOOST.items() if 0 <= promotion + offset < len(days)}


def day_weights(days: list[datetime], promotion: bool = True) -> np.ndarray:
    weights = np.array([DAY_WEIGHTS[day.weekday()] for day in days])
    for index, boost in (promotion_days(days) if promotion else {}).items():
        weights[index] *= boost
    return weights / weights.sum()


class EventWriter:
    """Builds events in the API's JSON shape, with ids that are stable for a given seed."""

    def __init__(self, seed: int, end: datetime, period: int = 0):
        self.prefix = f"sim{seed}" if period == 0 else f"sim{seed}p{period}"
        self.end = end
        self.events: list[dict] = []

    def add(self, kind: str, customer: SimCustomer, at: datetime, product: SimProduct | None = None,
            **extra) -> dict | None:
        """The event added, or None when it falls after the end of the period."""
        if at > self.end:
            return None
        event = {"event_id": f"{self.prefix}-{len(self.events)}", "type": kind,
                 "customer_id": customer.customer_id, "occurred_at": at.isoformat()}
        if product is not None:
            event["product_id"] = product.product_id
        event.update(extra)
        self.events.append(event)
        return event


@dataclass(frozen=True)
class SimView:
    """One simulated product view: who, what, the house photo's style and the style shown (None: house)."""

    customer: SimCustomer
    product: SimProduct
    house_style: tuple
    shown_style: tuple | None
    at: datetime


ShownStyle = Callable[["SimCustomer", "SimProduct", datetime], "tuple | None"]


class StoreSimulation:
    """`shown_style(customer, product, at)` says which style the storefront showed (None: the house
    photo); purchases follow the style that was shown, which is how variants change revenue."""

    def __init__(self, config: SimulationConfig, shown_style: ShownStyle | None = None,
                 view_log: list | None = None):
        self.config = config
        self.shown_style = shown_style
        self.view_log = view_log  # if given, every view is appended as a `SimView` (for the true effect)
        self.rng = np.random.default_rng(config.seed)
        self.end = (config.end or datetime.now(timezone.utc)).astimezone(timezone.utc)
        start = (self.end - timedelta(weeks=config.weeks)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.days = [start + timedelta(days=offset) for offset in range(config.weeks * 7)]
        self.products = make_catalogue(config.products, self.rng)
        self.product_styles = [_style_key(product.house_vector) for product in self.products]
        self.by_theme = [[i for i, p in enumerate(self.products) if p.theme == t] for t in range(len(ARCHETYPES))]
        self.customers = make_customers(config, self.rng)
        self.writer = EventWriter(config.seed, self.end, config.period)
        self.review_demands: dict[str, str] = {}  # review event id -> the demand type its text was written for
        if config.period:  # same shoppers and catalogue, new behaviour
            self.rng = np.random.default_rng([config.seed, config.period])

    def _pick_product(self, customer: SimCustomer) -> int:
        themed = self.by_theme[customer.archetype]
        if themed and self.rng.random() < ON_THEME_SHARE:
            return themed[int(self.rng.integers(len(themed)))]
        return int(self.rng.integers(len(self.products)))

    def _session(self, customer: SimCustomer, start: datetime) -> None:
        at = start
        views = 1 + int(self.rng.random() < 0.4) if customer.light else 1 + self.rng.poisson(1.5)
        for _ in range(views):
            index = self._pick_product(customer)
            product = self.products[index]
            at += timedelta(seconds=int(self.rng.integers(20, 240)))
            self.writer.add("view", customer, at, product)
            shown = self.shown_style(customer, product, at) if self.shown_style else None
            match = style_match(customer.style, shown or self.product_styles[index])
            if self.view_log is not None and at <= self.end:
                self.view_log.append(SimView(customer, product, self.product_styles[index], shown, at))
            if self.rng.random() < cart_probability(product.theme == customer.archetype, match):
                self._cart_and_beyond(customer, product, match, at)

    def _cart_and_beyond(self, customer: SimCustomer, product: SimProduct, match: float, at: datetime) -> None:
        quantity = 1 + int(self.rng.random() < 0.15)
        at += timedelta(seconds=int(self.rng.integers(10, 120)))
        self.writer.add("add_to_cart", customer, at, product, quantity=quantity)
        if self.rng.random() >= purchase_probability(match):
            return
        at += timedelta(seconds=int(self.rng.integers(30, 600)))
        self.writer.add("purchase", customer, at, product, quantity=quantity, unit_price=str(product.price))
        if self.rng.random() < refund_probability(match):
            later = at + timedelta(days=int(self.rng.integers(1, 7)))
            self.writer.add("refund", customer, later, product, quantity=quantity, unit_price=str(product.price))
        elif self.rng.random() < REVIEW_PROBABILITY:
            self._review(customer, product, match, at)

    def _review(self, customer: SimCustomer, product: SimProduct, match: float, at: datetime) -> None:
        archetype = ARCHETYPES[customer.archetype]
        positive = self.rng.random() < positive_review_probability(match, archetype.sentiment)
        demand = archetype.demand if self.rng.random() < OWN_DEMAND_SHARE else f"L{int(self.rng.integers(6))}"
        text = review_text(positive=bool(positive), demand=demand, item=product.item_name, craft=product.craft,
                           rng=self.rng)
        rating = int(self.rng.integers(4, 6)) if positive else int(self.rng.integers(1, 3))
        later = at + timedelta(days=int(self.rng.integers(1, 6)), minutes=int(self.rng.integers(0, 600)))
        review = self.writer.add("review", customer, later, product, text=text, rating=rating)
        if review is not None:
            self.review_demands[review["event_id"]] = demand

    def generate_events(self) -> list[dict]:
        weights = day_weights(self.days, self.config.promotion)
        for customer in self.customers:
            for day_index in self.rng.choice(len(self.days), size=customer.sessions, p=weights):
                self._session_on(customer, day_index)
        if self.config.promotion and self.config.promotion_traffic > 0:
            self._promotion_sessions()
        self.writer.events.sort(key=lambda event: event["occurred_at"])
        return self.writer.events

    def _session_on(self, customer: SimCustomer, day_index: int) -> None:
        hour = int(self.rng.choice(24, p=HOUR_WEIGHTS))
        self._session(customer, self.days[day_index] + timedelta(hours=hour, minutes=int(self.rng.integers(60))))

    def _promotion_sessions(self) -> None:
        """Shoppers who come back for the promotion: extra sessions on its days, beyond the period's."""
        boosts = promotion_days(self.days)
        indices, weights = list(boosts), np.array(list(boosts.values()))
        for customer in self.customers:
            extra = self.rng.poisson(customer.sessions * self.config.promotion_traffic)
            for day_index in self.rng.choice(indices, size=extra, p=weights / weights.sum()):
                self._session_on(customer, int(day_index))

    def truth(self) -> dict:
        return {
            "seed": self.config.seed,
            "config": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self.config).items()},
            "archetypes": [{"key": a.key, "demand": a.demand, "label": a.label, "themes": a.themes}
                           for a in ARCHETYPES],
            "purchase_model": "P(purchase|cart) = 0.30 + 0.35 * style_match(shown image, shopper); "
                              "style_match = 0.5 palette + 0.35 motif + 0.15 density agreement",
            "customers": {c.customer_id: {"archetype": ARCHETYPES[c.archetype].key,
                                          "demand": ARCHETYPES[c.archetype].demand,
                                          "vector": [round(float(x), 4) for x in c.vector],
                                          "style": list(c.style)} for c in self.customers},
            "products": {p.product_id: {"shape": p.shape, "theme": ARCHETYPES[p.theme].key, "craft": p.craft,
                                        "seed": p.seed, "house_vector": [round(float(x), 4) for x in p.house_vector],
                                        "style": list(self.product_styles[i])}
                         for i, p in enumerate(self.products)},
            "review_demands": self.review_demands,
        }


HOUR_WEIGHTS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1, 1.5, 2, 2.2, 2.4,
                         2.6, 2.3, 2.2, 2.2, 2.4, 2.6, 3, 3.6, 4, 4, 3, 2], dtype=float)
HOUR_WEIGHTS /= HOUR_WEIGHTS.sum()


def write_truth(truth: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")


def _catalogue_rows(simulation: StoreSimulation, progress: bool) -> list:
    from profiles.services import ProductRow

    config = simulation.config
    rows = []
    for product in tqdm(simulation.products, desc="catalogue", unit="product", disable=not progress):
        image = product_photo_png(product, config.image_size) if config.images else None
        rows.append(ProductRow(product.product_id, product.title, f"{product.title}，{'、'.join(product.tags)}",
                               product.shape, product.price, product.tags, image))
    return rows


def _upload_catalogue(client, rows: list) -> None:
    for row in rows:
        client.upsert_product(row.external_id, title=row.title, description=row.description, category=row.category,
                              price=row.price, tags=row.tags, image=row.image_png)


def _send_batch(shop, client, batch: list[dict]) -> tuple[int, int, int]:
    """(accepted, duplicates, rejected): in-process through `events_ingest`, or over HTTP."""
    if client is not None:
        answer = client.send_events(batch)
        return answer.accepted, answer.duplicates, len(answer.rejected)
    from profiles.ingestion.services import events_ingest

    outcome = events_ingest(shop=shop, raw_events=batch, source="simulator")
    return outcome.accepted, outcome.duplicates, len(outcome.rejected)


def simulate_store(*, shop, config: SimulationConfig, truth_path: Path, progress: bool = True,
                   shown_style: ShownStyle | None = None, view_log: list | None = None,
                   client=None) -> SimulationResult:
    """Write the catalogue (history only), generate the events and send them through `events_ingest`.

    With `client` (a `shop_ai_connect.client.ShopAIClient` holding the shop's key) everything goes through
    the HTTP API instead, as a real store's would. In-process stays the default: the demo and the
    benchmarks simulate hundreds of thousands of events, and the API would add its JSON and HTTP
    round trips without changing what is stored."""
    simulation = StoreSimulation(config, shown_style, view_log)
    if config.period == 0:
        rows = _catalogue_rows(simulation, progress)
        if client is None:
            from profiles.services import products_import

            products_import(shop=shop, rows=rows)
        else:
            _upload_catalogue(client, rows)
    events = simulation.generate_events()
    result = SimulationResult(event_counts=dict(Counter(event["type"] for event in events)),
                              truth_path=str(truth_path), first_day=simulation.days[0].date().isoformat(),
                              last_day=simulation.end.date().isoformat())
    with tqdm(total=len(events), desc="events", unit="event", disable=not progress) as bar:
        for start in range(0, len(events), BATCH_SIZE):
            batch = events[start:start + BATCH_SIZE]
            accepted, duplicates, rejected = _send_batch(shop, client, batch)
            result.accepted += accepted
            result.duplicates += duplicates
            result.rejected += rejected
            bar.update(len(batch))
    write_truth(simulation.truth(), truth_path)
    return result
