"""Load the shipped x4 upscaler and lift 64x64 RGB product photos to 256x256."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError

from generation.upscaling.data import HIGH_SIZE, LOW_SIZE
from generation.upscaling.model import ESRGANLite

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights" / "upscaler"
WEIGHTS_FILE = "diffusion_pytorch_model.safetensors"
CONFIG_FILE = "config.json"
RETRAIN_COMMAND = "python manage.py train_upscaler (or python -m generation.upscaling.train)"
INFERENCE_BATCH = 16


def _weights_error(path: Path, problem: str) -> ValueError:
    return ValueError(f"upscaler weights {path}: {problem}; retrain with `{RETRAIN_COMMAND}`")


def load_upscaler(weights_dir: str | Path = DEFAULT_WEIGHTS_DIR) -> ESRGANLite:
    """The model in eval mode; ValueError naming the file if it is missing or unreadable."""
    directory = Path(weights_dir)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (directory / name).is_file():
            raise _weights_error(directory / name, "file not found")
    try:
        model = ESRGANLite.from_pretrained(directory, low_cpu_mem_usage=False)
    except (OSError, ValueError, RuntimeError, json.JSONDecodeError, SafetensorError) as error:
        raise _weights_error(directory / WEIGHTS_FILE, f"cannot be loaded ({type(error).__name__}: {error})") from error
    return model.eval()


@lru_cache(maxsize=4)
def _cached_upscaler(weights_dir: str) -> ESRGANLite:
    return load_upscaler(weights_dir)


def _validate(images: list[Image.Image]) -> None:
    if not isinstance(images, list | tuple):
        raise ValueError(f"upscale() takes a list of PIL images, got {type(images).__name__}")
    for index, image in enumerate(images):
        if not isinstance(image, Image.Image):
            raise ValueError(f"image {index} is a {type(image).__name__}, not a PIL image")
        if image.mode != "RGB":
            raise ValueError(f"image {index} has mode {image.mode!r}; convert it with image.convert('RGB')")
        if image.size != (LOW_SIZE, LOW_SIZE):
            raise ValueError(f"image {index} is {image.size[0]}x{image.size[1]}; the upscaler takes {LOW_SIZE}x{LOW_SIZE}")


def images_to_tensor(images: list[Image.Image]) -> torch.Tensor:
    array = np.stack([np.asarray(image, dtype=np.float32) / 255.0 for image in images])
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def tensor_to_images(batch: torch.Tensor) -> list[Image.Image]:
    array = (batch.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(image) for image in array]


@torch.no_grad()
def upscale_with(model: ESRGANLite, images: list[Image.Image]) -> list[Image.Image]:
    _validate(images)
    upscaled = []
    for start in range(0, len(images), INFERENCE_BATCH):
        upscaled += tensor_to_images(model(images_to_tensor(images[start : start + INFERENCE_BATCH])))
    return upscaled


def upscale(images: list[Image.Image], weights_dir: str | Path = DEFAULT_WEIGHTS_DIR) -> list[Image.Image]:
    """64x64 RGB images -> 256x256 RGB images (same order); the model is loaded once per process."""
    _validate(images)
    if not images:
        return []
    return upscale_with(_cached_upscaler(str(Path(weights_dir).resolve())), images)


__all__ = ["DEFAULT_WEIGHTS_DIR", "HIGH_SIZE", "LOW_SIZE", "load_upscaler", "upscale", "upscale_with"]
