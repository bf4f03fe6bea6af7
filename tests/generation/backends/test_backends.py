"""SD + ControlNet backend and BLIP-2 captioner loaded through our code from tiny saved components."""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may be downloaded

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from generation.backends.captioner import base_caption, caption_question, load_captioner
from generation.backends.sd_controlnet import PersonaPrompt, SDControlNetBackend, canny_edges, persona_prompt
from tests.generation.backends.tiny_components import save_tiny_blip2, save_tiny_sd_controlnet

PERSONAS = [
    PersonaPrompt(keywords={"祥云": 3.0, "vintage": 1.0}, emotion_words=("elegant",), demand_types={"L2": 0.7, "L0": 0.3}, sentiment=0.6),
    PersonaPrompt(keywords={"minimal": 2.0}, emotion_words=("calm",), demand_types={"L0": 1.0}, sentiment=-0.5),
]


def product_photo(size: int = 64) -> Image.Image:
    image = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(image).ellipse((12, 12, size - 12, size - 12), fill=(180, 40, 40))
    return image


@pytest.fixture(scope="module")
def sd_backend(tmp_path_factory) -> SDControlNetBackend:
    root = tmp_path_factory.mktemp("sd")
    return SDControlNetBackend.from_directory(save_tiny_sd_controlnet(root / "model", root), product_token="sks")


@pytest.fixture(scope="module")
def blip2_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("blip2")
    return save_tiny_blip2(root / "model", root)


def test_prompt_carries_persona_words_class_and_token():
    prompt, negative = persona_prompt(PERSONAS[0], product_class="fan", product_token="sks",
                                      base_caption="a fan lying on a wooden table")
    assert prompt.startswith("a fan sks lying on a wooden table")
    for word in ("elegant", "auspicious cloud scrolls", "vintage", "rich traditional cultural motifs", "bright joyful"):
        assert word in prompt
    assert "deformed fan" in negative and "sks" not in negative


def test_prompt_adds_token_when_caption_does_not_start_with_class():
    prompt, _ = persona_prompt(PERSONAS[1], product_class="vase", product_token="sks", base_caption="Blue porcelain 青花")
    assert prompt.startswith("a vase sks, Blue porcelain 青花") and "minimal" in prompt and "calm" in prompt


def test_canny_edges_trace_the_outline_only():
    edges = np.asarray(canny_edges(product_photo()).convert("L"))
    assert edges.shape == (64, 64) and set(np.unique(edges)) <= {0, 255}
    assert edges[32, 32] == 0 and edges[0, 0] == 0  # inside and background are flat
    assert 20 < (edges > 0).sum() < 64 * 64 // 4


def test_loaded_pipeline_uses_dpm_solver(sd_backend):
    assert type(sd_backend.pipeline.scheduler).__name__ == "DPMSolverMultistepScheduler"


def test_generate_one_image_per_persona_deterministic(sd_backend):
    kwargs = dict(product_class="fan", base_caption="a fan", seed=7, num_inference_steps=2)
    first = sd_backend.generate(product_photo(), PERSONAS, **kwargs)
    again = sd_backend.generate(product_photo(), PERSONAS, **kwargs)
    other = sd_backend.generate(product_photo(), PERSONAS, **{**kwargs, "seed": 8})
    assert len(first) == 2 and all(image.size == (64, 64) for image in first)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, again))
    assert not np.array_equal(np.asarray(first[0]), np.asarray(other[0]))


def test_wrong_model_directory_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        SDControlNetBackend.from_directory(tmp_path / "absent")
    (tmp_path / "unet").mkdir()
    with pytest.raises(ValueError, match=r"lacks model_index.json, vae.*controlnet.*save_pretrained"):
        SDControlNetBackend.from_directory(tmp_path)


def test_caption_from_local_blip2_starts_with_the_class(blip2_dir):
    captioner = load_captioner(blip2_dir)
    caption = base_caption(product_photo(), product_class="fan", title="Cloud fan", captioner=captioner)
    assert caption.startswith("a fan")
    assert caption == captioner.caption(product_photo(), "fan")  # greedy decoding is deterministic


def test_caption_question_is_seed_001_template():
    assert caption_question("sneaker") == "Question: Based on the image, describe the context starting with 'a sneaker'? Answer:"


def test_without_captioner_the_title_is_the_caption():
    assert load_captioner("") is None and load_captioner(None) is None
    assert base_caption(product_photo(), product_class="fan", title=" Cloud fan ", captioner=None) == "Cloud fan"
    with pytest.raises(ValueError, match="title"):
        base_caption(None, product_class="fan", title="", captioner=None)


def test_wrong_captioner_directory(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_captioner(tmp_path / "absent")
    with pytest.raises(ValueError, match="lacks config.json"):
        load_captioner(tmp_path)
