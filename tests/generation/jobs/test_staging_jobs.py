"""Real photos through the API: a product photo in, one listing per persona out that shows the same
product at ≥ 1024 px; bad photos and cut-out corrections answered with what to do."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generation.imaging.cutout import cut_out
from generation.imaging.layout import place
from generation.models import GeneratedImage, GenerationJob, GenerationSettings, Listing, ProductStaging
from generation.real_photos import real_photos
from generation.services import generation_jobs_request, generation_jobs_run
from profiles.services import product_upsert

pytestmark = pytest.mark.django_db
TEST_PHOTO = real_photos(split="test")[0]
REJECT_PHOTO = real_photos(split="reject")[0]


def upload(path_or_image, name: str = "photo.jpg") -> SimpleUploadedFile:
    if isinstance(path_or_image, Image.Image):
        buffer = io.BytesIO()
        path_or_image.save(buffer, format="PNG")
        return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")
    return SimpleUploadedFile(path_or_image.name, path_or_image.read_bytes(), content_type="image/jpeg")


@pytest.fixture
def real_product(shop):
    return product_upsert(shop=shop, external_id="bowl-1", title="手作陶碗", category=TEST_PHOTO.category,
                          image=upload(TEST_PHOTO.path))[0]


def stored_image(field) -> Image.Image:
    with field.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


def product_region_error(listing_image: Image.Image, photo: Image.Image, category: str) -> float:
    """Mean absolute difference (of 255) between the listing and the photo inside the product's matte,
    where the layout put it: the product's own pixels must be there."""
    cutout = cut_out(photo)
    placement = place(cutout.alpha, category=category, long_side=max(listing_image.size))
    rows, cols = np.nonzero(cutout.alpha > 0.98)
    x0, y0, x1, y1 = placement.box
    top, left = rows.min(), cols.min()
    height, width = cutout.alpha.shape
    crop_h, crop_w = rows.max() + 1 - top, cols.max() + 1 - left
    box = photo.convert("RGB").crop((left, top, left + crop_w, top + crop_h)).resize((x1 - x0, y1 - y0))
    inside = np.asarray(Image.fromarray((cutout.alpha[top:top + crop_h, left:left + crop_w] > 0.98)
                                        .astype(np.uint8) * 255).resize((x1 - x0, y1 - y0))) > 127
    listed = np.asarray(listing_image.convert("RGB").crop(placement.box), np.float32)
    return float(np.abs(listed - np.asarray(box, np.float32))[inside].mean())


def test_a_real_photo_becomes_one_draft_per_persona_at_1024_px_that_keeps_the_product(
        api, shop, real_product, personas, tiny_weights):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0)
    response = api.post("/api/v1/generation-jobs", data={"product_id": "bowl-1"}, format="json")
    assert response.status_code == 202
    ids = [job["id"] for job in response.json()]
    generation_jobs_run(job_ids=ids)
    listings = Listing.objects.filter(job_id__in=ids)
    assert listings.count() == len(personas) and {listing.status for listing in listings} == {"draft"}
    photo = Image.open(TEST_PHOTO.path)
    for listing in listings:
        image = stored_image(listing.image.image)
        assert max(image.size) >= 1024 and image.format in ("WEBP", "JPEG")
        assert listing.image.image.size < 600 * 1024
        assert product_region_error(image, photo, TEST_PHOTO.category) < 12  # its own pixels (WebP, light match)
        assert max(stored_image(listing.image.preview).size) <= 256
    job = api.get(f"/api/v1/generation-jobs/{ids[0]}").json()
    assert job["images"][0]["scene_url"] and job["images"][0]["preview_url"]


def test_personas_get_different_scenes_around_the_same_product(shop, real_product, personas, tiny_weights):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0)
    request = generation_jobs_request(shop=shop, product=real_product, personas=personas)
    generation_jobs_run(job_ids=[job.id for job in request.jobs])
    first, second = (np.asarray(stored_image(image.image).convert("RGB").resize((64, 64)), np.float32)
                     for image in GeneratedImage.objects.filter(job__in=request.jobs).order_by("job_id"))
    assert np.abs(first - second).mean() > 1.0


def test_a_photo_under_256_px_is_refused_naming_the_minimum(api, shop, personas):
    small = Image.open(TEST_PHOTO.path).convert("RGB").resize((200, 150))
    product_upsert(shop=shop, external_id="tiny", title="小图", image=upload(small, "tiny.png"))
    response = api.post("/api/v1/generation-jobs", data={"product_id": "tiny"}, format="json")
    assert response.status_code == 400 and "256" in str(response.json())


def test_a_photo_with_no_clear_product_fails_its_jobs_with_what_to_do(shop, personas, tiny_weights):
    product = product_upsert(shop=shop, external_id="scene", title="风景", image=upload(REJECT_PHOTO.path))[0]
    request = generation_jobs_request(shop=shop, product=product, personas=personas[:1])
    generation_jobs_run(job_ids=[request.jobs[0].id])
    job = GenerationJob.objects.get(pk=request.jobs[0].pk)
    assert job.status == "failed" and "upload a cut-out or mark the product" in job.error
    assert not GeneratedImage.objects.filter(job=job).exists()


def test_a_mask_of_the_wrong_size_is_a_400_naming_both_sizes(api, real_product):
    photo = Image.open(TEST_PHOTO.path)
    mask = Image.new("L", (photo.width // 2, photo.height // 2), 255)
    response = api.put("/api/v1/products/bowl-1/cutout", data={"mask": upload(mask, "mask.png")},
                       format="multipart")
    assert response.status_code == 400
    text = str(response.json())
    assert f"{photo.width}×{photo.height}" in text.replace("x", "×") and \
        f"{mask.width}×{mask.height}" in text.replace("x", "×")


def test_an_owner_mask_replaces_the_cut_out_and_stages_the_finished_jobs_again(
        api, shop, real_product, personas, tiny_weights):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0)
    request = generation_jobs_request(shop=shop, product=real_product, personas=personas)
    generation_jobs_run(job_ids=[job.id for job in request.jobs])
    truth = Image.open(TEST_PHOTO.mask_path)
    response = api.put("/api/v1/products/bowl-1/cutout", data={"mask": upload(truth, "mask.png")},
                       format="multipart")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["source"] == "owner-mask" and len(body["restaged_job_ids"]) == len(personas)
    staging = ProductStaging.objects.get(product=real_product)
    alpha = np.asarray(stored_image(staging.alpha)) > 127
    assert (alpha == (np.asarray(truth) > 127)).mean() > 0.999
    assert set(GenerationJob.objects.filter(pk__in=[job.id for job in request.jobs])
               .values_list("status", flat=True)) == {"superseded"}


def test_a_rectangle_re_runs_the_segmenter_inside_it(api, real_product):
    truth = np.asarray(Image.open(TEST_PHOTO.mask_path)) > 127
    rows, cols = np.nonzero(truth)
    margin = 10
    rectangle = [int(cols.min()) - margin, int(rows.min()) - margin, int(cols.max()) + 1 + margin,
                 int(rows.max()) + 1 + margin]  # x1, y1 exclusive
    response = api.put("/api/v1/products/bowl-1/cutout", data={"rectangle": rectangle}, format="json")
    assert response.status_code == 200 and response.json()["source"] == "owner-rectangle"
    alpha = np.asarray(stored_image(ProductStaging.objects.get(product=real_product).alpha)) > 127
    outside = np.ones_like(alpha)
    outside[max(rectangle[1], 0):rectangle[3], max(rectangle[0], 0):rectangle[2]] = False
    assert not (alpha & outside).any()
    assert (alpha & truth).sum() / (alpha | truth).sum() > 0.8


def test_another_shops_product_cut_out_is_not_found(other_api, real_product):
    assert other_api.get("/api/v1/products/bowl-1/cutout").status_code == 404
    assert other_api.put("/api/v1/products/bowl-1/cutout", data={"customisable": True},
                         format="json").status_code == 404


def test_a_customisable_product_gets_the_persona_motif_printed_on_it(api, shop, real_product, personas,
                                                                     tiny_weights):
    GenerationSettings.objects.create(shop=shop)  # the default threshold, lowered for prints
    assert api.put("/api/v1/products/bowl-1/cutout", data={"customisable": True}, format="json").json()["customisable"]
    request = generation_jobs_request(shop=shop, product=real_product, personas=personas)
    generation_jobs_run(job_ids=[job.id for job in request.jobs])
    images = [stored_image(image.image) for image in GeneratedImage.objects.filter(job__in=request.jobs)]
    photo = Image.open(TEST_PHOTO.path)
    errors = [product_region_error(image, photo, TEST_PHOTO.category) for image in images]
    assert min(errors) > 8  # printed on: not the photo's pixels any more
    assert all(GeneratedImage.objects.filter(job__in=request.jobs).values_list("accepted", flat=True))
