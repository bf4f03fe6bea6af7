"""Revenue per product per day, recounted from the raw events one (product, day) cell at a time.

A cell is always rebuilt from every event that falls in it, never incremented, which is what makes
the rollup exact under replays (a duplicate event is not stored, so the recount is unchanged), late
events (the recount of their day picks them up) and redelivered messages (recounting twice writes
the same row). On Postgres a batch of cells is counted by one aggregate query; elsewhere
the events are summed in Python with Decimal, because SQLite sums numerics as floats.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q

from analytics.models import DailyProductStats, PendingRollupCell, RollupState
from profiles.models import Event, Product, Shop

MIXED_CURRENCIES = "XXX"  # ISO 4217's "no currency": a cell whose events disagree on the currency
VISIT_TYPES = ("view", "add_to_cart", "purchase")
MONEY_TYPES = ("purchase", "refund")
PRODUCTS_PER_QUERY = 200
CELLS_PER_SQL_COUNT = 1000  # cells counted by one query (four array parameters)
CELLS_PER_NOTE = 500  # cells noted by one INSERT … SELECT (two parameters each)
CELLS_PER_DRAIN = 100  # cells recounted in one transaction while the shop's lock is held
Cell = tuple[int, date]  # (product id, day in the shop's time zone)


@dataclass(frozen=True)
class CellTotals:
    """What one cell's row holds, however it was counted."""

    currency: str
    revenue: Decimal
    refunds: Decimal
    units: int
    refunded_units: int
    views: int
    carts: int
    purchases: int
    buyers: int
    visitors: int


@dataclass
class CellCounts:
    currencies: set = field(default_factory=set)
    revenue: Decimal = Decimal(0)
    refunds: Decimal = Decimal(0)
    units: int = 0
    refunded_units: int = 0
    views: int = 0
    carts: int = 0
    purchases: int = 0
    buyers: set = field(default_factory=set)
    visitors: set = field(default_factory=set)

    def add(self, kind: str, customer_id: int, quantity: int | None, unit_price: Decimal | None,
            currency: str) -> None:
        if kind in VISIT_TYPES:
            self.visitors.add(customer_id)
        if kind == "view":
            self.views += 1
        elif kind == "add_to_cart":
            self.carts += 1
        elif kind == "purchase":
            self.purchases += 1
            self.units += quantity or 1
            self.revenue += (quantity or 1) * (unit_price or 0)
            self.buyers.add(customer_id)
            self.currencies.add(currency)
        elif kind == "refund":
            self.refunded_units += quantity or 1
            self.refunds += (quantity or 1) * (unit_price or 0)
            self.currencies.add(currency)

    def totals(self, shop_currency: str) -> CellTotals:
        return CellTotals(
            currency=_cell_currency(len(self.currencies), min(self.currencies, default=""), shop_currency),
            revenue=self.revenue, refunds=self.refunds, units=self.units, refunded_units=self.refunded_units,
            views=self.views, carts=self.carts, purchases=self.purchases, buyers=len(self.buyers),
            visitors=len(self.visitors))


def _cell_currency(distinct: int, one_of_them: str, shop_currency: str) -> str:
    if distinct == 0:
        return shop_currency
    return one_of_them if distinct == 1 else MIXED_CURRENCIES


def shop_zone(shop: Shop) -> ZoneInfo:
    return ZoneInfo(shop.timezone)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in the zone, as aware datetimes (a DST day can be 23 or 25 h)."""
    return datetime.combine(day, time.min, zone), datetime.combine(day + timedelta(days=1), time.min, zone)


@transaction.atomic
def daily_stats_recount(*, shop: Shop, cells: set[Cell]) -> int:
    """Rebuild these cells from the events; returns how many rows were written or removed."""
    if not cells:
        return 0
    _lock_shop_rollup(shop)  # one recount per shop at a time: the later one reads what the earlier saw
    totals = cells_count(shop=shop, cells=cells)
    rows = [_stats_row(shop, cell, counted) for cell, counted in totals.items()]
    DailyProductStats.objects.bulk_create(
        rows, batch_size=500, update_conflicts=True, unique_fields=["shop", "product", "day"],
        update_fields=[f.name for f in DailyProductStats._meta.concrete_fields
                       if f.name not in ("id", "shop", "product", "day")],
    )
    gone = _cells_without_events(shop, cells - totals.keys())
    return len(rows) + gone


def cells_count(*, shop: Shop, cells: set[Cell]) -> dict[Cell, CellTotals]:
    """The totals of every cell that has events (the others are absent)."""
    if connection.vendor == "postgresql":
        return cells_count_in_sql(shop=shop, cells=cells)
    return cells_count_in_python(shop=shop, cells=cells)


def rollup_cells_note(*, shop: Shop, cells: set[Cell]) -> None:
    """Note the cells new events fell in; `rollup_pending_drain` recounts them.

    One INSERT … SELECT per chunk, joined on the shop's products: a product id that is not this
    shop's (another shop's, or deleted since) notes nothing, and no query is spent looking first."""
    ordered = sorted(cells)  # one lock order for every writer of the unique index
    for offset in range(0, len(ordered), CELLS_PER_NOTE):
        _note_chunk(shop, ordered[offset:offset + CELLS_PER_NOTE])


def _note_chunk(shop: Shop, cells: list[Cell]) -> None:
    quote = connection.ops.quote_name
    pending, product = PendingRollupCell._meta.db_table, Product._meta.db_table
    # Postgres types a VALUES column from its literals (text here), SQLite stores dates as ISO text.
    day = "CAST(%s AS date)" if connection.vendor == "postgresql" else "%s"
    rows = ", ".join([f"(%s, {day})"] * len(cells))
    params = [value for product_id, noted_day in cells for value in (int(product_id), noted_day.isoformat())]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(pending)} (shop_id, product_id, day, version) "
            f"SELECT p.shop_id, p.id, cells.column2, 0 FROM (VALUES {rows}) AS cells "
            f"JOIN {quote(product)} p ON p.id = cells.column1 "
            f"WHERE p.shop_id = %s ORDER BY cells.column1, cells.column2 "
            f"ON CONFLICT (shop_id, product_id, day) DO UPDATE SET version = {quote(pending)}.version + 1",
            [*params, shop.id])


def rollup_pending_drain(*, shop: Shop) -> int:
    """Recount the shop's pending cells until none is left; returns the rows written.

    When another worker holds the shop's lock this returns at once rather than tie up a thread:
    that worker looks for pending cells again after it lets go, so it recounts the ones noted
    meanwhile (every caller notes its cells before it tries the lock)."""
    return _drain(shop, deadline=None).rows


def rollup_pending_drain_for(*, shop: Shop, seconds: float) -> bool:
    """`rollup_pending_drain`, but it stops after the first slice that ends past `seconds` (under
    sustained load the pending cells never run out). True when it stopped with cells still pending
    and the lock free: the caller must see that someone carries on."""
    return _drain(shop, deadline=clock.monotonic() + seconds).unfinished


@dataclass
class _Drained:
    rows: int = 0
    unfinished: bool = False


def _drain(shop: Shop, deadline: float | None) -> _Drained:
    drained = _Drained()
    while PendingRollupCell.objects.filter(shop=shop).exists():
        rows = _drain_some(shop)
        if rows is None:
            break  # busy: the holder drains our cells when it looks again
        drained.rows += rows
        if deadline is not None and clock.monotonic() >= deadline:
            drained.unfinished = PendingRollupCell.objects.filter(shop=shop).exists()
            break
    return drained


@transaction.atomic
def _drain_some(shop: Shop) -> int | None:
    """One short transaction: lock the shop's rollup, read a slice of pending cells, recount them,
    then remove the pending rows that were not noted again meanwhile.

    Slices go round the pending ids from where the last one stopped: a row noted again keeps its
    id, and always starting from the lowest would recount the same busy cells forever."""
    RollupState.objects.get_or_create(shop=shop)
    state = RollupState.objects.select_for_update(skip_locked=True).filter(shop=shop).first()
    if state is None:
        return None
    slice_ = _pending_slice(shop, after_id=state.drained_through_id) or _pending_slice(shop, after_id=0)
    written = daily_stats_recount(shop=shop, cells={(product_id, day) for _, _, product_id, day in slice_})
    _pending_forget({pk: version for pk, version, _, _ in slice_})
    RollupState.objects.filter(id=state.id).update(drained_through_id=slice_[-1][0] if slice_ else 0)
    return written


def _pending_slice(shop: Shop, *, after_id: int) -> list[tuple[int, int, int, date]]:
    """(id, version, product id, day) of the next pending cells after this id."""
    return list(PendingRollupCell.objects.filter(shop=shop, id__gt=after_id).order_by("id")
                .values_list("id", "version", "product_id", "day")[:CELLS_PER_DRAIN])


def _pending_forget(taken: dict[int, int]) -> None:
    """Delete the pending rows still at the version read before the recount. A row noted again
    since (its event may have been stored after the count read) stays for the next pass.

    Deleted at the end, not taken at the start: a note of a cell whose row is deleted by an open
    transaction waits for its commit (the unique index must know whether the delete holds), and
    waiting out a whole recount stalled the other analytics thread under load. The rows are locked
    in the notes' own order, (product, day), so a note and a drain never deadlock."""
    current = (PendingRollupCell.objects.filter(id__in=taken).order_by("product_id", "day")
               .select_for_update().values_list("id", "version"))
    unchanged = [pk for pk, version in current if taken[pk] == version]
    PendingRollupCell.objects.filter(id__in=unchanged).delete()


def daily_stats_rebuild(*, shop: Shop, start: date | None = None, end: date | None = None) -> int:
    """Recount every cell of the shop (or of a day range): the backstop if a rollup message was lost."""
    zone = shop_zone(shop)
    events = Event.objects.filter(shop=shop, product__isnull=False)
    if start:
        events = events.filter(occurred_at__gte=day_bounds(start, zone)[0])
    if end:
        events = events.filter(occurred_at__lt=day_bounds(end, zone)[1])
    cells = {(product_id, occurred_at.astimezone(zone).date())
             for product_id, occurred_at in events.values_list("product_id", "occurred_at").iterator(chunk_size=5000)}
    stale = DailyProductStats.objects.filter(shop=shop)
    if start:
        stale = stale.filter(day__gte=start)
    if end:
        stale = stale.filter(day__lte=end)
    cells |= set(stale.values_list("product_id", "day"))
    written = daily_stats_recount(shop=shop, cells=cells)
    return written + rollup_pending_drain(shop=shop)  # cells noted while we held the lock


def _lock_shop_rollup(shop: Shop) -> None:
    RollupState.objects.get_or_create(shop=shop)
    RollupState.objects.select_for_update().filter(shop=shop).update(recounted_at=datetime.now(tz=ZoneInfo("UTC")))


def cells_count_in_python(*, shop: Shop, cells: set[Cell]) -> dict[Cell, CellTotals]:
    """Every event of the cells through Python: exact Decimal sums on any database."""
    zone = shop_zone(shop)
    days_by_product: dict[int, set[date]] = defaultdict(set)
    for product_id, day in cells:
        days_by_product[product_id].add(day)
    counts: dict[Cell, CellCounts] = defaultdict(CellCounts)
    products = sorted(days_by_product)
    for offset in range(0, len(products), PRODUCTS_PER_QUERY):
        window = Q()
        for product_id in products[offset:offset + PRODUCTS_PER_QUERY]:
            days = days_by_product[product_id]
            window |= Q(product_id=product_id, occurred_at__gte=day_bounds(min(days), zone)[0],
                        occurred_at__lt=day_bounds(max(days), zone)[1])
        rows = Event.objects.filter(window, shop=shop).values_list(
            "product_id", "occurred_at", "type", "customer_id", "quantity", "unit_price", "currency")
        for product_id, occurred_at, kind, customer_id, quantity, unit_price, currency in rows.iterator(chunk_size=5000):
            cell = (product_id, occurred_at.astimezone(zone).date())
            if cell in cells:
                counts[cell].add(kind, customer_id, quantity, unit_price, currency or shop.currency)
    return {cell: counted.totals(shop.currency) for cell, counted in counts.items()}


def cells_count_in_sql(*, shop: Shop, cells: set[Cell]) -> dict[Cell, CellTotals]:
    """The same totals, aggregated by Postgres in one query per chunk of cells (exact numeric sums).

    Each cell is joined to its events by the [start, end) instants of its local day, computed
    with `day_bounds` as the Python path and the ingestion do: one index range scan on
    (product, occurred_at) per cell, and no second time-zone database (Postgres's) to agree with."""
    zone = shop_zone(shop)
    ordered = sorted(cells)
    totals: dict[Cell, CellTotals] = {}
    for offset in range(0, len(ordered), CELLS_PER_SQL_COUNT):
        chunk = ordered[offset:offset + CELLS_PER_SQL_COUNT]
        bounds = [day_bounds(day, zone) for _, day in chunk]
        with connection.cursor() as cursor:
            cursor.execute(_CELL_TOTALS_SQL.format(event=connection.ops.quote_name(Event._meta.db_table)), {
                "products": [product_id for product_id, _ in chunk], "days": [day for _, day in chunk],
                "starts": [start for start, _ in bounds], "ends": [end for _, end in bounds],
                "shop": shop.id, "shop_currency": shop.currency,
                "visit_types": list(VISIT_TYPES), "money_types": list(MONEY_TYPES)})
            for product_id, day, distinct_currencies, one_currency, *numbers in cursor.fetchall():
                totals[(product_id, day)] = CellTotals(
                    _cell_currency(distinct_currencies, one_currency, shop.currency), *numbers)
    return totals


# Mirrors CellCounts.add: a missing (or zero) quantity counts as 1, a missing price as 0, a blank
# currency as the shop's. Per cell a LATERAL aggregate over its index range: the rows come out of
# the index already grouped, where a GROUP BY over the join sorted them all (and spilled to disk).
_CELL_TOTALS_SQL = """
SELECT cell.product_id, cell.day, t.currencies, t.currency, t.revenue, t.refunds, t.units, t.refunded_units,
       t.views, t.carts, t.purchases, t.buyers, t.visitors
FROM unnest(%(products)s::bigint[], %(days)s::date[], %(starts)s::timestamptz[], %(ends)s::timestamptz[])
     AS cell(product_id, day, starts, ends)
CROSS JOIN LATERAL (
    SELECT COUNT(DISTINCT currency) FILTER (WHERE type = ANY(%(money_types)s)) AS currencies,
           MIN(currency) FILTER (WHERE type = ANY(%(money_types)s)) AS currency,
           COALESCE(SUM(amount) FILTER (WHERE type = 'purchase'), 0) AS revenue,
           COALESCE(SUM(amount) FILTER (WHERE type = 'refund'), 0) AS refunds,
           COALESCE(SUM(quantity) FILTER (WHERE type = 'purchase'), 0) AS units,
           COALESCE(SUM(quantity) FILTER (WHERE type = 'refund'), 0) AS refunded_units,
           COUNT(*) FILTER (WHERE type = 'view') AS views,
           COUNT(*) FILTER (WHERE type = 'add_to_cart') AS carts,
           COUNT(*) FILTER (WHERE type = 'purchase') AS purchases,
           COUNT(DISTINCT customer_id) FILTER (WHERE type = 'purchase') AS buyers,
           COUNT(DISTINCT customer_id) FILTER (WHERE type = ANY(%(visit_types)s)) AS visitors,
           COUNT(*) AS events
    FROM (SELECT e.type, e.customer_id, COALESCE(NULLIF(e.quantity, 0), 1) AS quantity,
                 COALESCE(NULLIF(e.quantity, 0), 1) * COALESCE(e.unit_price, 0) AS amount,
                 COALESCE(NULLIF(e.currency, ''), %(shop_currency)s) AS currency
          FROM {event} e
          WHERE e.product_id = cell.product_id AND e.occurred_at >= cell.starts AND e.occurred_at < cell.ends
            AND e.shop_id = %(shop)s) AS e
) AS t
WHERE t.events > 0
"""


def _stats_row(shop: Shop, cell: Cell, counted: CellTotals) -> DailyProductStats:
    product_id, day = cell
    return DailyProductStats(
        shop=shop, product_id=product_id, day=day, currency=counted.currency,
        revenue=counted.revenue, refunds=counted.refunds, net_revenue=counted.revenue - counted.refunds,
        units=counted.units, refunded_units=counted.refunded_units, views=counted.views, carts=counted.carts,
        purchases=counted.purchases, buyers=counted.buyers, visitors=counted.visitors,
    )


def _cells_without_events(shop: Shop, empty: set[Cell]) -> int:
    """Rows whose events are gone (a deleted product) are not kept."""
    if not empty:
        return 0
    days = [day for _, day in empty]
    existing = DailyProductStats.objects.filter(shop=shop, product_id__in={p for p, _ in empty},
                                                day__range=(min(days), max(days)))
    doomed = [pk for pk, product_id, day in existing.values_list("id", "product_id", "day")
              if (product_id, day) in empty]
    return DailyProductStats.objects.filter(id__in=doomed).delete()[0] if doomed else 0
