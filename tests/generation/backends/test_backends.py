"""SD + ControlNet inpainting backend and BLIP-2 captioner loaded through our code from tiny saved components."""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may be downloaded

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

from generation.backends.captioner import base_caption, caption_question, load_captioner
from generation.backends.sd_controlnet import (
    PersonaPrompt,
    SDInpaintBackend,
    canny_edges,
    control_image,
    matte_array,
    scene_mask,
    scene_prompt,
)
from generation.model.pipeline_upcdm import SamplingCancelled
from tests.generation.backends.tiny_components import (
    PRODUCT_RED,
    placed_product,
    save_tiny_blip2,
    save_tiny_sd_controlnet,
    save_tiny_sd_controlnet_inpaint,
    tiny_unet,
)

PERSONAS = [
    PersonaPrompt(keywords={"祥云": 3.0, "vintage": 1.0}, emotion_words=("elegant",), demand_types={"L2": 0.7, "L0": 0.3}, sentiment=0.6),
    PersonaPrompt(keywords={"minimal": 2.0}, emotion_words=("calm",), demand_types={"L0": 1.0}, sentiment=-0.5),
]
STAGE = dict(product_class="vase", base_caption="a vase", seed=7, num_inference_steps=3)


def product_photo(size: int = 64) -> Image.Image:
    image = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(image).ellipse((12, 12, size - 12, size - 12), fill=PRODUCT_RED)
    return image


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sd")
    return save_tiny_sd_controlnet(root / "model", root)


@pytest.fixture(scope="module")
def sd_backend(sd_dir) -> SDInpaintBackend:
    return SDInpaintBackend.from_directory(sd_dir, product_token="sks")


@pytest.fixture(scope="module")
def inpainting_unet_backend(tmp_path_factory) -> SDInpaintBackend:
    root = tmp_path_factory.mktemp("sd-inpaint")
    return SDInpaintBackend.from_directory(save_tiny_sd_controlnet_inpaint(root / "model", root))


@pytest.fixture(scope="module")
def blip2_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("blip2")
    return save_tiny_blip2(root / "model", root)


def test_scene_prompt_stages_the_product_for_the_persona():
    prompt, negative = scene_prompt(PERSONAS[0], product_class="fan", product_token="sks",
                                    base_caption="a fan with cloud scrolls")
    assert prompt.startswith("a fan sks with cloud scrolls, on a carved rosewood stand, ")
    for words in ("backdrop of traditional Chinese lattice screens", "ivory and gold palette", "bright warm sunlight",
                  "backdrop motifs of auspicious cloud scrolls, vintage", "elegant mood",
                  "rich traditional cultural motifs", "practical everyday design", "product photography"):
        assert words in prompt
    assert "extra fan" in negative and "deformed fan" in negative and "sks" not in negative


def test_another_persona_gets_another_scene():
    prompt, _ = scene_prompt(PERSONAS[1], product_class="vase", product_token="sks", base_caption="Blue porcelain 青花")
    assert prompt.startswith("a vase sks, Blue porcelain 青花, on a plain light wooden tabletop, clean neutral kitchen")
    for words in ("cool blue-grey palette", "soft muted diffuse light", "backdrop motifs of minimal", "calm mood"):
        assert words in prompt
    assert "rosewood" not in prompt and "sunlight" not in prompt


def test_a_persona_without_demand_or_feelings_gets_a_neutral_studio():
    prompt, _ = scene_prompt(PersonaPrompt(), product_class="scarf", product_token="sks", base_caption="")
    assert prompt == ("a scarf sks, on a plain tabletop, soft neutral studio backdrop, harmonious muted palette, "
                      "soft even daylight, product photography, soft depth of field, high detail")
    with pytest.raises(ValueError, match="non-empty"):
        scene_prompt(PersonaPrompt(), product_class=" ", product_token="sks", base_caption="")


def test_canny_edges_trace_the_outline_only():
    edges = np.asarray(canny_edges(product_photo()).convert("L"))
    assert edges.shape == (64, 64) and set(np.unique(edges)) <= {0, 255}
    assert edges[32, 32] == 0 and edges[0, 0] == 0  # inside and background are flat
    assert 20 < (edges > 0).sum() < 64 * 64 // 4


def test_the_mask_repaints_the_scene_and_keeps_the_product():
    photo, matte = placed_product()
    mask = np.asarray(scene_mask(matte))
    assert mask[32, 32] == 0 and mask[0, 0] == 255  # diffusers repaints white
    assert np.array_equal(mask == 0, matte >= 0.5)


def test_control_images_come_from_the_matte():
    photo, matte = placed_product()
    edges = np.asarray(control_image("edges", photo, matte).convert("L"))
    outline = ndimage.binary_dilation(matte > 0.5, iterations=2) & ~ndimage.binary_erosion(matte > 0.5, iterations=2)
    assert edges.any() and not edges[~outline].any()
    assert np.array_equal(np.asarray(control_image("matte", photo, matte).convert("L")) > 127, matte > 0.5)
    inpaint = control_image("inpaint", photo, matte)
    assert inpaint.shape == (1, 3, 64, 64)
    assert torch.all(inpaint[0, :, 0, 0] == -1)
    assert torch.allclose(inpaint[0, :, 32, 32], torch.tensor(PRODUCT_RED) / 255)


def test_a_matte_that_does_not_fit_is_refused_clearly():
    photo, matte = placed_product()
    with pytest.raises(ValueError, match="matte is 32x64 but the placed photo is 64x64"):
        matte_array(matte[:, :32], photo.size)
    with pytest.raises(ValueError, match="no product"):
        matte_array(np.zeros((64, 64)), photo.size)
    with pytest.raises(ValueError, match="whole canvas"):
        matte_array(np.ones((64, 64)), photo.size)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        matte_array(matte * 2, photo.size)
    assert np.array_equal(matte_array(Image.fromarray((matte * 255).astype(np.uint8)), photo.size), matte)


def test_a_saved_controlnet_pipeline_loads_as_the_inpainting_pipeline(sd_backend, inpainting_unet_backend):
    for backend in (sd_backend, inpainting_unet_backend):
        assert type(backend.pipeline).__name__ == "StableDiffusionControlNetInpaintPipeline"
        assert type(backend.pipeline.scheduler).__name__ == "DPMSolverMultistepScheduler"
    assert not sd_backend.inpainting_unet and inpainting_unet_backend.inpainting_unet


def test_stage_gives_one_deterministic_scene_per_persona_at_the_working_size(sd_backend):
    photo, matte = placed_product()
    first = sd_backend.stage(photo, matte, PERSONAS, **STAGE)
    again = sd_backend.stage(photo, matte, PERSONAS, **STAGE)
    other = sd_backend.stage(photo, matte, PERSONAS, **{**STAGE, "seed": 8})
    assert len(first) == 2 and all(image.size == (64, 64) and image.mode == "RGB" for image in first)
    assert all(np.array_equal(pixels(a), pixels(b)) for a, b in zip(first, again))
    assert not np.array_equal(pixels(first[0]), pixels(other[0]))


def test_a_size_the_unet_cannot_take_comes_back_at_the_working_size(sd_backend):
    photo, matte = placed_product(72)  # the tiny model works on multiples of 16
    scenes = sd_backend.stage(photo, matte, PERSONAS[:1], **STAGE)
    assert [scene.size for scene in scenes] == [(72, 72)]
    assert np.array_equal(pixels(scenes[0])[matte == 1.0], pixels(photo)[matte == 1.0])


def test_the_pipeline_itself_keeps_the_product_and_repaints_the_scene(sd_backend):
    """Mask semantics: with a text-to-image UNet, the pipeline puts the product's latents back after every
    step, so two personas' raw outputs agree inside the matte and differ outside it."""
    photo, matte = placed_product()
    first, second = sd_backend.stage(photo, matte, PERSONAS, **STAGE, keep_product_pixels=False)
    change = np.abs(pixels(first) - pixels(second)).mean(axis=-1)
    # Away from the outline, where the VAE decoder mixes both regions.
    inside = ndimage.binary_erosion(matte > 0.5, iterations=4)
    outside = ndimage.binary_erosion(matte < 0.5, iterations=4)
    assert change[outside].mean() > 20
    assert change[inside].mean() < 0.2 * change[outside].mean()


@pytest.mark.parametrize("backend_name", ["sd_backend", "inpainting_unet_backend"])
def test_the_scene_is_drawn_around_the_products_own_pixels(backend_name, request):
    backend = request.getfixturevalue(backend_name)
    photo, matte = placed_product()
    scenes = backend.stage(photo, matte, PERSONAS, **STAGE)
    product = matte == 1.0
    for scene in scenes:
        assert np.array_equal(pixels(scene)[product], pixels(photo)[product])
        assert np.abs(pixels(scene) - pixels(photo))[matte == 0.0].mean() > 20  # the grey canvas is gone
    assert not np.array_equal(pixels(scenes[0])[~product], pixels(scenes[1])[~product])


def test_the_scene_follows_the_control_image(sd_dir):
    """With the ControlNet's zero convolutions made non-zero (as training makes them), the control image
    made from the matte changes the scene: the scene composes around the product's shape."""
    backend = SDInpaintBackend.from_directory(sd_dir)
    torch.manual_seed(0)
    controlnet = backend.pipeline.controlnet
    zero_convs = [*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block,
                  controlnet.controlnet_cond_embedding.conv_out]
    for conv in zero_convs:
        torch.nn.init.normal_(conv.weight, std=2.0)
    photo, matte = placed_product()
    scenes = {}
    for control in ("edges", "matte", "inpaint"):
        backend.control = control
        scenes[control] = pixels(backend.stage(photo, matte, PERSONAS[:1], **STAGE)[0])
    # Measured 2.6 of 255 on this tiny model; exactly 0 when the control image does not reach the UNet.
    for other in ("matte", "inpaint"):
        assert np.abs(scenes["edges"] - scenes[other])[matte == 0.0].mean() > 1


def test_stage_sends_each_personas_scene_prompt_to_the_pipeline(sd_backend, monkeypatch):
    calls = []
    real_call = type(sd_backend.pipeline).__call__

    def spy(pipeline, **kwargs):
        calls.append(kwargs)
        return real_call(pipeline, **kwargs)

    monkeypatch.setattr(type(sd_backend.pipeline), "__call__", spy)
    photo, matte = placed_product()
    sd_backend.stage(photo, matte, PERSONAS, **STAGE)
    (call,) = calls
    assert call["prompt"] == [scene_prompt(p, product_class="vase", product_token="sks", base_caption="a vase")[0]
                              for p in PERSONAS]
    assert "rosewood" in call["prompt"][0] and "blue-grey" in call["prompt"][1]
    assert np.array_equal(np.asarray(call["mask_image"]), np.asarray(scene_mask(matte)))
    assert call["image"].size == (64, 64) and call["strength"] == 1.0


def test_on_step_returning_false_cancels_sampling(sd_backend):
    photo, matte = placed_product()
    steps = []

    def stop_at_two(step: int, total: int) -> bool:
        steps.append((step, total))
        return step < 2

    with pytest.raises(SamplingCancelled, match="after step 2 of 4"):
        sd_backend.stage(photo, matte, PERSONAS, **{**STAGE, "num_inference_steps": 4}, on_step=stop_at_two)
    assert steps == [(1, 4), (2, 4)]


def test_stage_needs_a_persona(sd_backend):
    photo, matte = placed_product()
    with pytest.raises(ValueError, match="at least one persona"):
        sd_backend.stage(photo, matte, [], **STAGE)


def test_wrong_model_directory_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        SDInpaintBackend.from_directory(tmp_path / "absent")
    (tmp_path / "unet").mkdir()
    with pytest.raises(ValueError, match=r"lacks model_index.json, vae.*controlnet.*save_pretrained"):
        SDInpaintBackend.from_directory(tmp_path)


def test_a_folder_with_unreadable_weights_is_an_os_or_value_error(sd_dir, tmp_path):
    broken = shutil.copytree(sd_dir, tmp_path / "broken")
    for weights in (broken / "unet").glob("diffusion_pytorch_model*"):
        weights.unlink()
    with pytest.raises((OSError, ValueError), match="unet|diffusion_pytorch_model"):
        SDInpaintBackend.from_directory(broken)


def test_a_controlnet_made_from_an_inpainting_unet_is_refused(sd_dir, tmp_path):
    from diffusers import ControlNetModel

    broken = shutil.copytree(sd_dir, tmp_path / "broken")
    shutil.rmtree(broken / "controlnet")
    ControlNetModel.from_unet(tiny_unet(in_channels=9), conditioning_embedding_out_channels=(8, 16)).save_pretrained(
        broken / "controlnet")
    with pytest.raises(ValueError, match="takes 9 input channels but the latents have 4"):
        SDInpaintBackend.from_directory(broken)


def test_weights_that_do_not_fit_their_config_are_a_value_error(sd_dir, tmp_path):
    broken = shutil.copytree(sd_dir, tmp_path / "broken")
    config_file = broken / "controlnet" / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "in_channels": 9}))
    with pytest.raises(ValueError, match="do not fit their config.json.*size mismatch for conv_in") as error:
        SDInpaintBackend.from_directory(broken)
    assert "ignore_mismatched_sizes" not in str(error.value)


def test_an_unknown_control_mode_is_refused(sd_dir):
    with pytest.raises(ValueError, match="edges, matte, inpaint"):
        SDInpaintBackend.from_directory(sd_dir, control="depth")


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
