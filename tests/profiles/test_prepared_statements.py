"""On Postgres ingestion's hot statements run prepared, with a generic plan (settings.py); with
DB_PREPARED_STATEMENTS=false (prepare_threshold None) the same statements run unprepared."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DataError, OperationalError, connection, transaction

from profiles.ingestion import storage
from profiles.ingestion.services import events_ingest
from profiles.models import Event
from profiles.services import product_upsert
from tests.conftest import recent

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are Postgres's")


def _ingest(shop, prefix: str) -> int:
    product_upsert(shop=shop, external_id="p1", title="青花茶杯", category="cups", price=Decimal("45.00"))
    events = [{"event_id": f"{prefix}-{n}", "type": "view", "customer_id": f"c{n}", "product_id": "p1",
               "occurred_at": recent(n + 1)} for n in range(3)]
    return events_ingest(shop=shop, raw_events=events).accepted


def _prepared() -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return cursor.fetchall()


@pytest.mark.django_db
def test_the_lookup_and_insert_are_prepared_with_generic_plans(shop):
    assert _ingest(shop, "a") == 3 and _ingest(shop, "b") == 3
    prepared = _prepared()
    lookups = [row for row in prepared if "external_id = ANY" in row[0]]
    inserts = [row for row in prepared if row[0].startswith("WITH new AS (INSERT INTO")]
    assert lookups and inserts
    assert all(custom == 0 and generic >= 1 for _, generic, custom in lookups + inserts)
    assert max(generic for _, generic, _ in lookups) >= 2, "the second batch re-used the first one's plan"
    assert not [row for row in prepared if "profiles_event" not in row[0] and "= ANY" not in row[0]], \
        "only ingestion's statements are prepared"


@pytest.mark.django_db
def test_without_prepared_statements_the_same_batch_is_stored(shop, monkeypatch):
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    assert _ingest(shop, "c") == 3 and _prepared() == []
    assert Event.objects.filter(shop=shop).count() == 3


@pytest.mark.django_db
def test_errors_of_prepared_statements_reach_callers_as_djangos():
    """`events_ingest` retries a deadlock by catching Django's OperationalError: a psycopg error
    escaping unwrapped (the full load test met one deadlock) would answer 500 instead."""
    with pytest.raises(DataError) as raised, transaction.atomic():
        storage._fetch_prepared("SELECT 1 / %s", [0])
    assert raised.value.__cause__.sqlstate == "22012"  # division_by_zero, as psycopg has it
    with pytest.raises(OperationalError) as raised, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 10")
        storage._fetch_prepared("SELECT pg_sleep(%s)", [1])
    assert raised.value.__cause__.sqlstate == "57014"  # query_canceled: an OperationalError, like a deadlock
