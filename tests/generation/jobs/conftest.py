"""A shop with a product photo, personas, and a tiny randomly initialised UPCDM saved to disk."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generation.generator import load_generator
from generation.model.pipeline_upcdm import UPCDMPipeline, sampling_scheduler, training_scheduler
from generation.rendering import render_original
from profiles.models import Persona
from profiles.services import product_upsert
from tests.generation.model.conftest import randomise_zero_convs, tiny_models


@pytest.fixture
def tiny_weights(tmp_path, settings):
    unet, controlnet = tiny_models()
    randomise_zero_convs(controlnet)
    pipe = UPCDMPipeline(unet=unet, scheduler=sampling_scheduler("dpmsolver++", training_scheduler()),
                         controlnet=controlnet)
    pipe.save_weights(tmp_path / "weights")
    settings.GENERATION_MODEL_DIR = tmp_path / "weights"
    settings.GENERATION_STEPS = 2
    load_generator.cache_clear()
    yield tmp_path / "weights"
    load_generator.cache_clear()


def photo_upload(shape: str = "vase", seed: int = 3, size: int = 256) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    render_original(shape, seed=seed, size=size).save(buffer, format="PNG")
    return SimpleUploadedFile(f"{shape}.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def product(shop):
    return product_upsert(shop=shop, external_id="vase-1", title="青花瓷瓶", category="vase",
                          image=photo_upload())[0]


def cutout_confirmed(product):
    """The owner looked at the product's cut-out and said it is right: auto-approve may publish its listings."""
    from generation.product_staging import product_cutout_confirm, product_cutout_get, product_photo_load

    product_cutout_get(product=product, photo=product_photo_load(product=product))
    product_cutout_confirm(shop=product.shop, product=product, actor="user:owner")
    return product


@pytest.fixture
def personas(shop):
    heritage = Persona.objects.create(shop=shop, name="heritage", size=10, demand_mix={"L2": 0.7, "L1": 0.3},
                                      sentiment=0.8, kansei={"warm": 0.9, "simple": 0.4},
                                      top_keywords=[["青花", 1.0], ["非遗", 0.6]])
    green = Persona.objects.create(shop=shop, name="green", size=8, demand_mix={"L5": 1.0}, sentiment=0.6,
                                   kansei={"light": 0.9}, top_keywords=[["环保", 1.0]])
    return [heritage, green]
