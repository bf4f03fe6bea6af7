"""Dramatiq actors of the `gpu` queue."""

import dramatiq

from generation.services import generation_jobs_run

GPU_QUEUE = "gpu"


@dramatiq.actor(queue_name=GPU_QUEUE, max_retries=3, min_backoff=10_000, max_backoff=300_000,
                time_limit=30 * 60_000)
def run_generation_jobs(job_ids: list[int]) -> None:
    """Generate images for these jobs (one product's personas together). Idempotent: finished jobs
    are skipped, images are keyed by (job, seed), listings by job."""
    generation_jobs_run(job_ids=job_ids)
