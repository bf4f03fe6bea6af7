"""A real product photo in a real browser: the owner confirms its cut-out, and the storefront then shows
the persona's shopper the real product staged for their persona, at listing size; the owner sees its
cut-out and corrects it by drawing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generation.models import GenerationJob, GenerationSettings, Listing, ProductStaging
from generation.real_photos import real_photos
from generation.services import generation_jobs_request, generation_jobs_run
from profiles.services import product_upsert, shop_create
from tests.browser.test_dashboard import a_customer, log_in
from tests.dashboard.factories import customer_for, owner_of, persona_for
from tests.generation.jobs.conftest import tiny_weights  # noqa: F401 - a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHOTO = real_photos(split="test")[0]


@pytest.fixture
def staged(db, tiny_weights):  # noqa: F811 - tiny_weights is the fixture
    shop = shop_create(name="Kiln & Glaze")
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=0.0,
                                      holdout_share=Decimal("0.5"))
    persona = persona_for(shop, "Heritage lovers")
    upload = SimpleUploadedFile(PHOTO.path.name, PHOTO.path.read_bytes(), content_type="image/jpeg")
    product = product_upsert(shop=shop, external_id="bowl-1", title="手作陶碗", category=PHOTO.category,
                             image=upload)[0]
    job = generation_jobs_request(shop=shop, product=product, personas=[persona]).jobs[0]
    generation_jobs_run(job_ids=[job.id])
    viewer = a_customer(shop, holdout=False)
    customer_for(shop, viewer, persona)
    owner_of(shop)
    return {"shop": shop, "product": product, "listing": Listing.objects.get(job=job), "viewer": viewer,
            "job": GenerationJob.objects.get(pk=job.pk)}


def test_the_owner_confirms_the_cut_out_and_the_storefront_shows_the_real_product_staged_at_listing_size(
        page, live_server, staged):
    listing = staged["listing"]
    assert listing.status == "draft"  # auto-approve waits until a person has looked at the cut-out
    log_in(page, live_server.url, "owner")
    page.goto(f"{live_server.url}/dashboard/generation/jobs/{staged['job'].id}/")
    page.get_by_role("button", name="This cut-out is right").click()
    page.get_by_text("Auto-approve published 1 listing(s) of it.").wait_for()
    listing.refresh_from_db()
    assert listing.status == "published"
    assert ProductStaging.objects.get(product=staged["product"]).confirmed_actor == "user:owner"
    page.goto(f"{live_server.url}/store/{staged['shop'].id}/products/bowl-1?customer={staged['viewer']}")
    image = page.get_by_alt_text(listing.title)
    image.wait_for()
    assert "/generated/" in image.get_attribute("src")
    natural = page.evaluate("(img) => [img.complete, img.naturalWidth, img.naturalHeight]", image.element_handle())
    assert natural[0] and max(natural[1:]) >= 1024


def test_the_owner_draws_a_rectangle_around_the_product_and_its_job_is_drawn_again(page, live_server, staged):
    log_in(page, live_server.url, "owner")
    page.goto(f"{live_server.url}/dashboard/generation/jobs/{staged['job'].id}/")
    assert page.get_by_role("heading", name="The cut-out").is_visible()
    assert page.get_by_alt_text("手作陶碗, cut out").is_visible()
    canvas = page.locator("canvas[data-role=mark-canvas]")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 0.05 * box["width"], box["y"] + 0.05 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.95 * box["width"], box["y"] + 0.95 * box["height"], steps=5)
    page.mouse.up()
    assert page.locator("input[name=rectangle]").input_value().startswith("[")
    page.get_by_role("button", name="Save the cut-out and draw again").click()
    assert page.get_by_text("Cut-out saved").is_visible()
    assert ProductStaging.objects.get(product=staged["product"]).source == "owner-rectangle"
    assert GenerationJob.objects.filter(product=staged["product"], status="queued").count() == 1
