"""Bulk writes for ingestion: a few statements per batch, never one query per event.

Postgres gets `INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING`, one
parameter per column whatever the batch size. Other databases (SQLite in the embedded
set-up and in tests) get a multi-row VALUES insert with the same ON CONFLICT semantics.
Rows are written in a sorted order so concurrent batches that share keys cannot deadlock.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connection

from profiles.ingestion.validation import CleanEvent
from profiles.models import Customer, Event

EVENT_COLUMNS = (
    "event_id", "type", "customer_id", "product_id", "occurred_at", "client_occurred_at",
    "quantity", "unit_price", "currency", "text", "rating", "properties",
)
POSTGRES_ARRAY_TYPES = (
    "text[]", "text[]", "bigint[]", "bigint[]", "timestamptz[]", "timestamptz[]",
    "integer[]", "numeric[]", "text[]", "text[]", "smallint[]", "text[]",
)


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _adapt_time(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def customers_ensure(*, shop_id: int, external_ids: list[str], seen_at: datetime) -> dict[str, int]:
    """Create the customers not seen before; return {external_id: id} for all of them."""
    if not external_ids:
        return {}
    ordered = sorted(set(external_ids))
    table = Customer._meta.db_table
    stamp = _adapt_time(seen_at)
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(ordered))
    params: list = []
    for external_id in ordered:
        params.extend((shop_id, external_id, stamp, stamp))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (shop_id, external_id, first_seen_at, last_seen_at) VALUES {rows} "
            "ON CONFLICT (shop_id, external_id) DO NOTHING",
            params,
        )
        marks = ", ".join(["%s"] * len(ordered))
        cursor.execute(
            f"SELECT external_id, id FROM {table} WHERE shop_id = %s AND external_id IN ({marks})",
            [shop_id, *ordered],
        )
        return dict(cursor.fetchall())


def customers_touch(*, customer_ids: set[int], seen_at: datetime) -> None:
    if customer_ids:
        Customer.objects.filter(id__in=sorted(customer_ids)).update(last_seen_at=seen_at)


def event_row(event: CleanEvent, customer_id: int, product_id: int | None) -> tuple:
    return (
        event.event_id, event.type, customer_id, product_id, event.occurred_at, event.client_occurred_at,
        event.quantity, event.unit_price, event.currency, event.text, event.rating,
        json.dumps(event.properties, ensure_ascii=False) if event.properties is not None else None,
    )


def events_insert(*, shop_id: int, rows: list[tuple], received_at: datetime) -> set[str]:
    """Insert event rows (see `_event_row`); return the event ids that were new."""
    if not rows:
        return set()
    rows = sorted(rows, key=lambda row: row[0])
    if _is_postgres():
        return _events_insert_postgres(shop_id, rows, received_at)
    return _events_insert_generic(shop_id, rows, received_at)


def _events_insert_postgres(shop_id: int, rows: list[tuple], received_at: datetime) -> set[str]:
    table = Event._meta.db_table
    columns = list(zip(*rows))
    unnest = ", ".join(f"%s::{array_type}" for array_type in POSTGRES_ARRAY_TYPES)
    names = ", ".join(EVENT_COLUMNS)
    select = ", ".join(name if name != "properties" else "properties::jsonb" for name in EVENT_COLUMNS)
    sql = (
        f"INSERT INTO {table} (shop_id, received_at, {names}) "
        f"SELECT %s, %s, {select} FROM unnest({unnest}) AS incoming({names}) "
        "ON CONFLICT (shop_id, event_id) DO NOTHING RETURNING event_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [shop_id, received_at, *[list(column) for column in columns]])
        return {row[0] for row in cursor.fetchall()}


def _events_insert_generic(shop_id: int, rows: list[tuple], received_at: datetime) -> set[str]:
    table = Event._meta.db_table
    ops = connection.ops
    names = ", ".join(EVENT_COLUMNS)
    placeholders = "(" + ", ".join(["%s"] * (len(EVENT_COLUMNS) + 2)) + ")"
    params: list = []
    stamp = _adapt_time(received_at)
    for row in rows:
        adapted = list(row)
        adapted[4], adapted[5] = _adapt_time(row[4]), _adapt_time(row[5])
        if row[7] is not None:
            adapted[7] = ops.adapt_decimalfield_value(row[7], 14, 4)
        params.extend((shop_id, stamp, *adapted))
    sql = (
        f"INSERT INTO {table} (shop_id, received_at, {names}) VALUES {', '.join([placeholders] * len(rows))} "
        "ON CONFLICT (shop_id, event_id) DO NOTHING RETURNING event_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}
