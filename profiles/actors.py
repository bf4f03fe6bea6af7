"""Dramatiq actors of the `profiles` queue. They take ids, fetch, call a service, and are idempotent."""

import dramatiq

from profiles.personas.services import persona_refresh_request, personas_refresh_stale
from profiles.services import customers_mark_stale

PROFILES_QUEUE = "profiles"
# Events of one window are recomputed together: one refresh per window, not one per batch.
REFRESH_DEBOUNCE_MS = 250


@dramatiq.actor(queue_name=PROFILES_QUEUE, max_retries=5, min_backoff=1_000, time_limit=60_000)
def customers_changed(shop_id: int, customer_ids: list[int], product_days: list | None = None) -> None:
    """New events arrived for these customers, on these (product id, shop-local day) cells (one
    message per ingested batch). The cells go on to the analytics queue's revenue rollup, by name:
    profiles never imports the analytics layer.

    A lost message loses nothing: the events are in the database first; `recompute_personas`
    re-derives staleness from `Customer.last_seen_at > profiled_at` and `rollup_revenue` recounts.
    """
    if product_days:
        dramatiq.get_broker().enqueue(dramatiq.Message(
            queue_name="analytics", actor_name="events_rollup", args=(shop_id, product_days), kwargs={}, options={}))
    customers_mark_stale(shop_id=shop_id, customer_ids=customer_ids)
    if persona_refresh_request(shop_id=shop_id):
        personas_refresh.send_with_options(args=(shop_id,), delay=REFRESH_DEBOUNCE_MS)


@dramatiq.actor(queue_name=PROFILES_QUEUE, max_retries=3, min_backoff=5_000, time_limit=30 * 60_000)
def personas_refresh(shop_id: int) -> None:
    """Recompute the shop's stale customers (incrementally, or fully when drift says so)."""
    personas_refresh_stale(shop_id=shop_id)
