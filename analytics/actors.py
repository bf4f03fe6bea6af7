"""Dramatiq actors of the `analytics` queue. They take ids, fetch, call a service, and are idempotent."""

from datetime import date

import dramatiq

from analytics.rollup import rollup_cells_note, rollup_pending_drain_for
from profiles.models import Shop

ANALYTICS_QUEUE = "analytics"
DRAIN_SECONDS = 60  # then the rest goes on in a fresh message, well inside the 5-minute time limit


@dramatiq.actor(queue_name=ANALYTICS_QUEUE, max_retries=5, min_backoff=1_000, time_limit=5 * 60_000)
def events_rollup(shop_id: int, cells: list[list]) -> None:
    """Recount the (product id, "YYYY-MM-DD") cells that new events fell in (one message per batch).

    The cells are noted first, then recounted together with every other pending cell of the shop
    by whichever message holds the shop's lock; the others return at once. Under sustained load
    the holder stops after `DRAIN_SECONDS` and sends itself again for what is left. Sent by name from
    ingestion (profiles never imports analytics). A lost message loses nothing for good: the next
    one drains its cells, and `manage.py rollup_revenue` recounts every cell from the events.
    """
    shop = Shop.objects.filter(id=shop_id).first()
    if shop is None:
        return
    rollup_cells_note(shop=shop, cells={(int(product_id), date.fromisoformat(day)) for product_id, day in cells})
    if rollup_pending_drain_for(shop=shop, seconds=DRAIN_SECONDS):
        events_rollup.send(shop.id, [])


@dramatiq.actor(queue_name=ANALYTICS_QUEUE, max_retries=3, min_backoff=60_000, time_limit=10 * 60_000)
def benefit_report_ready(shop_id: int, end: str | None = None) -> None:
    """Compute one shop's benefit report and send `report.ready`; once per window (see announcements)."""
    from analytics.announcements import benefit_report_announce

    shop = Shop.objects.filter(id=shop_id).first()
    if shop is None:
        return
    benefit_report_announce(shop=shop, end=date.fromisoformat(end) if end else None)
