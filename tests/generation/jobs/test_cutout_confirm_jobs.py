"""The owner's "this cut-out is right": once per product photo, it lets auto-approve publish the product's
waiting drafts (those above the threshold only); a new photo or a new correction takes it back; it is
scoped by shop; the API and the dashboard button say who confirmed it and when."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from PIL import Image

from generation.models import GenerationSettings, Listing, ListingAudit, ProductStaging
from generation.product_staging import CutoutNotReady, product_cutout_confirm, product_cutout_get, product_photo_load
from generation.services import generation_jobs_run
from profiles.services import product_upsert
from tests.dashboard.factories import owner_of
from tests.generation.jobs.test_cutout_check_jobs import CONFIDENT, PHOTOS, UNSURE, product_of, run_jobs
from tests.generation.jobs.test_staging_jobs import upload

pytestmark = pytest.mark.django_db
AUTO_APPROVE = 0.8


@pytest.fixture
def auto_approve(shop):
    return GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=AUTO_APPROVE)


def drafts_of(shop, product, personas) -> list[Listing]:
    jobs = run_jobs(shop, product, personas)
    listings = [Listing.objects.get(job=job) for job in jobs]
    assert {listing.status for listing in listings} == {"draft"}
    return listings


def test_confirming_publishes_the_waiting_drafts_above_the_threshold_and_not_those_below(
        shop, personas, tiny_weights, auto_approve):
    cup = product_of(shop, "cup-1", CONFIDENT)
    above, below = drafts_of(shop, cup, personas)
    assert above.fidelity >= AUTO_APPROVE
    Listing.objects.filter(pk=below.pk).update(fidelity=AUTO_APPROVE - 0.05)  # a variant that kept less of the cup
    confirmation = product_cutout_confirm(shop=shop, product=cup, actor="user:owner")

    assert [listing.id for listing in confirmation.published] == [above.id]
    above.refresh_from_db(), below.refresh_from_db()
    assert above.status == "published" and below.status == "draft"
    assert list(ListingAudit.objects.filter(listing=above).values_list("action", "actor")) == [
        ("approve", "policy:auto-approve"), ("publish", "policy:auto-approve")]
    staging = ProductStaging.objects.get(product=cup)
    assert staging.cutout_confirmed and staging.confirmed_actor == "user:owner" and staging.confirmed_by is None

    again = product_cutout_confirm(shop=shop, product=cup, actor="user:someone-else")  # nothing more to do
    assert again.published == [] and again.staging.confirmed_at == staging.confirmed_at
    assert again.staging.confirmed_actor == "user:owner"


def test_once_confirmed_the_products_next_jobs_are_published_when_they_finish(shop, personas, tiny_weights,
                                                                             auto_approve):
    cup = product_of(shop, "cup-1", CONFIDENT)
    product_cutout_get(product=cup, photo=product_photo_load(product=cup))
    product_cutout_confirm(shop=shop, product=cup, actor="user:owner")
    jobs = run_jobs(shop, cup, personas)
    assert {Listing.objects.get(job=job).status for job in jobs} == {"published"}


def test_without_auto_approve_confirming_publishes_nothing(shop, personas, tiny_weights):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=None)
    cup = product_of(shop, "cup-1", CONFIDENT)
    drafts = drafts_of(shop, cup, personas[:1])
    assert product_cutout_confirm(shop=shop, product=cup, actor="user:owner").published == []
    assert Listing.objects.get(pk=drafts[0].pk).status == "draft"


def test_a_new_photo_takes_the_confirmation_back_and_its_drafts_wait_again(shop, personas, tiny_weights,
                                                                           auto_approve):
    cup = product_of(shop, "cup-1", CONFIDENT)
    first = drafts_of(shop, cup, personas[:1])[0]
    product_cutout_confirm(shop=shop, product=cup, actor="user:owner")
    assert Listing.objects.get(pk=first.pk).status == "published"

    cup = product_of(shop, "cup-1", PHOTOS["jade_bi_disc_studio.jpg"])  # the owner uploads another photo
    with pytest.raises(CutoutNotReady, match="photo of .* changed since its cut-out was made"):
        product_cutout_confirm(shop=shop, product=cup, actor="user:owner")  # the old cut-out: not this photo's
    product_cutout_get(product=cup, photo=product_photo_load(product=cup))
    staging = ProductStaging.objects.get(product=cup)
    assert not staging.cutout_confirmed and staging.confirmed_actor == "" and staging.cutout_advice
    job = run_jobs(shop, cup, personas[1:])[0]
    assert Listing.objects.get(job=job).status == "draft"  # waits for the new cut-out's confirmation
    assert product_cutout_confirm(shop=shop, product=cup, actor="user:owner").published[0].job_id == job.id


def test_a_new_correction_takes_the_confirmation_back(api, shop, auto_approve):
    cup = product_of(shop, "cup-1", CONFIDENT)
    assert api.get("/api/v1/products/cup-1/cutout").json()["confirmed"] is False
    assert api.post("/api/v1/products/cup-1/cutout/confirm").json()["confirmed"] is True
    rows, cols = np.nonzero(np.asarray(Image.open(CONFIDENT.mask_path)) > 127)
    rectangle = [int(cols.min()) - 10, int(rows.min()) - 10, int(cols.max()) + 10, int(rows.max()) + 10]
    seen = api.get("/api/v1/products/cup-1/cutout").json()["cutout_at"]
    body = api.put("/api/v1/products/cup-1/cutout", data={"rectangle": rectangle}, format="json").json()
    assert body["source"] == "owner-rectangle" and body["confirmed"] is False and body["confirmed_at"] is None
    assert not ProductStaging.objects.get(product=cup).cutout_confirmed
    assert body["cutout_at"] > seen
    stale = api.post("/api/v1/products/cup-1/cutout/confirm", data={"cutout_at": seen}, format="json")
    assert stale.status_code == 409 and "changed since you looked at it" in stale.json()["detail"]
    assert not ProductStaging.objects.get(product=cup).cutout_confirmed
    fresh = api.post("/api/v1/products/cup-1/cutout/confirm", data={"cutout_at": body["cutout_at"]}, format="json")
    assert fresh.status_code == 200 and fresh.json()["confirmed"] is True


def test_there_is_nothing_to_confirm_before_the_cut_out_is_made(api, shop):
    product_of(shop, "cup-1", CONFIDENT)
    response = api.post("/api/v1/products/cup-1/cutout/confirm")
    assert response.status_code == 409
    assert "no cut-out of" in response.json()["detail"] and "GET /api/v1/products/cup-1/cutout" in \
        response.json()["detail"]
    assert not ProductStaging.objects.filter(product__external_id="cup-1", confirmed_at__isnull=False).exists()


def test_another_shop_cannot_confirm_the_cut_out(api, other_api, shop, other_shop, personas, tiny_weights,
                                                auto_approve):
    cup = product_of(shop, "cup-1", CONFIDENT)
    job = run_jobs(shop, cup, personas[:1])[0]
    assert other_api.post("/api/v1/products/cup-1/cutout/confirm").status_code == 404
    stranger = Client()
    stranger.force_login(owner_of(other_shop, username="stranger"))
    assert stranger.post(f"/dashboard/generation/jobs/{job.id}/cutout/confirm/").status_code == 404
    with pytest.raises(ValidationError):
        product_cutout_confirm(shop=other_shop, product=cup, actor="user:stranger")
    assert not ProductStaging.objects.get(product=cup).cutout_confirmed
    assert Listing.objects.get(job=job).status == "draft"


def test_the_api_confirms_and_answers_the_cut_outs_status(api, shop, personas, tiny_weights, auto_approve):
    unsure = product_of(shop, "vase-2", UNSURE)
    listing = drafts_of(shop, unsure, personas[:1])[0]
    response = api.post("/api/v1/products/vase-2/cutout/confirm")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["confirmed"] is True and body["confirmed_by"].startswith("api-key:") and body["confirmed_at"]
    assert body["flagged"] is True and body["reasons"] and body["confidence"] < 0.5  # the advice stays on record
    assert body["advice"] == "" and body["published_listing_ids"] == [listing.id]
    assert Listing.objects.get(pk=listing.pk).status == "published"
    assert api.get("/api/v1/products/vase-2/cutout").json()["confirmed_by"] == body["confirmed_by"]
    schema = api.get("/api/v1/schema/?format=json").json()
    assert "post" in schema["paths"]["/api/v1/products/{product_id}/cutout/confirm"]


def test_the_dashboard_button_confirms_and_the_overview_lists_the_cut_outs_waiting(shop, personas, tiny_weights,
                                                                                  auto_approve):
    cup, vase = product_of(shop, "cup-1", CONFIDENT), product_of(shop, "vase-2", UNSURE)
    cup_job = run_jobs(shop, cup, personas[:1])[0]
    run_jobs(shop, vase, personas)
    owner = owner_of(shop)
    dashboard = Client()
    dashboard.force_login(owner)
    overview = html.unescape(dashboard.get("/dashboard/").content.decode())
    assert "2</span></a><span class=\"label\">products waiting for a cut-out check" in overview
    waiting = overview[overview.index("Cut-outs to check"):]
    assert waiting.index("vase-2") < waiting.index("cup-1")  # the flagged one first
    assert "2 drafts" in waiting and "flagged" in waiting

    job_page = dashboard.get(f"/dashboard/generation/jobs/{cup_job.id}/").content.decode()
    seen = re.search(r'name="cutout_at" value="([^"]+)"', job_page).group(1)  # the cut-out the owner looked at
    response = dashboard.post(f"/dashboard/generation/jobs/{cup_job.id}/cutout/confirm/", {"cutout_at": seen},
                              follow=True)
    page = html.unescape(response.content.decode())
    assert response.redirect_chain[-1][0] == f"/dashboard/generation/jobs/{cup_job.id}/"
    assert f"The cut-out of {cup.title} is confirmed. Auto-approve published 1 listing(s) of it." in page
    assert "Vouched for by user:owner" in page and "This cut-out is right</button>" not in page
    assert "Not published automatically" not in page
    staging = ProductStaging.objects.get(product=cup)
    assert staging.confirmed_by == owner and staging.confirmed_actor == "user:owner"
    assert Listing.objects.get(job=cup_job).status == "published"
    overview = html.unescape(dashboard.get("/dashboard/").content.decode())
    assert "1</span></a><span class=\"label\">product waiting for a cut-out check" in overview
    assert "cup-1" not in overview[overview.index("Cut-outs to check"):]


def test_a_photo_with_its_own_alpha_channel_counts_as_confirmed(shop, personas, tiny_weights, auto_approve):
    photo = Image.open(CONFIDENT.path).convert("RGBA")
    photo.putalpha(Image.open(CONFIDENT.mask_path).convert("L"))  # the owner cut the cup out themselves
    cup = product_upsert(shop=shop, external_id="cup-9", title="cup", category=CONFIDENT.category,
                         image=upload(photo, "cup.png"))[0]
    job = run_jobs(shop, cup, personas[:1])[0]
    staging = ProductStaging.objects.get(product=cup)
    assert staging.source == "alpha-channel" and staging.cutout_confirmed
    assert staging.confirmed_actor == "photo:alpha-channel" and staging.cutout_advice == ""
    assert Listing.objects.get(job=job).status == "published"


def test_confirming_the_new_photos_cut_out_leaves_a_draft_of_the_old_photo_waiting(shop, personas, tiny_weights,
                                                                                 auto_approve):
    cup = product_of(shop, "cup-1", CONFIDENT)
    old = drafts_of(shop, cup, personas[:1])[0]
    cup = product_of(shop, "cup-1", PHOTOS["jade_bi_disc_studio.jpg"])  # a new photo; persona 0 not drawn again
    new = drafts_of(shop, cup, personas[1:])[0]
    assert [listing.id for listing in product_cutout_confirm(shop=shop, product=cup, actor="user:owner").published] \
        == [new.id]
    assert Listing.objects.get(pk=old.pk).status == "draft"  # it shows the old photo, whose cut-out nobody confirmed


def test_the_dashboard_does_not_confirm_a_cut_out_other_than_the_one_the_owner_saw(shop, personas, tiny_weights,
                                                                                  auto_approve):
    cup = product_of(shop, "cup-1", CONFIDENT)
    job = run_jobs(shop, cup, personas[:1])[0]
    dashboard = Client()
    dashboard.force_login(owner_of(shop))
    response = dashboard.post(f"/dashboard/generation/jobs/{job.id}/cutout/confirm/",
                              {"cutout_at": "2026-01-01T00:00:00+00:00"}, follow=True)  # an older cut-out's page
    assert "changed since you looked at it" in html.unescape(response.content.decode())
    assert not ProductStaging.objects.get(product=cup).cutout_confirmed
    assert Listing.objects.get(job=job).status == "draft"


def test_a_correction_made_while_jobs_draw_stages_them_again_and_their_old_cut_out_is_never_published(
        shop, personas, tiny_weights, auto_approve):
    """The owner uploads a mask (which vouches for it) while the product's jobs are drawing with the
    segmenter's cut-out: those jobs finish, but what they drew is not published; they are staged again."""
    from generation.generator import current_generator
    from generation.models import GenerationJob
    from generation.product_staging import product_cutout_correct
    from generation.services import CUTOUT_CHANGED_ACTOR, generation_jobs_request

    cup = product_of(shop, "cup-1", CONFIDENT)
    with open(CONFIDENT.mask_path, "rb") as handle:
        mask = handle.read()
    real = current_generator()

    class OwnerCorrectsMidway:
        def stage(self, **kwargs):
            product_cutout_correct(shop=shop, product=cup, mask=mask, actor="user:owner")
            return real.stage(**kwargs)

    jobs = generation_jobs_request(shop=shop, product=cup, personas=personas).jobs
    generation_jobs_run(job_ids=[job.id for job in jobs], generator=OwnerCorrectsMidway())

    assert ProductStaging.objects.get(product=cup).cutout_confirmed  # the owner's mask vouches for itself
    for job in jobs:
        job.refresh_from_db()
        assert job.status == "superseded"
        assert Listing.objects.get(job=job).status == "retired"  # drawn with the old cut-out: never published
    again = list(GenerationJob.objects.filter(product=cup, status="queued"))
    assert sorted(job.persona_id for job in again) == sorted(p.id for p in personas)
    assert ListingAudit.objects.filter(actor=CUTOUT_CHANGED_ACTOR, action="retire").count() == len(jobs)
    generation_jobs_run(job_ids=[job.id for job in again], generator=real)
    assert {listing.status for listing in Listing.objects.filter(job__in=again)} == {"published"}
