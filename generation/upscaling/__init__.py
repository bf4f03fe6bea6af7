"""A small learned x4 upscaler (ESRGAN-lite) that lifts the generator's 64x64 photos to 256x256.

    from generation.upscaling import upscale
    large = upscale([image_64])          # list of 64x64 RGB PIL images -> 256x256 RGB

Weights ship in ``generation/weights/upscaler/`` (diffusers ``save_pretrained``
layout, safetensors); retrain with ``python manage.py train_upscaler``. Wrong
sizes or modes and missing or corrupt weights raise ``ValueError``. No Django.
"""

from generation.upscaling.inference import DEFAULT_WEIGHTS_DIR, load_upscaler, upscale, upscale_with
from generation.upscaling.model import ESRGANLite

__all__ = ["DEFAULT_WEIGHTS_DIR", "ESRGANLite", "load_upscaler", "upscale", "upscale_with"]
