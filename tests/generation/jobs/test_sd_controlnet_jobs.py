"""Generation jobs on the Stable Diffusion + ControlNet inpainting backend, from tiny random components on disk:
the stager inpaints the scene around the product placed on the canvas, the runner composites the photo's
own pixels over it at the listing's size."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may be downloaded

import numpy as np
import pytest
from PIL import Image

from generation import services
from generation.backends.sd_controlnet import scene_prompt
from generation.generator import (
    GeneratorUnavailable,
    SDInpaintStager,
    current_generator,
    load_generator,
    persona_prompt_of,
    product_class_of,
)
from generation.imaging.cutout import cut_out
from generation.imaging.layout import place
from generation.models import GeneratedImage, GenerationSettings, JobStatus, Listing
from generation.product_staging import product_photo_load
from generation.services import generation_job_cancel, generation_jobs_request, generation_jobs_run
from generation.staging import placed_photo
from profiles.services import product_upsert
from tests.generation.backends.tiny_components import save_tiny_blip2, save_tiny_sd_controlnet
from tests.generation.jobs.conftest import photo_upload

pytestmark = pytest.mark.django_db
PHOTO_SIZE = 256
WORKING_SIZE = 64  # the placed canvas the stager draws on (512 px for SD 1.5)


@pytest.fixture(scope="module")
def sd_model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd")
    return save_tiny_sd_controlnet(root / "model", root)


@pytest.fixture
def sd_settings(settings, sd_model_dir, monkeypatch):
    settings.GENERATION_BACKEND = "sd-controlnet"
    settings.GENERATION_MODEL_DIR = sd_model_dir
    settings.GENERATION_CAPTIONER_DIR = ""
    settings.GENERATION_STEPS = 2
    monkeypatch.setattr("generation.generator.SD_WORKING_SIZE", WORKING_SIZE)
    load_generator.cache_clear()
    yield sd_model_dir
    load_generator.cache_clear()


@pytest.fixture
def large_product(shop):
    return product_upsert(shop=shop, external_id="vase-96", title="青花瓷瓶", category="花瓶",
                          image=photo_upload(size=PHOTO_SIZE))[0]


def spy_on(monkeypatch, owner, name: str) -> list[tuple[tuple, dict]]:
    """The (args, kwargs) of every call to owner.name, which still runs."""
    calls, real = [], getattr(owner, name)

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def staged_inputs(product):
    photo = product_photo_load(product=product).image
    cutout = cut_out(photo)
    return {"photo": photo, "cutout": cutout, "placement": place(cutout.alpha, category="vase", long_side=1024)}


def test_a_job_batch_inpaints_every_personas_scene_around_the_kept_product(shop, large_product, personas,
                                                                          sd_settings, monkeypatch):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0)
    stager = current_generator()
    assert isinstance(stager, SDInpaintStager)
    batches = spy_on(monkeypatch, stager.backend, "stage")
    ids = [job.id for job in generation_jobs_request(shop=shop, product=large_product, personas=personas).jobs]
    generation_jobs_run(job_ids=ids)
    assert [len(persona_prompts) for (_, _, persona_prompts), _ in batches] == [2]  # one batch a product
    (canvas, matte, _), _ = batches[0]
    assert canvas.size == (WORKING_SIZE, WORKING_SIZE) and matte.shape == (WORKING_SIZE, WORKING_SIZE)
    assert Listing.objects.filter(job_id__in=ids).count() == 2
    for image in GeneratedImage.objects.filter(job_id__in=ids):
        with image.image.open("rb") as handle:
            assert max(Image.open(handle).size) >= 1024
        with image.scene.open("rb") as handle:
            assert Image.open(handle).size == (WORKING_SIZE, WORKING_SIZE)


def test_the_stager_keeps_the_product_where_it_was_placed(large_product, personas, sd_settings):
    inputs = staged_inputs(large_product)
    scenes = current_generator().stage(**inputs, product=large_product, personas=personas, seed=3, steps=2,
                                       on_step=lambda step, total: True)
    canvas, matte = placed_photo(inputs["photo"], inputs["cutout"], inputs["placement"], WORKING_SIZE)
    product = matte == 1.0
    assert [scene.size for scene in scenes] == [(WORKING_SIZE, WORKING_SIZE)] * 2
    for scene in scenes:
        assert np.array_equal(np.asarray(scene)[product], np.asarray(canvas)[product])
    assert not np.array_equal(np.asarray(scenes[0])[~product], np.asarray(scenes[1])[~product])


def test_cancelling_the_job_mid_sampling_stops_it(shop, large_product, personas, sd_settings, monkeypatch):
    job = generation_jobs_request(shop=shop, product=large_product, personas=personas[:1]).jobs[0]
    real, steps_seen = services._progress_callback, []

    def cancel_at_step_2(jobs, start, span):
        report = real(jobs, start, span)

        def on_step(step, total):
            steps_seen.append(step)
            if step == 2:
                generation_job_cancel(job=job)
            return report(step, total)

        return on_step

    monkeypatch.setattr(services, "_progress_callback", cancel_at_step_2)
    monkeypatch.setattr(services.settings, "GENERATION_STEPS", 6)
    generation_jobs_run(job_ids=[job.id])
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and not GeneratedImage.objects.filter(job=job).exists()
    assert steps_seen == [1, 2, 3, 4, 5]  # the callback checks the job every 5 steps, then sampling stops


def test_a_wrong_model_directory_fails_the_job_naming_the_missing_files(shop, product, personas, sd_settings,
                                                                       settings, tmp_path):
    (tmp_path / "unet").mkdir()
    settings.GENERATION_MODEL_DIR = tmp_path
    job = generation_jobs_request(shop=shop, product=product, personas=personas[:1]).jobs[0]
    generation_jobs_run(job_ids=[job.id])
    job.refresh_from_db()
    assert job.status == "failed"
    assert f"GENERATION_MODEL_DIR={tmp_path}" in job.error
    assert "lacks model_index.json, vae, text_encoder, tokenizer, scheduler, controlnet" in job.error


def test_the_persona_row_becomes_the_scene_prompt(personas):
    heritage, green = (persona_prompt_of(persona) for persona in personas)
    assert heritage.keywords == {"青花": 1.0, "非遗": 0.6} and heritage.emotion_words == ("warm",)
    assert heritage.sentiment == pytest.approx(0.6) and green.emotion_words == ("light",)
    prompt, _ = scene_prompt(heritage, product_class="vase", product_token="sks", base_caption="青花瓷瓶")
    for words in ("a vase sks, 青花瓷瓶", "on a carved rosewood stand", "warm amber and terracotta palette",
                  "bright warm sunlight", "backdrop motifs of blue-and-white porcelain, 非遗", "warm mood",
                  "rich traditional cultural motifs"):
        assert words in prompt
    green_prompt = scene_prompt(green, product_class="vase", product_token="sks", base_caption="")[0]
    for words in ("on a raw stone slab among green leaves", "airy pastel palette", "natural eco-friendly materials"):
        assert words in green_prompt


def test_the_product_class_is_the_category_in_english_or_a_fallback(shop, large_product):
    assert product_class_of(large_product) == "vase"
    fan = product_upsert(shop=shop, external_id="fan", title="Cloud fan", category="folding_fan")[0]
    bare = product_upsert(shop=shop, external_id="misc", title="Cloud fan")[0]
    assert product_class_of(fan) == "folding fan" and product_class_of(bare) == "product"


def test_a_configured_blip2_captioner_writes_the_base_caption_once_per_product(sd_settings, settings, tmp_path,
                                                                             large_product, personas, monkeypatch):
    settings.GENERATION_CAPTIONER_DIR = str(save_tiny_blip2(tmp_path / "blip2", tmp_path))
    stager = current_generator()
    assert isinstance(stager, SDInpaintStager) and stager.captioner is not None
    questions = spy_on(monkeypatch, stager.captioner, "caption")
    batches = spy_on(monkeypatch, stager.backend, "stage")
    inputs = staged_inputs(large_product)
    photo, _ = placed_photo(inputs["photo"], inputs["cutout"], inputs["placement"], WORKING_SIZE)
    for seed in (1, 2):  # a second staging after a failed fidelity check
        stager.stage(**inputs, product=large_product, personas=personas[:1], seed=seed, steps=1,
                     on_step=lambda step, total: True)
    captions = [kwargs["base_caption"] for _, kwargs in batches]
    assert [product_class for (_, product_class), _ in questions] == ["vase"]
    assert captions[0] == captions[1] and captions[0].startswith("a vase")
    (captioned, _), _ = questions[0]  # the product alone on white, not the canvas it was placed on
    assert captioned.getpixel((0, 0)) == (255, 255, 255) and captioned.getpixel((32, 32)) == photo.getpixel((32, 32))


def test_a_wrong_captioner_directory_says_how_to_fix_it(sd_settings, settings, tmp_path):
    settings.GENERATION_CAPTIONER_DIR = str(tmp_path / "absent")
    with pytest.raises(GeneratorUnavailable, match="CAPTIONER_DIR=.*does not exist.*leave the setting empty"):
        current_generator()
