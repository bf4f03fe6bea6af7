"""Generation jobs end to end through the real broker and a worker: request, run, images, listings."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from generation.models import (
    GeneratedImage,
    GenerationJob,
    GenerationSettings,
    Listing,
    ListingAudit,
    generated_images_folder,
)
from generation.services import generation_jobs_request, generation_jobs_run
from profiles.services import product_upsert
from tests.conftest import client_for
from tests.generation.jobs.conftest import cutout_confirmed

pytestmark = pytest.mark.django_db


def wait_for(predicate, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_duplicate_requests_return_the_existing_job(shop, product, personas):
    first = generation_jobs_request(shop=shop, product=product, personas=personas)
    again = generation_jobs_request(shop=shop, product=product, personas=personas)
    assert len(first.created) == 2 and again.created == []
    assert [j.id for j in again.jobs] == [j.id for j in first.jobs]


def test_the_daily_budget_is_enforced(shop, product, personas):
    GenerationSettings.objects.create(shop=shop, daily_job_budget=1)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="budget of 1"):
        generation_jobs_request(shop=shop, product=product, personas=personas)


def test_a_product_without_an_image_gets_a_clear_error(api, shop, personas):
    product_upsert(shop=shop, external_id="bare", title="无图商品")
    response = api.post("/api/v1/generation-jobs", data={"product_id": "bare"}, format="json")
    assert response.status_code == 400 and "has no image" in str(response.json()["errors"])


def test_images_under_the_fidelity_threshold_are_redrawn_then_the_job_fails_with_the_reason(
        shop, product, personas, tiny_weights):
    request = generation_jobs_request(shop=shop, product=product, personas=personas[:1])
    GenerationSettings.objects.filter(shop=shop).update(fidelity_threshold=1.01)  # out of reach: every try is kept, then the job fails
    generation_jobs_run(job_ids=[request.jobs[0].id])
    job = GenerationJob.objects.get(pk=request.jobs[0].pk)
    assert job.status == "failed" and "fidelity threshold 1.01 in 3 tries" in job.error
    assert GeneratedImage.objects.filter(job=job).count() == 3  # every try kept, with its score
    assert not Listing.objects.filter(job=job).exists()


def test_a_job_that_passes_makes_one_image_set_and_one_listing_even_when_redelivered(
        shop, product, personas, tiny_weights):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=0.0)
    cutout_confirmed(product)
    request = generation_jobs_request(shop=shop, product=product, personas=personas)
    ids = [job.id for job in request.jobs]
    generation_jobs_run(job_ids=ids)
    generation_jobs_run(job_ids=ids)  # a redelivered message
    jobs = GenerationJob.objects.filter(id__in=ids)
    assert {job.status for job in jobs} == {"succeeded"} and {job.attempts for job in jobs} == {1}
    assert GeneratedImage.objects.filter(job__in=jobs).count() == 2
    listings = Listing.objects.filter(job__in=jobs)
    assert listings.count() == 2 and {l.status for l in listings} == {"published"}
    assert ListingAudit.objects.filter(listing__in=listings, actor="policy:auto-approve").count() == 4
    assert all(l.title and l.description for l in listings)


def test_generated_images_live_in_an_unguessable_folder_per_job(shop, product, personas, tiny_weights):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=0.0)
    request = generation_jobs_request(shop=shop, product=product, personas=personas)
    generation_jobs_run(job_ids=[job.id for job in request.jobs])
    for job in request.jobs:
        names = [field.name for image in job.images.all() for field in image.files]
        folder = generated_images_folder(job)
        assert names and {name.rsplit("/", 1)[0] for name in names} == {folder}
        assert folder.startswith(f"shops/{shop.id}/generated/job-{job.id}-") and len(folder.rsplit("-", 1)[1]) == 24
    first, second = (generated_images_folder(job) for job in request.jobs)
    assert first.rsplit("-", 1)[1] != second.rsplit("-", 1)[1]  # not a shared suffix: one HMAC per job


def test_files_a_killed_worker_left_behind_are_removed_when_the_job_runs_again(shop, product, personas,
                                                                              tiny_weights):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=0.0)
    job = generation_jobs_request(shop=shop, product=product, personas=personas[:1]).jobs[0]
    orphan = default_storage.save(f"{generated_images_folder(job)}/seed-{job.seed}-scene.png", ContentFile(b"half"))
    GenerationJob.objects.filter(pk=job.pk).update(status="running", attempts=1)  # the killed delivery
    generation_jobs_run(job_ids=[job.id])
    job.refresh_from_db()
    _, files = default_storage.listdir(generated_images_folder(job))
    named = {field.name.rsplit("/", 1)[1] for image in job.images.all() for field in image.files}
    assert job.status == "succeeded" and set(files) == named  # nothing in the folder that no row names
    with default_storage.open(orphan) as left:  # the name is reused by the real image, not the half file
        assert left.read() != b"half"


def test_a_worker_killed_mid_job_is_retried_and_counts_attempts(shop, product, personas, tiny_weights):
    request = generation_jobs_request(shop=shop, product=product, personas=personas[:1])
    GenerationJob.objects.filter(pk=request.jobs[0].pk).update(status="running", attempts=3)  # died 3 times
    generation_jobs_run(job_ids=[request.jobs[0].pk])
    job = GenerationJob.objects.get(pk=request.jobs[0].pk)
    assert job.status == "failed" and "Gave up after 3 attempts" in job.error


def test_a_duplicate_message_leaves_a_running_job_to_the_delivery_that_claimed_it(
        shop, product, personas, tiny_weights):
    """The sweeper may re-send a job whose message was only slow; both messages arrive."""
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0)
    job = generation_jobs_request(shop=shop, product=product, personas=personas[:1]).jobs[0]
    now = timezone.now()
    GenerationJob.objects.filter(pk=job.pk).update(status="running", attempts=1, started_at=now,
                                                   claimed_by="message-a", claimed_at=now)  # another worker runs it
    generation_jobs_run(job_ids=[job.id], message_id="message-b")
    job.refresh_from_db()
    assert (job.status, job.attempts, job.claimed_by, job.images.count()) == ("running", 1, "message-a", 0)
    generation_jobs_run(job_ids=[job.id], message_id="message-a")  # its own redelivery: the worker was killed
    job.refresh_from_db()
    assert (job.status, job.attempts, job.images.count()) == ("succeeded", 2, 1)
    generation_jobs_run(job_ids=[job.id], message_id="message-b")  # finished: nothing to do
    assert GenerationJob.objects.get(pk=job.pk).attempts == 2 and GeneratedImage.objects.filter(job=job).count() == 1

    # A claim older than the actor's time limit is dead (its worker is gone): another message takes over.
    stale = generation_jobs_request(shop=shop, product=product, personas=personas[1:]).jobs[0]
    GenerationJob.objects.filter(pk=stale.pk).update(status="running", attempts=1, started_at=now,
                                                     claimed_by="message-c", claimed_at=now - timedelta(minutes=36))
    generation_jobs_run(job_ids=[stale.id], message_id="message-d")
    stale.refresh_from_db()
    assert (stale.status, stale.attempts, stale.claimed_by) == ("succeeded", 2, "message-d")


def test_listing_moves_and_conflicts_through_the_api(shop, product, personas, tiny_weights):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0)
    request = generation_jobs_request(shop=shop, product=product, personas=personas[:1])
    generation_jobs_run(job_ids=[request.jobs[0].id])
    api = client_for(shop)
    drafts = api.get("/api/v1/listings?status=draft").json()
    assert len(drafts) == 1
    listing_id = drafts[0]["id"]
    assert api.post(f"/api/v1/listings/{listing_id}/publish").status_code == 409  # not approved yet
    assert api.post(f"/api/v1/listings/{listing_id}/approve").json()["status"] == "approved"
    assert api.post(f"/api/v1/listings/{listing_id}/publish").json()["status"] == "published"
    assert api.post(f"/api/v1/listings/{listing_id}/retire").json()["status"] == "retired"
    conflict = api.post(f"/api/v1/listings/{listing_id}/approve")
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"


def test_another_shops_jobs_listings_products_and_personas_answer_404(shop, product, personas, other_shop):
    request = generation_jobs_request(shop=shop, product=product, personas=personas[:1])
    other = client_for(other_shop)
    assert other.get(f"/api/v1/generation-jobs/{request.jobs[0].id}").status_code == 404
    assert other.post("/api/v1/generation-jobs", data={"product_id": "vase-1"}, format="json").status_code == 404
    product_upsert(shop=other_shop, external_id="vase-1", title="B", image=None)
    response = other.post("/api/v1/generation-jobs", data={"product_id": "vase-1", "persona_id": personas[0].id},
                          format="json")
    assert response.status_code in (400, 404)
    assert other.get("/api/v1/listings").json() == []


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_the_api_request_runs_on_the_gpu_queue_worker(shop, product, personas, tiny_weights, broker, worker):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0)
    api = client_for(shop)
    response = api.post("/api/v1/generation-jobs", data={"product_id": "vase-1"}, format="json")
    assert response.status_code == 202
    ids = [job["id"] for job in response.json()]
    assert len(ids) == 2
    assert wait_for(lambda: GenerationJob.objects.filter(id__in=ids, status="succeeded").count() == 2)
    detail = api.get(f"/api/v1/generation-jobs/{ids[0]}").json()
    assert detail["progress"] == 100 and detail["images"][0]["url"].endswith((".webp", ".jpg")) and detail["listing_id"]
    claims = set(GenerationJob.objects.filter(id__in=ids).values_list("claimed_by", flat=True))
    assert len(claims) == 1 and len(claims.pop()) >= 32, "the worker's delivery claims the jobs by message id"


def test_cancelling_stops_the_job_at_the_next_step(shop, product, personas, tiny_weights, settings, monkeypatch):
    settings.GENERATION_STEPS = 50
    request = generation_jobs_request(shop=shop, product=product, personas=personas[:1])
    job = request.jobs[0]
    from generation import services

    real = services._progress_callback

    def cancel_midway(jobs, start, span):
        inner = real(jobs, start, span)

        def on_step(step, total):
            if step == 10:
                services.generation_job_cancel(job=job)
            return inner(step, total)

        return on_step

    monkeypatch.setattr(services, "_progress_callback", cancel_midway)
    generation_jobs_run(job_ids=[job.id])
    job.refresh_from_db()
    assert job.status == "cancelled" and job.error == "Cancelled by the owner."
    assert not GeneratedImage.objects.filter(job=job).exists()
