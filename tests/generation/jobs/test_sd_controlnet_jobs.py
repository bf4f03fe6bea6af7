"""Generation jobs on the Stable Diffusion + ControlNet backend, from tiny random components on disk."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may be downloaded

import pytest
from PIL import Image

from generation import services
from generation.backends.sd_controlnet import persona_prompt
from generation.generator import (
    GeneratorUnavailable,
    SDControlNetRedrawer,
    current_generator,
    load_generator,
    persona_prompt_of,
    product_class_of,
)
from generation.models import GeneratedImage, GenerationJob, GenerationSettings, Listing
from generation.services import generation_job_cancel, generation_jobs_request, generation_jobs_run
from profiles.services import product_upsert
from tests.generation.backends.tiny_components import save_tiny_blip2, save_tiny_sd_controlnet
from tests.generation.jobs.conftest import photo_upload

pytestmark = pytest.mark.django_db
PHOTO_SIZE = 96  # larger than the UPCDM's 64: SD draws at the photo's size, with no upscaling


@pytest.fixture(scope="module")
def sd_model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd")
    return save_tiny_sd_controlnet(root / "model", root)


@pytest.fixture
def sd_settings(settings, sd_model_dir):
    settings.GENERATION_BACKEND = "sd-controlnet"
    settings.GENERATION_MODEL_DIR = sd_model_dir
    settings.GENERATION_CAPTIONER_DIR = ""
    settings.GENERATION_STEPS = 2
    load_generator.cache_clear()
    yield sd_model_dir
    load_generator.cache_clear()


@pytest.fixture
def large_product(shop):
    return product_upsert(shop=shop, external_id="vase-96", title="青花瓷瓶", category="花瓶",
                          image=photo_upload(size=PHOTO_SIZE))[0]


def stored_size(field) -> tuple[int, int]:
    with field.open("rb") as handle:
        return Image.open(handle).size


def spy_on(monkeypatch, owner, name: str) -> list[tuple[tuple, dict]]:
    """The (args, kwargs) of every call to owner.name, which still runs."""
    calls, real = [], getattr(owner, name)

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_a_job_runs_end_to_end_with_all_personas_in_one_batch(shop, large_product, personas, sd_settings,
                                                              monkeypatch):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0)
    batches = spy_on(monkeypatch, current_generator().backend, "generate")
    ids = [job.id for job in generation_jobs_request(shop=shop, product=large_product, personas=personas).jobs]
    generation_jobs_run(job_ids=ids)
    jobs = GenerationJob.objects.filter(id__in=ids)
    assert {(job.status, job.progress, job.error, job.backend) for job in jobs} == {
        ("succeeded", 100, "", "sd-controlnet")}
    assert [len(persona_prompts) for (_, persona_prompts), _ in batches] == [2]
    for image in GeneratedImage.objects.filter(job__in=jobs):
        assert stored_size(image.image) == (PHOTO_SIZE, PHOTO_SIZE) and not image.upscaled
    listings = Listing.objects.filter(job__in=jobs)
    assert listings.count() == 2
    assert {stored_size(listing.image.best_file) for listing in listings} == {(PHOTO_SIZE, PHOTO_SIZE)}


def test_cancelling_mid_sampling_stops_the_job(shop, large_product, personas, sd_settings, settings, monkeypatch):
    settings.GENERATION_STEPS = 6
    job = generation_jobs_request(shop=shop, product=large_product, personas=personas[:1]).jobs[0]
    steps_seen = []
    real = services._progress_callback

    def cancel_at_step_two(jobs, start, span):
        inner = real(jobs, start, span)

        def on_step(step, total):
            steps_seen.append(step)
            if step == 2:
                generation_job_cancel(job=job)
            return inner(step, total)

        return on_step

    monkeypatch.setattr(services, "_progress_callback", cancel_at_step_two)
    generation_jobs_run(job_ids=[job.id])
    job.refresh_from_db()
    assert job.status == "cancelled" and job.error == "Cancelled by the owner."
    assert steps_seen == [1, 2, 3, 4, 5]  # the callback checks the job every 5 steps, then sampling stops
    assert not GeneratedImage.objects.filter(job=job).exists()


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


def test_the_persona_row_becomes_the_prompt(personas):
    heritage, green = (persona_prompt_of(persona) for persona in personas)
    assert heritage.keywords == {"青花": 1.0, "非遗": 0.6} and heritage.emotion_words == ("warm",)
    assert heritage.sentiment == pytest.approx(0.6) and green.emotion_words == ("light",)
    prompt, _ = persona_prompt(heritage, product_class="vase", product_token="sks", base_caption="青花瓷瓶")
    for words in ("a vase sks, 青花瓷瓶", "warm", "blue-and-white porcelain", "非遗",
                  "rich traditional cultural motifs", "bright joyful atmosphere"):
        assert words in prompt
    assert "natural eco-friendly materials" in persona_prompt(green, product_class="vase", product_token="sks",
                                                              base_caption="")[0]


def test_the_product_class_is_the_category_in_english_or_a_fallback(shop, large_product):
    assert product_class_of(large_product) == "vase"
    fan = product_upsert(shop=shop, external_id="fan", title="Cloud fan", category="folding_fan")[0]
    bare = product_upsert(shop=shop, external_id="misc", title="Cloud fan")[0]
    assert product_class_of(fan) == "folding fan" and product_class_of(bare) == "product"


def test_a_configured_blip2_captioner_writes_the_base_caption_once_per_photo(sd_settings, settings, tmp_path,
                                                                           large_product, personas, monkeypatch):
    settings.GENERATION_CAPTIONER_DIR = str(save_tiny_blip2(tmp_path / "blip2", tmp_path))
    redrawer = current_generator()
    assert isinstance(redrawer, SDControlNetRedrawer) and redrawer.captioner is not None
    questions = spy_on(monkeypatch, redrawer.captioner, "caption")
    batches = spy_on(monkeypatch, redrawer.backend, "generate")
    with large_product.image.open("rb") as handle:
        photo = handle.read()
    for seed in (1, 2):  # a redraw after a failed fidelity check
        redrawer.redraw(photo=photo, product=large_product, personas=personas[:1], seed=seed, steps=1,
                        on_step=lambda step, total: True)
    captions = [kwargs["base_caption"] for _, kwargs in batches]
    assert [product_class for (_, product_class), _ in questions] == ["vase"]
    assert captions[0] == captions[1] and captions[0].startswith("a vase")


def test_a_wrong_captioner_directory_says_how_to_fix_it(sd_settings, settings, tmp_path):
    settings.GENERATION_CAPTIONER_DIR = str(tmp_path / "absent")
    with pytest.raises(GeneratorUnavailable, match="CAPTIONER_DIR=.*does not exist.*leave the setting empty"):
        current_generator()
