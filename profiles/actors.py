"""Dramatiq actors of the `profiles` queue. They take ids, fetch, call a service, and are idempotent."""

import dramatiq

from profiles.services import customers_mark_stale

PROFILES_QUEUE = "profiles"


@dramatiq.actor(queue_name=PROFILES_QUEUE, max_retries=5, min_backoff=1_000, time_limit=60_000)
def customers_changed(shop_id: int, customer_ids: list[int]) -> None:
    """New events arrived for these customers (one message per ingested batch).

    For now this only records them as stale; the persona issue (#3) builds the incremental
    recompute on this record. A lost message loses nothing: the events are in the database
    first, and staleness can be re-derived from `Customer.last_seen_at > profiled_at`.
    """
    customers_mark_stale(shop_id=shop_id, customer_ids=customer_ids)
