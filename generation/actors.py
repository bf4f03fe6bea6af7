"""Dramatiq actors of the `gpu`, `generation` and `webhooks` queues."""

import dramatiq
from dramatiq.middleware import CurrentMessage

from generation.services import MAX_ATTEMPTS, generation_jobs_run
from generation.webhooks import webhook_delivery_attempt

GPU_QUEUE = "gpu"


# max_crashes: the jobs count their own attempts; the delivery after the last one runs, to fail them.
@dramatiq.actor(queue_name=GPU_QUEUE, max_retries=3, min_backoff=10_000, max_backoff=300_000,
                time_limit=30 * 60_000, max_crashes=MAX_ATTEMPTS + 1)
def run_generation_jobs(job_ids: list[int], shop_id: int | None = None) -> None:
    """Generate images for these jobs (one product's personas together). Idempotent: finished jobs
    are skipped, images are keyed by (job, seed), listings by job. `shop_id` names the shop on a
    dead letter. A second message for jobs another delivery is running leaves them alone."""
    message = CurrentMessage.get_current_message()
    generation_jobs_run(job_ids=job_ids, message_id=message.message_id if message is not None else "")


@dramatiq.actor(queue_name="generation", max_retries=3, min_backoff=5_000, time_limit=5 * 60_000)
def plan_generation(shop_id: int, persona_ids: list[int]) -> None:
    """Personas were created or changed materially: request variants of their top products."""
    from generation.policy import generation_plan_for_personas
    from profiles.models import Shop

    shop = Shop.objects.filter(id=shop_id).first()
    if shop is not None:
        generation_plan_for_personas(shop=shop, persona_ids=persona_ids)


@dramatiq.actor(queue_name="webhooks", max_retries=7, min_backoff=10_000, max_backoff=3_600_000,
                time_limit=60_000)
def deliver_webhook(delivery_id: int) -> None:
    """One attempt at an outbound webhook; a failed attempt raises, and dramatiq retries with
    exponential backoff. The delivery row counts the attempts and ends `failed` after the last."""
    webhook_delivery_attempt(delivery_id=delivery_id)
