"""The image generator a worker process uses, loaded once per process.

`GENERATION_BACKEND=upcdm` (default) samples our shipped UPCDM model from `GENERATION_MODEL_DIR`
(default `generation/weights`); `sd-controlnet` loads a local Stable Diffusion + ControlNet.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from django.conf import settings


# A pipeline's scheduler keeps per-call state, so one loaded pipeline serves one call at a time
# (a worker with several threads queues its jobs here instead of corrupting each other's steps).
generator_lock = threading.Lock()


class GeneratorUnavailable(RuntimeError):
    """The configured generator cannot be loaded; the message says how to fix it."""


@functools.cache
def load_generator(backend: str, model_dir: str):
    if backend == "upcdm":
        from generation.model.pipeline_upcdm import UPCDMPipeline

        try:
            return UPCDMPipeline.from_weights(Path(model_dir))
        except ValueError as exc:
            raise GeneratorUnavailable(f"UPCDM weights could not be loaded from {model_dir}: {exc}. "
                                       "Train them with `python manage.py train_generator`.") from exc
    if backend == "sd-controlnet":
        from generation.backends.sd_controlnet import SDControlNetBackend

        try:
            return SDControlNetBackend.from_directory(Path(model_dir))
        except ValueError as exc:
            raise GeneratorUnavailable(f"Stable Diffusion + ControlNet could not be loaded from {model_dir}: "
                                       f"{exc}") from exc
    raise GeneratorUnavailable(f"Unknown GENERATION_BACKEND {backend!r}: use 'upcdm' or 'sd-controlnet'.")


def current_generator():
    if settings.GENERATION_TORCH_THREADS:
        import torch

        # On a CPU shared with other processes, OpenMP threads that spin-wait for each other
        # were measured 70x slower than one thread; a dedicated worker keeps the default.
        torch.set_num_threads(settings.GENERATION_TORCH_THREADS)
    return load_generator(settings.GENERATION_BACKEND, str(settings.GENERATION_MODEL_DIR))
