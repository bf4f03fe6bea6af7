"""Events from the browser snippet. The publishable key is public (it sits in the page source), so
the browser may only send what a page can see happen: views and basket additions. Purchases,
refunds and reviews come from the store's server, with an API key or a signed webhook."""

from __future__ import annotations

from profiles.ingestion.services import IngestResult, events_ingest
from profiles.models import StoreConnection

BROWSER_EVENT_TYPES = frozenset({"view", "add_to_cart"})
MAX_BROWSER_EVENTS = 100
MAX_BROWSER_BODY_BYTES = 64 * 1024


def origin_allowed(*, connection: StoreConnection, origin: str | None) -> bool:
    """No list: any origin. With a list, only those (a request without Origin is not a browser's)."""
    if not connection.allowed_origins:
        return True
    return bool(origin) and origin.lower() in connection.allowed_origins


def browser_events_ingest(*, connection: StoreConnection, raw_events: list, sent_at=None) -> IngestResult:
    if sent_at is not None:
        for event in raw_events:
            if isinstance(event, dict):
                event.setdefault("sent_at", sent_at)
    return events_ingest(shop=connection.shop, raw_events=raw_events, source="browser",
                         allowed_types=BROWSER_EVENT_TYPES)
