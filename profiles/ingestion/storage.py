"""Bulk writes for ingestion: a few statements per batch, never one query per event.

Postgres: the batch is COPYed (psycopg formats the rows in C) into a session-local staging
table, then moved with one `INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`; customers and
products are looked up with one `= ANY(array)` parameter each, and only customers not found
are inserted. (Building the same statements with one placeholder per value cost more Python
time than validating the events; see benchmarks/ingest.py.) Other databases (SQLite in the
embedded set-up and in tests) get multi-row VALUES inserts with the same ON CONFLICT semantics.
Rows are written in a sorted order so concurrent batches that share keys cannot deadlock.
"""

from __future__ import annotations

import json
from datetime import datetime

import psycopg
from django.db import connection

from profiles.ingestion.validation import CleanEvent
from profiles.models import Customer, Event, Product

EVENT_COLUMNS = (
    "event_id", "type", "customer_id", "product_id", "occurred_at", "client_occurred_at",
    "quantity", "unit_price", "currency", "text", "rating", "properties",
)


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _adapt_time(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _fetch_prepared(sql: str, params: list) -> list[tuple]:
    """Run one of ingestion's hot Postgres statements as a prepared statement and return its rows.

    Django's cursors bind parameters on the client, so Postgres parses and plans every statement
    afresh; for a one-event request planning these statements cost more than running them. A
    psycopg cursor with server-side binding prepares each on its connection's first use and
    reuses the plan. It runs in Django's current transaction (same connection), and its errors
    reach callers as Django's (a deadlock as OperationalError, which `events_ingest` retries)."""
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:  # DB_PREPARED_STATEMENTS=false
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


def ids_lookup(*, shop_id: int, product_external_ids: set[str],
               customer_external_ids: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    """({external_id: id} of the shop's products, … of its customers) among those asked for; the
    unknown ones are left out. One query on Postgres (a round trip less for a single event)."""
    if not _is_postgres():
        return (product_ids(shop_id=shop_id, external_ids=product_external_ids),
                _customers_found(shop_id, sorted(customer_external_ids)))
    if not product_external_ids:
        return {}, _customers_found(shop_id, sorted(customer_external_ids))
    rows = _fetch_prepared(
        f"SELECT true, external_id, id FROM {Product._meta.db_table} "
        "WHERE shop_id = %s AND external_id = ANY(%s::text[]) UNION ALL "
        f"SELECT false, external_id, id FROM {Customer._meta.db_table} "
        "WHERE shop_id = %s AND external_id = ANY(%s::text[])",
        [shop_id, sorted(product_external_ids), shop_id, sorted(customer_external_ids)],
    )
    products, customers = {}, {}
    for is_product, external_id, pk in rows:
        (products if is_product else customers)[external_id] = pk
    return products, customers


def _customers_found(shop_id: int, ordered: list[str]) -> dict[str, int]:
    if not ordered:
        return {}
    if _is_postgres():
        return dict(_fetch_prepared(f"SELECT external_id, id FROM {Customer._meta.db_table} "
                                    "WHERE shop_id = %s AND external_id = ANY(%s::text[])", [shop_id, ordered]))
    return dict(Customer.objects.filter(shop_id=shop_id, external_id__in=ordered).values_list("external_id", "id"))


def customers_ensure(*, shop_id: int, external_ids: list[str], seen_at: datetime,
                     found: dict[str, int] | None = None) -> dict[str, int]:
    """Create the customers not seen before; return {external_id: id} for all of them. `found`:
    those already looked up (`ids_lookup`), so only the others are looked for."""
    if not external_ids:
        return {}
    ordered = sorted(set(external_ids))
    if found is not None:
        known = {external_id: found[external_id] for external_id in ordered if external_id in found}
        missing = [external_id for external_id in ordered if external_id not in known]
        if not missing:
            return known
        return {**known, **customers_ensure(shop_id=shop_id, external_ids=missing, seen_at=seen_at)}
    if _is_postgres():
        return _customers_ensure_postgres(shop_id, ordered, seen_at)
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


def _customers_ensure_postgres(shop_id: int, ordered: list[str], seen_at: datetime) -> dict[str, int]:
    # Most customers of a batch exist already: find them first (a plain read never waits for a
    # lock), then insert only the others. A customer another batch inserts concurrently makes our
    # INSERT wait for its commit and skip it; the SELECT after it (a new snapshot) then sees it.
    table = Customer._meta.db_table
    select = f"SELECT external_id, id FROM {table} WHERE shop_id = %s AND external_id = ANY(%s::text[])"
    with connection.cursor() as cursor:
        cursor.execute(select, [shop_id, ordered])
        found = dict(cursor.fetchall())
        missing = [external_id for external_id in ordered if external_id not in found]
        if missing:
            cursor.execute(
                f"INSERT INTO {table} (shop_id, external_id, first_seen_at, last_seen_at) "
                "SELECT %s, incoming, %s, %s FROM unnest(%s::text[]) AS incoming ORDER BY incoming "
                "ON CONFLICT (shop_id, external_id) DO NOTHING RETURNING external_id, id",
                [shop_id, seen_at, seen_at, missing],
            )
            found.update(cursor.fetchall())
            raced = [external_id for external_id in missing if external_id not in found]
            if raced:
                cursor.execute(select, [shop_id, raced])
                found.update(cursor.fetchall())
    return found


def customers_touch(*, customer_ids: set[int], seen_at: datetime) -> None:
    if not customer_ids:
        return
    if _is_postgres():
        # Rows are locked in id order (the sub-select sorts before it locks), so two batches that
        # share customers wait for each other instead of deadlocking; a plain `WHERE id IN (…)`
        # locks in scan order, and deadlocked under 4 concurrent clients (benchmarks/ingest.py).
        table = Customer._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET last_seen_at = %s FROM (SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) "
                f"ORDER BY id FOR NO KEY UPDATE) AS locked WHERE {table}.id = locked.id",
                [seen_at, sorted(customer_ids)],
            )
    else:
        Customer.objects.filter(id__in=sorted(customer_ids)).update(last_seen_at=seen_at)


def product_ids(*, shop_id: int, external_ids: set[str]) -> dict[str, int]:
    """{external_id: id} of the shop's products among `external_ids` (unknown ones are left out)."""
    if not external_ids:
        return {}
    if _is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT external_id, id FROM {Product._meta.db_table} "
                           "WHERE shop_id = %s AND external_id = ANY(%s::text[])", [shop_id, sorted(external_ids)])
            return dict(cursor.fetchall())
    return dict(Product.objects.filter(shop_id=shop_id, external_id__in=external_ids).values_list("external_id", "id"))


def event_row(event: CleanEvent, customer_id: int, product_id: int | None) -> tuple:
    return (
        event.event_id, event.type, customer_id, product_id, event.occurred_at, event.client_occurred_at,
        event.quantity, event.unit_price, event.currency, event.text, event.rating,
        json.dumps(event.properties, ensure_ascii=False) if event.properties is not None else None,
    )


def events_insert(*, shop_id: int, rows: list[tuple], received_at: datetime) -> set[str]:
    """Insert event rows (see `event_row`); return the event ids that were new. The customers of
    the new events get `last_seen_at = received_at` (`customers_touch`), on Postgres in the same
    statement (locking them in id order after the insert, as `customers_touch` does)."""
    if not rows:
        return set()
    rows = sorted(rows, key=lambda row: row[0])
    if _is_postgres():
        if len(rows) <= SMALL_BATCH_ROWS:
            return _events_insert_postgres_values(shop_id, rows, received_at)
        return _events_insert_postgres(shop_id, rows, received_at)
    inserted = _events_insert_generic(shop_id, rows, received_at)
    customers_touch(customer_ids={row[2] for row in rows if row[0] in inserted}, seen_at=received_at)
    return inserted


def _touching(insert_sql: str) -> str:
    """`insert_sql` (… RETURNING event_id, customer_id) plus the `customers_touch` of its new rows,
    as one statement: the UPDATE reads the INSERT's output, so it runs after it, as before."""
    table = Customer._meta.db_table
    return (
        f"WITH new AS ({insert_sql}), touched AS (UPDATE {table} SET last_seen_at = %s FROM (SELECT id FROM "
        f"{table} WHERE id IN (SELECT customer_id FROM new) ORDER BY id FOR NO KEY UPDATE) AS locked "
        f"WHERE {table}.id = locked.id RETURNING 1) SELECT event_id FROM new"
    )


# Up to this many rows one INSERT … VALUES is cheaper than the staging table's extra round trips.
SMALL_BATCH_ROWS = 16


STAGING_TABLE = "ingest_event_stage"
STAGING_DDL = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} (event_id text, type text, customer_id bigint, "
    "product_id bigint, occurred_at timestamptz, client_occurred_at timestamptz, quantity integer, "
    "unit_price numeric, currency text, text text, rating smallint, properties jsonb) ON COMMIT DELETE ROWS"
)


def _events_insert_postgres(shop_id: int, rows: list[tuple], received_at: datetime) -> set[str]:
    # The staging table belongs to this session and empties itself at commit; creating it "if not
    # exists" in every batch keeps this correct after a rollback or on a pooled connection.
    table = Event._meta.db_table
    names = ", ".join(EVENT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(STAGING_DDL)
        cursor.execute(f"DELETE FROM {STAGING_TABLE}")  # left by an earlier batch of the same transaction
        with cursor.cursor.copy(f"COPY {STAGING_TABLE} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return {row[0] for row in _fetch_prepared(_touching(
        f"INSERT INTO {table} (shop_id, received_at, {names}) SELECT %s::bigint, %s::timestamptz, {names} "
        f"FROM {STAGING_TABLE} ORDER BY event_id ON CONFLICT (shop_id, event_id) DO NOTHING "
        "RETURNING event_id, customer_id"), [shop_id, received_at, received_at])}


def _events_insert_postgres_values(shop_id: int, rows: list[tuple], received_at: datetime) -> set[str]:
    names = ", ".join(EVENT_COLUMNS)
    placeholders = "(" + ", ".join(["%s"] * (len(EVENT_COLUMNS) + 1)) + ", %s::jsonb)"
    params: list = []
    for row in rows:
        params.extend((shop_id, received_at, *row))
    params.append(received_at)
    sql = _touching(
        f"INSERT INTO {Event._meta.db_table} (shop_id, received_at, {names}) "
        f"VALUES {', '.join([placeholders] * len(rows))} "
        "ON CONFLICT (shop_id, event_id) DO NOTHING RETURNING event_id, customer_id"
    )
    return {row[0] for row in _fetch_prepared(sql, params)}


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
