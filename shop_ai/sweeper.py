"""The sweeper: the database is the source of truth, so work a lost message never triggered is found
there and sent again. Brokers lose messages: Redis (here) keeps nothing on disk and forgets its
queues on a restart, and a publish can fail for longer than the broker's retries (shop_ai/brokers.py).

Every actor is idempotent, so sending again is always safe; the sweep looks for:
- revenue: events received since the last sweep are recounted cell by cell (an exact recount);
- personas: customers whose events are newer than their profile (derived from the events), stale
  for longer than `older_than`, get their shop's refresh sent again;
- generation: jobs whose message is lost: `queued` well past a normal wait in the `gpu` queue
  since they were last sent, with a growing wait between re-sends, or `running` past the actor's
  time limit (see `_generation_sweep`; their own attempt counter still caps them);
- outbound webhooks: pending deliveries never attempted, or silent past every retry backoff.

Run it every minute or so: `manage.py sweep_jobs --every 60` beside the workers (or from cron).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from analytics.rollup import daily_stats_recount, rollup_pending_drain
from generation.models import GenerationJob, JobStatus
from generation.services import CLAIM_TIMEOUT as RUNNING_TIMEOUT
from generation.webhooks import webhook_deliveries_resend_lost
from profiles.models import Customer, Event, Shop
from profiles.personas.services import customers_mark_stale_from_events
from shop_ai.models import MessageDelivery, SweepState

logger = logging.getLogger(__name__)
LEDGER_KEPT = timedelta(days=7)  # a delivery row this old belongs to a message the broker lost
EVENTS_PER_PASS = 50_000


@dataclass
class SweepReport:
    cells_recounted: int = 0
    persona_refreshes: list[int] = field(default_factory=list)
    generation_jobs: list[int] = field(default_factory=list)
    webhook_deliveries: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.cells_recounted} revenue cell(s) recounted, {len(self.persona_refreshes)} persona "
                f"refresh(es), {len(self.generation_jobs)} generation job(s) and "
                f"{len(self.webhook_deliveries)} webhook delivery(ies) sent again")


def stuck_work_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> SweepReport:
    report = SweepReport()
    cutoff = timezone.now() - older_than
    for shop in Shop.objects.order_by("id"):
        report.cells_recounted += _rollup_sweep(shop, cutoff)
        report.cells_recounted += rollup_pending_drain(shop=shop)  # noted while the sweep held the lock
        if _personas_stuck(shop, cutoff):
            report.persona_refreshes.append(shop.id)
    report.generation_jobs = _generation_sweep(older_than)
    report.webhook_deliveries = webhook_deliveries_resend_lost(older_than=older_than)
    MessageDelivery.objects.filter(last_started_at__lt=timezone.now() - LEDGER_KEPT).delete()
    if report.persona_refreshes or report.generation_jobs or report.webhook_deliveries:
        logger.warning("Sweep: %s", report)
    return report


@transaction.atomic
def _rollup_sweep(shop: Shop, cutoff) -> int:
    state = SweepState.objects.select_for_update().get_or_create(shop=shop)[0]
    events = Event.objects.filter(shop=shop, id__gt=state.rollup_event_id, received_at__lt=cutoff)
    nth = list(events.order_by("id").values_list("id", flat=True)[EVENTS_PER_PASS - 1:EVENTS_PER_PASS])
    upto = nth[0] if nth else events.aggregate(last=Max("id"))["last"]
    if upto is None:
        return 0
    zone = ZoneInfo(shop.timezone)
    cells = {(product_id, occurred_at.astimezone(zone).date()) for product_id, occurred_at in
             events.filter(id__lte=upto, product__isnull=False).values_list("product_id", "occurred_at")}
    daily_stats_recount(shop=shop, cells=cells)
    state.rollup_event_id, state.swept_at = upto, timezone.now()
    state.save(update_fields=["rollup_event_id", "swept_at"])
    return len(cells)


def _personas_stuck(shop: Shop, cutoff) -> bool:
    from profiles.actors import personas_refresh

    customers_mark_stale_from_events(shop=shop)
    if not Customer.objects.filter(shop=shop, profile_stale_since__lt=cutoff).exists():
        return False
    personas_refresh.send(shop.id)
    return True


def _generation_sweep(older_than: timedelta) -> list[int]:
    """Send again the generation jobs whose message is lost, not merely waiting.

    A queued job may wait a long time in the `gpu` queue behind others, so its message counts as
    lost only once it has waited `GENERATION_RESEND_AFTER_SECONDS` (or `older_than`, if longer)
    since it was last sent, and each re-send waits at least as long again as the job has already
    been waiting (15 min, then 30, 60…): a queue that is merely long gets a few extra messages at
    most, never one a sweep. A job whose first message the broker refused is sent at the next
    sweep. A running job is sent again once it has outlived the actor's time limit since it was
    last claimed and since its last send. `enqueued_at` is moved on in the same
    transaction that picks the jobs (locked, skipping rows another sweeper holds), so two
    sweepers never both send a job; the message goes out after the commit."""
    from generation.actors import run_generation_jobs

    now = timezone.now()
    wait = max(older_than, timedelta(seconds=settings.GENERATION_RESEND_AFTER_SECONDS))
    with transaction.atomic():
        never_sent = Q(status=JobStatus.QUEUED, enqueued_at__isnull=True)
        stale_queued = Q(status=JobStatus.QUEUED, enqueued_at__lt=now - wait) | never_sent
        dead_claim = Q(claimed_at__lt=now - RUNNING_TIMEOUT) | Q(claimed_at__isnull=True,
                                                                 started_at__lt=now - RUNNING_TIMEOUT)
        stale_running = Q(status=JobStatus.RUNNING, enqueued_at__lt=now - RUNNING_TIMEOUT) & dead_claim
        candidates = (GenerationJob.objects.select_for_update(skip_locked=True)
                      .filter(stale_queued | stale_running).order_by("id")
                      .values_list("id", "shop_id", "product_id", "status", "created_at", "enqueued_at"))
        by_product: dict[tuple[int, int], list[int]] = defaultdict(list)
        for job_id, shop_id, product_id, status, created_at, enqueued_at in candidates:
            if status == JobStatus.QUEUED and enqueued_at and now - enqueued_at < enqueued_at - created_at:
                continue  # re-sent before and still queued: back off further
            by_product[(shop_id, product_id)].append(job_id)
        sent = [job_id for job_ids in by_product.values() for job_id in job_ids]
        GenerationJob.objects.filter(id__in=sent).update(enqueued_at=now)

        def send() -> None:
            for (shop_id, _), job_ids in by_product.items():
                run_generation_jobs.send(job_ids, shop_id=shop_id)

        transaction.on_commit(send)
    return sent
