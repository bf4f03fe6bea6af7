"""Dramatiq actors of the `profiles` and `personas` queues. They take ids, fetch, call a service, and
are idempotent."""

import dramatiq

from profiles.personas.services import persona_refresh_request, personas_refresh_stale
from profiles.services import customers_mark_stale
from profiles.shop_sentiment import sentiment_adaptation_due, shop_sentiment_adapt

PROFILES_QUEUE = "profiles"
# The recompute has its own queue, for its own worker processes: it is CPU-bound Python that holds the
# GIL for seconds, and the bookkeeping of `customers_changed` sharing its process crawled behind it
# (about 5 messages a second after the load test of tests/reliability/test_load.py).
PERSONAS_QUEUE = "personas"


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
    customers_mark_stale(shop_id=shop_id, customer_ids=customer_ids, only_seen_since_profiled=True)
    # Debounced by the request window, not by a delay: the first batch of a window sends the one
    # refresh, and every batch until that refresh starts is recomputed with it. (A dramatiq delay
    # would cost up to a second more: workers look at delayed messages once per worker_timeout.)
    if persona_refresh_request(shop_id=shop_id):
        personas_refresh.send(shop_id)


@dramatiq.actor(queue_name=PERSONAS_QUEUE, max_retries=3, min_backoff=5_000, time_limit=30 * 60_000)
def personas_refresh(shop_id: int) -> None:
    """Recompute the shop's stale customers (incrementally, or fully when drift says so); then, if the shop
    has gathered enough new star ratings, ask the `profiles` queue for a shop sentiment model."""
    personas_refresh_stale(shop_id=shop_id)
    if sentiment_adaptation_due(shop_id=shop_id):
        sentiment_adapt.send(shop_id)


@dramatiq.actor(queue_name=PROFILES_QUEUE, max_retries=2, min_backoff=10_000, time_limit=30 * 60_000)
def sentiment_adapt(shop_id: int) -> None:
    """Fit and judge the shop's own sentiment head from its star ratings. Idempotent: a repeated message
    finds the adaptation no longer due and does nothing."""
    from profiles.models import Shop

    shop = Shop.objects.filter(id=shop_id).first()
    if shop is not None and sentiment_adaptation_due(shop_id=shop_id):
        shop_sentiment_adapt(shop=shop)
