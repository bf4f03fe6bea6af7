"""The x4 upscaler: API contract, errors, persistence, training smoke, and the shipped weights."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch
from PIL import Image

from generation.model.metrics import psnr
from generation.upscaling import DEFAULT_WEIGHTS_DIR, ESRGANLite, load_upscaler, upscale, upscale_with
from generation.upscaling import train as train_module
from generation.upscaling.data import UpscalePairs, render_pair, split_jobs
from generation.upscaling.inference import images_to_tensor
from generation.upscaling.model import bicubic_upsample

torch.set_num_threads(1)  # tiny models: extra threads only contend with other processes

TINY = dict(channels=8, growth=4, num_blocks=1, dense_blocks=1, dense_layers=2, tail_channels=4)


def tiny_model(seed: int = 0) -> ESRGANLite:
    torch.manual_seed(seed)
    model = ESRGANLite(**TINY).eval()
    with torch.no_grad():  # the last conv starts at zero; give the detail branch something to do
        model.last.weight.normal_(0, 0.05)
    return model


def photo(size: int = 64, mode: str = "RGB", seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    return Image.fromarray(pixels).convert(mode)


def test_output_is_256_rgb_in_input_order():
    images = [photo(seed=1), photo(seed=2)]
    outputs = upscale_with(tiny_model(), images)
    assert [(o.size, o.mode) for o in outputs] == [((256, 256), "RGB")] * 2
    assert np.asarray(outputs[0]).tolist() != np.asarray(outputs[1]).tolist()


def test_upscale_is_deterministic():
    model = tiny_model()
    first, second = upscale_with(model, [photo()]), upscale_with(model, [photo()])
    assert np.array_equal(np.asarray(first[0]), np.asarray(second[0]))


def test_untrained_model_is_close_to_bicubic():
    torch.manual_seed(0)
    model = ESRGANLite().eval()  # the shipped architecture: its detail branch starts small
    batch = images_to_tensor([photo()])
    with torch.no_grad():
        assert (model(batch) - bicubic_upsample(batch)).abs().max() < 0.02  # ~5 levels of 8 bits, on noise input


def test_save_and_load_round_trip(tmp_path):
    model = tiny_model()
    model.save_pretrained(tmp_path, safe_serialization=True)
    loaded = load_upscaler(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").is_file()
    assert dict(loaded.config)["channels"] == TINY["channels"]
    assert np.array_equal(np.asarray(upscale_with(model, [photo()])[0]), np.asarray(upscale_with(loaded, [photo()])[0]))


@pytest.mark.parametrize(
    "images, message",
    [
        ([photo(size=32)], "32x32"),
        ([photo(size=256)], "256x256"),
        ([photo(mode="L")], "mode 'L'"),
        ([photo(mode="RGBA")], "mode 'RGBA'"),
        ([np.zeros((64, 64, 3), np.uint8)], "not a PIL image"),
        (photo(), "list of PIL images"),
    ],
)
def test_bad_inputs_raise_clear_errors(images, message):
    with pytest.raises(ValueError, match=message):
        upscale_with(tiny_model(), images)


def test_missing_weights_name_the_file_and_the_retrain_command(tmp_path):
    with pytest.raises(ValueError, match=r"config\.json.*not found.*train_upscaler"):
        load_upscaler(tmp_path)


def test_corrupt_weights_name_the_file_and_the_retrain_command(tmp_path):
    tiny_model().save_pretrained(tmp_path, safe_serialization=True)
    (tmp_path / "diffusion_pytorch_model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match=r"diffusion_pytorch_model\.safetensors.*cannot be loaded.*train_upscaler"):
        load_upscaler(tmp_path)


def test_empty_list_gives_empty_list():
    assert upscale([]) == []


def test_training_crops_are_aligned():
    low = np.random.default_rng(0).integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)
    high = low.repeat(4, axis=1).repeat(4, axis=2)  # nearest-neighbour x4: crops must match exactly
    pairs = UpscalePairs(low, high, np.array(["a", "b"]), np.array([0, 1]))
    low_crops, high_crops = train_module.random_crops(pairs, 4, 16, np.random.default_rng(1))
    assert torch.equal(high_crops, low_crops.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3))


def test_training_runs_and_saves_loadable_weights(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    low = rng.integers(0, 256, size=(3, 64, 64, 3), dtype=np.uint8)
    pairs = UpscalePairs(low, low.repeat(4, axis=1).repeat(4, axis=2), np.array(["a"] * 3), np.arange(3))
    monkeypatch.setattr(train_module, "load_split", lambda *args, **kwargs: pairs)
    parser = argparse.ArgumentParser()
    train_module.add_arguments(parser)
    args = parser.parse_args(
        ["--output", str(tmp_path / "out"), "--checkpoint-dir", str(tmp_path / "ckpt"), "--steps", "2",
         "--validate-every", "1", "--batch-size", "2", "--crop", "16", "--channels", "8", "--growth", "4",
         "--num-blocks", "1", "--dense-blocks", "1", "--tail-channels", "4"]
    )
    log = train_module.train(args)
    assert log["steps"] == 2 and len(log["validation"]) == 2
    assert json.loads((tmp_path / "out" / "training_log.json").read_text())["seed"] == 0
    load_upscaler(tmp_path / "out")


def test_management_command_exposes_the_training_options():
    from generation.management.commands.train_upscaler import Command

    options = {action.dest for action in Command().create_parser("manage.py", "train_upscaler")._actions}
    assert {"max_minutes", "steps", "seed", "output", "cache_dir"} <= options


def test_shipped_weights_beat_bicubic_on_held_out_renders():
    jobs = split_jobs("test", 3)  # render seeds of the test range: never seen in training
    lows, highs = zip(*(render_pair(job) for job in jobs))
    inputs = [Image.fromarray(low) for low in lows]
    truth = images_to_tensor([Image.fromarray(high) for high in highs])
    ours = psnr(images_to_tensor(upscale(inputs, DEFAULT_WEIGHTS_DIR)), truth).mean()
    bicubic = psnr(images_to_tensor([image.resize((256, 256), Image.Resampling.BICUBIC) for image in inputs]), truth).mean()
    assert ours > bicubic + 1.0, (float(ours), float(bicubic))
