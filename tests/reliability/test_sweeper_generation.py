"""The sweeper re-sends a generation job only when its message is lost, not while it waits in a long
`gpu` queue: it used to send every job queued for over two minutes again on every sweep."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from generation.models import GenerationJob
from generation.services import generation_jobs_request
from shop_ai.sweeper import stuck_work_sweep
from tests.dashboard.factories import persona_for, product_for

pytestmark = pytest.mark.django_db(transaction=True)  # messages go out on commit


def _resend_after() -> timedelta:
    return timedelta(seconds=settings.GENERATION_RESEND_AFTER_SECONDS)


def _earlier(jobs, by: timedelta) -> None:
    """As if `by` had passed since the jobs were created and last sent."""
    for job in GenerationJob.objects.filter(id__in=[job.id for job in jobs]):
        GenerationJob.objects.filter(pk=job.pk).update(created_at=job.created_at - by,
                                                       enqueued_at=job.enqueued_at - by)


@pytest.fixture
def sent():
    """Every run_generation_jobs message sent, as (job ids, shop id); none reaches a worker."""
    messages = []
    with mock.patch("generation.actors.run_generation_jobs.send",
                    side_effect=lambda job_ids, shop_id=None: messages.append((sorted(job_ids), shop_id))):
        yield messages


def test_a_sweep_after_a_normal_enqueue_sends_nothing_and_a_lost_message_is_sent_once(shop, sent):
    personas = [persona_for(shop), persona_for(shop, "Minimalists")]
    waiting = generation_jobs_request(shop=shop, product=product_for(shop, "vase-1"), personas=personas).created
    lost = generation_jobs_request(shop=shop, product=product_for(shop, "vase-2"), personas=personas[:1]).created
    assert sent == [(sorted(job.id for job in waiting), shop.id), ([lost[0].id], shop.id)]
    sent.clear()  # the second product's message is lost on the way (a Redis restart, say)

    assert stuck_work_sweep().generation_jobs == [] and sent == [], "a job just sent was sent again"
    # Both wait in a long gpu queue: a normal wait is not a lost message, even past the sweep's two minutes.
    _earlier(waiting + lost, _resend_after() - timedelta(minutes=1))
    assert stuck_work_sweep().generation_jobs == [] and sent == []
    # Past the threshold only the lost one (the waiting ones were sent a minute later, in this story).
    _earlier(lost, timedelta(minutes=2))
    assert stuck_work_sweep().generation_jobs == [lost[0].id]
    assert sent == [([lost[0].id], shop.id)]
    job = GenerationJob.objects.get(pk=lost[0].pk)
    assert timezone.now() - job.enqueued_at < timedelta(minutes=1), "the re-send is recorded"
    assert stuck_work_sweep().generation_jobs == [] and len(sent) == 1, "re-sent twice"

    # Still queued after the re-send: the next one waits as long as the job had waited before (backoff).
    assert job.enqueued_at - job.created_at > _resend_after() + timedelta(minutes=1)  # it had waited 16 minutes
    _earlier(lost, _resend_after())  # past the threshold, not yet as long as it had waited before
    assert stuck_work_sweep().generation_jobs == [] and len(sent) == 1
    _earlier(lost, timedelta(minutes=2))
    assert stuck_work_sweep().generation_jobs == [lost[0].id] and len(sent) == 2


def test_a_running_job_is_not_sent_again_until_its_claim_outlives_the_time_limit(shop, sent):
    job = generation_jobs_request(shop=shop, product=product_for(shop, "vase-3"), personas=[persona_for(shop)]).jobs[0]
    sent.clear()
    started = timezone.now() - timedelta(minutes=30)
    GenerationJob.objects.filter(pk=job.pk).update(status="running", started_at=started, enqueued_at=started)
    assert stuck_work_sweep().generation_jobs == [] and sent == []
    GenerationJob.objects.filter(pk=job.pk).update(started_at=started - timedelta(minutes=10),
                                                   enqueued_at=started - timedelta(minutes=10))
    assert stuck_work_sweep().generation_jobs == [job.id] and stuck_work_sweep().generation_jobs == []
    assert sent == [([job.id], shop.id)]
    # Its message came back and claimed it again five minutes ago: alive, however long ago it first started.
    GenerationJob.objects.filter(pk=job.pk).update(claimed_by="message-a", claimed_at=timezone.now() - timedelta(
        minutes=5), enqueued_at=started - timedelta(minutes=10))
    assert stuck_work_sweep().generation_jobs == [] and len(sent) == 1


def test_two_sweepers_at_once_send_a_lost_job_once(shop, sent):
    jobs = generation_jobs_request(shop=shop, product=product_for(shop, "vase-4"), personas=[persona_for(shop)]).jobs
    sent.clear()
    _earlier(jobs, _resend_after() + timedelta(minutes=1))
    start, reports = threading.Barrier(2), []

    def sweep():
        try:
            start.wait(10)
            reports.append(stuck_work_sweep().generation_jobs)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(reports) == [[], [jobs[0].id]] and sent == [([jobs[0].id], shop.id)]


def test_jobs_whose_first_message_the_broker_refused_are_sent_at_the_next_sweep(shop, sent):
    # The broker is down when the request commits: the owner still gets the jobs, stored and queued.
    with mock.patch("generation.actors.run_generation_jobs.send", side_effect=ConnectionError("broker down")):
        jobs = generation_jobs_request(shop=shop, product=product_for(shop, "vase-4"),
                                       personas=[persona_for(shop)]).created
    job = GenerationJob.objects.get(pk=jobs[0].pk)
    assert job.status == "queued" and job.enqueued_at is None and sent == []
    # Not fifteen minutes later: the very next sweep sends it, once.
    assert stuck_work_sweep().generation_jobs == [job.id] and sent == [([job.id], shop.id)]
    assert GenerationJob.objects.get(pk=job.pk).enqueued_at is not None
    assert stuck_work_sweep().generation_jobs == [] and len(sent) == 1
