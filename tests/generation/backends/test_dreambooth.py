"""DreamBooth with prior preservation for two steps on tiny components, then reloaded by the backend."""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may be downloaded

import math

import numpy as np
import pytest
import torch
from diffusers import UNet2DConditionModel
from django.core.management import call_command
from PIL import Image, ImageDraw

from generation.backends.dreambooth import DreamBoothSettings, finetune_subject, instance_prompts
from generation.backends.sd_controlnet import PersonaPrompt, SDInpaintBackend
from tests.generation.backends.tiny_components import save_tiny_sd_controlnet

SETTINGS = DreamBoothSettings(product_class="fan", max_steps=2, text_encoder_steps=1, unet_learning_rate=1e-3,
                              text_encoder_learning_rate=1e-3, resolution=32, batch_size=1, seed=0)


def drawn(color: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (32, 32), "white")
    ImageDraw.Draw(image).pieslice((2, 6, 30, 34), 200, 340, fill=color)
    return image


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd")
    return save_tiny_sd_controlnet(root / "model", root)


def test_instance_prompts_carry_the_token():
    assert instance_prompts(["a fan with clouds", ""], 2, SETTINGS) == ["a fan sks with clouds", "a fan sks"]
    with pytest.raises(ValueError, match="1 instance captions for 2"):
        instance_prompts(["a fan"], 2, SETTINGS)


def test_two_steps_change_weights_and_save_a_loadable_model(model_dir, tmp_path):
    before = UNet2DConditionModel.from_pretrained(model_dir / "unet").state_dict()
    result = finetune_subject(model_dir=model_dir, output_dir=tmp_path / "tuned",
                              instance_images=[drawn((200, 30, 30)), drawn((190, 40, 20))],
                              class_images=[drawn((30, 30, 200))], settings=SETTINGS,
                              instance_captions=["a fan with clouds", "a fan on silk"])
    assert len(result.losses) == 2 and all(math.isfinite(loss) for loss in result.losses)
    after = UNet2DConditionModel.from_pretrained(tmp_path / "tuned" / "unet").state_dict()
    assert any(not torch.equal(before[name], after[name]) for name in before)
    photo = drawn((200, 30, 30))
    matte = (np.asarray(photo.convert("L")) < 250).astype(np.float32)
    images = SDInpaintBackend.from_directory(tmp_path / "tuned").stage(
        photo, matte, [PersonaPrompt(emotion_words=("elegant",))], product_class="fan",
        base_caption="a fan", seed=1, num_inference_steps=2)
    assert len(images) == 1 and images[0].size == (32, 32)


def test_missing_inputs_are_clear_errors(model_dir, tmp_path):
    with pytest.raises(ValueError, match="class images"):
        finetune_subject(model_dir=model_dir, output_dir=tmp_path, instance_images=[drawn((1, 2, 3))],
                         class_images=[], settings=SETTINGS)
    with pytest.raises(ValueError, match="lacks unet"):
        finetune_subject(model_dir=tmp_path, output_dir=tmp_path / "out", instance_images=[drawn((1, 2, 3))],
                         class_images=[drawn((1, 2, 3))], settings=SETTINGS)


def test_command_runs_on_folders_of_images(model_dir, tmp_path):
    for folder, color in (("instance", (200, 30, 30)), ("class", (30, 30, 200))):
        (tmp_path / folder).mkdir()
        drawn(color).save(tmp_path / folder / "1.png")
    call_command("finetune_subject", model_dir=str(model_dir), output_dir=str(tmp_path / "out"),
                 instance_dir=str(tmp_path / "instance"), class_dir=str(tmp_path / "class"), product_class="fan",
                 steps=1, text_encoder_steps=1, resolution=32, device="cpu")
    assert (tmp_path / "out" / "unet").is_dir() and (tmp_path / "out" / "controlnet").is_dir()
