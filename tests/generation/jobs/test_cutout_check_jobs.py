"""Auto-approve and the cut-out check, on real test-split photos: no automatic cut-out is published
before a person confirms it, however sure the check is; a flagged one tells the owner why to look
first; the owner's mask counts as confirmed."""

from __future__ import annotations

import html

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from generation.models import GenerationJob, GenerationSettings, Listing, ListingAudit, ProductStaging
from generation.product_staging import product_cutout_get, product_photo_load
from generation.real_photos import real_photos
from generation.services import generation_jobs_request, generation_jobs_run
from profiles.services import product_upsert
from tests.dashboard.factories import owner_of
from tests.generation.jobs.test_staging_jobs import upload

pytestmark = pytest.mark.django_db
PHOTOS = {photo.path.name: photo for photo in real_photos(split="test")}
CONFIDENT = PHOTOS["coffee_cup_table.jpg"]  # the segmenter's cut-out: IoU 0.99 against the hand mask
UNSURE = PHOTOS["famille_rose_hanging_vase_studio.jpg"]  # IoU 0.84: part of the stand kept, the neck's top lost


def product_of(shop, external_id: str, photo):
    return product_upsert(shop=shop, external_id=external_id, title=photo.stem, category=photo.category,
                          image=upload(photo.path))[0]


def run_jobs(shop, product, personas) -> list[GenerationJob]:
    jobs = generation_jobs_request(shop=shop, product=product, personas=personas).jobs
    generation_jobs_run(job_ids=[job.id for job in jobs])
    return jobs


@pytest.fixture
def auto_approve(shop):
    return GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=0.0)


def test_no_automatic_cut_out_is_published_before_a_person_confirms_it_flagged_or_confident(
        shop, personas, tiny_weights, auto_approve):
    confident, unsure = product_of(shop, "cup-1", CONFIDENT), product_of(shop, "vase-2", UNSURE)
    confident_jobs = run_jobs(shop, confident, personas[:1])
    unsure_jobs = run_jobs(shop, unsure, personas[:1])
    assert {job.status for job in GenerationJob.objects.filter(pk__in=[j.pk for j in confident_jobs + unsure_jobs])} \
        == {"succeeded"}  # fidelity passes both: it trusts the cut-out
    sure = ProductStaging.objects.get(product=confident)
    assert not sure.confidence_flagged and sure.confidence >= 0.5 and not sure.cutout_confirmed
    flagged = ProductStaging.objects.get(product=unsure)
    assert flagged.confidence_flagged and flagged.confidence < 0.5 and flagged.confidence_reasons
    assert not flagged.cutout_confirmed
    for job in confident_jobs + unsure_jobs:  # the check's score is advice: it publishes nothing
        held = Listing.objects.get(job=job)
        assert held.status == "draft" and not ListingAudit.objects.filter(listing=held).exists()


def test_the_cut_out_api_and_the_job_page_say_why_and_to_confirm_the_cut_out(
        api, shop, personas, tiny_weights, auto_approve):
    unsure = product_of(shop, "vase-2", UNSURE)
    job = run_jobs(shop, unsure, personas[:1])[0]
    body = api.get("/api/v1/products/vase-2/cutout").json()
    assert body["source"] == "segmenter" and body["flagged"] is True and body["confidence"] < 0.5
    assert body["reasons"] == ProductStaging.objects.get(product=unsure).confidence_reasons and body["reasons"]
    assert body["advice"].startswith("Check the cut-out") and "This cut-out is right" in body["advice"]
    assert body["confirmed"] is False and body["confirmed_by"] == "" and body["confirmed_at"] is None
    dashboard = Client()
    dashboard.force_login(owner_of(shop))
    page = html.unescape(dashboard.get(f"/dashboard/generation/jobs/{job.id}/").content.decode())
    assert page.count("Check the cut-out") == 1 and "Not published automatically: confirm the cut-out first." in page
    assert all(reason[:1].upper() + reason[1:] in page for reason in body["reasons"])
    assert "This cut-out is right</button>" in page

    product_of(shop, "cup-1", CONFIDENT)
    confident = api.get("/api/v1/products/cup-1/cutout").json()  # the GET cuts it out, and checks it
    assert confident["flagged"] is False and confident["confidence"] >= 0.5 and confident["reasons"] == []
    assert confident["confirmed"] is False and confident["advice"].startswith("Look at the cut-out")


def test_the_owners_mask_counts_as_confirmed_and_the_listing_drawn_again_is_published(
        api, shop, personas, tiny_weights, auto_approve):
    unsure = product_of(shop, "vase-2", UNSURE)
    first = run_jobs(shop, unsure, personas[:1])[0]
    assert Listing.objects.get(job=first).status == "draft"
    mask = upload(Image.open(UNSURE.mask_path), "mask.png")
    response = api.put("/api/v1/products/vase-2/cutout", data={"mask": mask}, format="multipart")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["source"] == "owner-mask" and body["flagged"] is False and body["confidence"] == 1.0
    assert body["reasons"] == [] and body["advice"] == ""
    assert body["confirmed"] is True and body["confirmed_by"].startswith("api-key:") and body["confirmed_at"]
    generation_jobs_run(job_ids=body["restaged_job_ids"])
    again = Listing.objects.get(job_id=body["restaged_job_ids"][0])
    assert again.status == "published"
    assert ListingAudit.objects.filter(listing=again, actor="policy:auto-approve").count() == 2


def test_an_owner_rectangle_runs_the_check_again_with_the_rectangle(api, shop):
    jade = PHOTOS["jade_bi_disc_studio.jpg"]
    product_of(shop, "disc-1", jade)
    truth = np.asarray(Image.open(jade.mask_path)) > 127
    rows, cols = np.nonzero(truth)
    rectangle = [int(cols.min()) - 10, int(rows.min()) - 10, int(cols.max()) + 10, int(rows.max()) + 10]
    body = api.put("/api/v1/products/disc-1/cutout", data={"rectangle": rectangle}, format="json").json()
    assert body["source"] == "owner-rectangle" and body["flagged"] is False
    assert 0.5 <= body["confidence"] < 1.0  # measured, not taken on trust as an uploaded mask is
    signals = ProductStaging.objects.get(product__external_id="disc-1").confidence_signals
    assert signals["stability"] > 0.95  # the re-runs were boxed by the same rectangle


def test_a_cut_out_stored_before_the_check_is_checked_when_it_is_next_used(shop):
    unsure = product_of(shop, "vase-2", UNSURE)
    photo = product_photo_load(product=unsure)
    product_cutout_get(product=unsure, photo=photo)
    ProductStaging.objects.filter(product=unsure).update(confidence=None, confidence_flagged=False,
                                                         confidence_reasons=[], confidence_signals={})
    product_cutout_get(product=unsure, photo=photo)  # the stored cut-out, not a new one
    staging = ProductStaging.objects.get(product=unsure)
    assert staging.confidence is not None and staging.confidence_flagged and staging.confidence_reasons
