"""`events_ingest`: the one way events enter shop-ai (API, simulator, integrations)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from profiles.ingestion import storage
from profiles.ingestion.announcements import announcer
from profiles.ingestion.validation import NEEDS_PRODUCT, CleanEvent, Limits, validate_event
from profiles.models import FailedEvent, Shop

logger = logging.getLogger(__name__)
MAX_STORED_PAYLOAD_BYTES = 32 * 1024


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    changed_customer_ids: list[int] = field(default_factory=list)

    def as_response(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def _limits_for(shop: Shop, now: datetime) -> Limits:
    return Limits(
        now=now,
        shop_currency=shop.currency,
        max_future=timedelta(seconds=settings.EVENT_MAX_FUTURE_SECONDS),
        max_age=timedelta(days=settings.EVENT_MAX_AGE_DAYS),
        max_event_bytes=settings.MAX_EVENT_BYTES,
    )


def _reject(result: IngestResult, index: int, raw, errors: dict) -> None:
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    event_id = str(event_id)[:100] if isinstance(event_id, (str, int)) and not isinstance(event_id, bool) else None
    result.rejected.append({"index": index, "event_id": event_id, "errors": errors})


def _stored_payload(raw) -> object:
    try:
        text = json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(raw)
        raw = None
    text = text.replace("\\u0000", "\\ufffd")  # PostgreSQL's JSON holds no NUL; the event was refused for it
    if len(text.encode()) <= MAX_STORED_PAYLOAD_BYTES:
        # Through the text, so JSON numbers parsed to Decimal are stored (as strings) like the rest.
        return json.loads(text) if isinstance(raw, (dict, list)) else {"value": text}
    return {"truncated": text[:MAX_STORED_PAYLOAD_BYTES // 4]}


def _validate_batch(shop: Shop, raw_events: list, now: datetime, result: IngestResult,
                    allowed_types: frozenset[str] | None, source: str) -> list[tuple[int, CleanEvent]]:
    limits = _limits_for(shop, now)
    valid: list[tuple[int, CleanEvent]] = []
    seen_ids: set[str] = set()
    for index, raw in enumerate(raw_events):
        event, errors = validate_event(raw, limits)
        if not errors and allowed_types is not None and event.type not in allowed_types:
            errors = {"type": f"{event.type} events are not taken from {source}, only "
                              f"{', '.join(sorted(allowed_types))}; send the others from your server"}
        if errors:
            _reject(result, index, raw, errors)
        elif event.event_id in seen_ids:
            result.duplicates += 1  # the same id twice in one batch: a replay, not an error
        else:
            seen_ids.add(event.event_id)
            valid.append((index, event))
    return valid


def _drop_unknown_products(valid, raw_events, result, product_ids: dict[str, int]) -> list:
    known = []
    for index, event in valid:
        if event.product_id is not None and event.product_id not in product_ids:
            reason = (f"unknown product {event.product_id!r}; create it first with "
                      f"PUT /api/v1/products/{event.product_id}")
            _reject(result, index, raw_events[index], {"product_id": reason})
        else:
            known.append((index, event))
    return known


def events_ingest(*, shop: Shop, raw_events: list, source: str = "api", now: datetime | None = None,
                  allowed_types: frozenset[str] | None = None) -> IngestResult:
    """Validate and store a batch. Good events are stored even when others are rejected;
    rejected ones go to FailedEvent with their reasons; replays count as duplicates.
    `allowed_types` narrows the event types a less trusted source may send (the browser)."""
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            return _events_ingest(shop, raw_events, source, now, allowed_types)
        except OperationalError as exc:
            # Postgres picked this batch as a deadlock's victim and rolled it all back: run it
            # again (once a 5-minute load met one in ~5,000 batches). Inside a caller's
            # transaction the rollback is the caller's to handle.
            if getattr(exc.__cause__, "sqlstate", None) != DEADLOCK or attempt == DEADLOCK_RETRIES \
                    or connection.in_atomic_block:
                raise
            logger.warning("Batch of shop %s was a deadlock victim; retrying it", shop.id)
    raise AssertionError("unreachable")


DEADLOCK, DEADLOCK_RETRIES = "40P01", 2


@transaction.atomic
def _events_ingest(shop: Shop, raw_events: list, source: str, now: datetime | None,
                   allowed_types: frozenset[str] | None) -> IngestResult:
    now = now or timezone.now()
    result = IngestResult()
    valid = _validate_batch(shop, raw_events, now, result, allowed_types, source)
    product_ids, found_customers = storage.ids_lookup(
        shop_id=shop.id, product_external_ids={event.product_id for _, event in valid if event.product_id},
        customer_external_ids={event.customer_id for _, event in valid})
    valid = _drop_unknown_products(valid, raw_events, result, product_ids)
    customer_ids = storage.customers_ensure(
        shop_id=shop.id, external_ids=[event.customer_id for _, event in valid], seen_at=now, found=found_customers
    )
    rows = [
        storage.event_row(event, customer_ids[event.customer_id],
                           product_ids.get(event.product_id) if event.product_id else None)
        for _, event in valid
    ]
    inserted = storage.events_insert(shop_id=shop.id, rows=rows, received_at=now)  # touches their customers
    result.accepted = len(inserted)
    result.duplicates += len(valid) - len(inserted)
    stored = [event for _, event in valid if event.event_id in inserted]
    changed = {customer_ids[event.customer_id] for event in stored}
    result.changed_customer_ids = sorted(changed)
    _store_failures(shop, raw_events, result, source, now)
    if changed:
        cells = _product_days(shop, stored, product_ids)
        transaction.on_commit(lambda: _announce_changes(shop.id, result.changed_customer_ids, cells), robust=True)
    return result


def _product_days(shop: Shop, events: list[CleanEvent], product_ids: dict[str, int]) -> list[list]:
    """The (product id, shop-local day) cells these events fall in, for the revenue rollup."""
    zone = ZoneInfo(shop.timezone)
    return sorted({(product_ids[event.product_id], event.occurred_at.astimezone(zone).date().isoformat())
                   for event in events if event.product_id})


def _store_failures(shop: Shop, raw_events: list, result: IngestResult, source: str, now: datetime) -> None:
    if not result.rejected:
        return
    FailedEvent.objects.bulk_create([
        FailedEvent(shop=shop, event_id=(item["event_id"] or "").replace("\x00", "\ufffd"), source=source,
                    payload=_stored_payload(raw_events[item["index"]]), errors=_stored_payload(item["errors"]),
                    received_at=now)
        for item in result.rejected
    ])
    result.rejected.sort(key=lambda item: item["index"])


def failed_request_record(*, shop: Shop, errors: dict, payload=None, source: str = "api") -> None:
    """Keep a whole request we could not read (bad JSON, wrong shape) for the shop to inspect."""
    FailedEvent.objects.create(
        shop=shop, source=source, payload=_stored_payload(payload) if payload is not None else None,
        errors=_stored_payload(errors), received_at=timezone.now(),
    )


def _announce_changes(shop_id: int, customer_ids: list[int], product_days: list) -> None:
    # One `customers_changed` message per batch, or (EVENT_ANNOUNCE_SECONDS > 0) per shop and
    # interval for all of this process's batches: see announcements.py. The profiles worker
    # passes the product days on to the analytics queue.
    announcer.announce(shop_id, customer_ids, product_days)
