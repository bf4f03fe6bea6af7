"""The image generator a worker process uses, loaded once per process.

`GENERATION_BACKEND=upcdm` (default) samples our shipped UPCDM model from `GENERATION_MODEL_DIR`
(default `generation/weights`); `sd-controlnet` loads a local Stable Diffusion + ControlNet inpainting
pipeline that keeps the product by its matte and draws the persona's scene around it, and
`GENERATION_CAPTIONER_DIR` optionally a BLIP-2 captioner for its base captions.

Both are wrapped in a `Stager`, the one interface the job runner calls: it draws the persona's scene
around the placed product, never the product itself.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from PIL import Image

if TYPE_CHECKING:
    from generation.backends.sd_controlnet import PersonaPrompt
    from generation.imaging.cutout import Cutout
    from generation.imaging.layout import Placement
    from profiles.models import Persona, Product

# A pipeline's scheduler keeps per-call state, so one loaded pipeline serves one call at a time
# (a worker with several threads queues its jobs here instead of corrupting each other's steps).
generator_lock = threading.Lock()

StepCallback = Callable[[int, int], bool]
"""`on_step(step, total)` after every sampling step; returning False cancels with `SamplingCancelled`."""


class GeneratorUnavailable(RuntimeError):
    """The configured generator cannot be loaded; the message says how to fix it."""


class Stager(Protocol):
    """What the job runner asks of any backend, so UPCDM and Stable Diffusion run the same jobs: the
    persona's scene around the placed product. The product's pixels are pasted over it afterwards
    (generation.staging), so no backend has to draw the product."""

    def stage(self, *, photo: Image.Image, cutout: Cutout, placement: Placement, product: Product,
              personas: list[Persona], seed: int, steps: int, on_step: StepCallback) -> list[Image.Image]:
        """One scene per persona (same order), all personas in one batch; any size, square."""


class UPCDMStager:
    """Personas enter as condition vectors, the product as its placed matte (the control image). The
    model draws at its sample size (64 px); the ×4 upscaler takes the scene to 256 px, and the
    compositor's depth-of-field blur to the listing's size: a backdrop is out of focus anyway."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    def stage(self, *, photo: Image.Image, cutout: Cutout, placement: Placement, product: Product,
              personas: list[Persona], seed: int, steps: int, on_step: StepCallback) -> list[Image.Image]:
        import numpy as np
        import torch

        from generation.conditions import persona_condition
        from generation.imaging.layout import placed_matte
        from generation.upscaling import upscale
        from generation.upscaling.data import LOW_SIZE

        matte = placed_matte(cutout.alpha, placement, self.pipeline.sample_size)
        vectors = np.stack([persona_condition(persona) for persona in personas])
        scenes = self.pipeline.stage(np.repeat(matte[None], len(personas), axis=0), vectors,
                                     num_inference_steps=steps, generator=torch.Generator().manual_seed(seed),
                                     callback=on_step)
        scenes = [scene.convert("RGB") for scene in scenes]
        # the upscaler takes the shipped model's 64 px; another size goes to the compositor as drawn
        return upscale(scenes) if scenes[0].size == (LOW_SIZE, LOW_SIZE) else scenes


SD_WORKING_SIZE = 512


class SDInpaintStager:
    """Personas enter as prompts; the product, placed on the listing canvas at the working size, is kept by
    its matte and the scene is inpainted around it (`generation.backends.sd_controlnet.SDInpaintBackend`)."""

    def __init__(self, backend, captioner=None) -> None:
        self.backend = backend
        self.captioner = captioner
        self._captions: dict[tuple[str, str, str], str] = {}

    def stage(self, *, photo: Image.Image, cutout: Cutout, placement: Placement, product: Product,
              personas: list[Persona], seed: int, steps: int, on_step: StepCallback) -> list[Image.Image]:
        from generation.backends.sd_controlnet import product_on_white
        from generation.staging import placed_photo

        canvas, matte = placed_photo(photo, cutout, placement, SD_WORKING_SIZE)
        product_class = product_class_of(product)
        cut_out = product_on_white(canvas, matte)
        return self.backend.stage(
            canvas, matte, [persona_prompt_of(persona) for persona in personas], product_class=product_class,
            base_caption=self._caption(cut_out, product_class, product.title), seed=seed,
            num_inference_steps=steps, on_step=on_step)

    def _caption(self, cut_out: Image.Image, product_class: str, title: str) -> str:
        from generation.backends.captioner import base_caption

        # A failed fidelity check stages the same product again; BLIP-2 need not answer twice.
        key = (hashlib.sha256(cut_out.tobytes()).hexdigest(), product_class, title)
        if key not in self._captions:
            if len(self._captions) >= 1024:
                self._captions.clear()
            # On white, so the caption describes the product and not the backdrop the persona replaces.
            self._captions[key] = base_caption(cut_out, product_class=product_class, title=title,
                                               captioner=self.captioner)
        return self._captions[key]


FALLBACK_PRODUCT_CLASS = "product"
PROMPT_EMOTION_WORDS = 3
NEUTRAL_KANSEI = 0.5


def product_class_of(product: Product) -> str:
    """The noun the prompt and caption start with ("a vase …"): the category, in English where known."""
    from generation.backends.sd_controlnet import english_term

    category = product.category.strip()
    return english_term(category).replace("_", " ") if category else FALLBACK_PRODUCT_CLASS


def persona_prompt_of(persona: Persona) -> PersonaPrompt:
    """A Persona row as prompt material: its keywords, Kansei words above neutral as emotion words,
    its demand mix, and its sentiment (stored as P(positive)) on the prompt's −1…+1 scale."""
    from generation.backends.sd_controlnet import PersonaPrompt
    from generation.conditions import KANSEI_PHRASES

    kansei = sorted((persona.kansei or {}).items(), key=lambda item: -item[1])
    emotion_words = tuple(KANSEI_PHRASES.get(word, (word, word))[1]
                          for word, score in kansei[:PROMPT_EMOTION_WORDS] if score > NEUTRAL_KANSEI)
    sentiment = 0.0 if persona.sentiment is None else 2 * float(persona.sentiment) - 1
    return PersonaPrompt(keywords={word: float(weight) for word, weight in persona.top_keywords or []},
                         emotion_words=emotion_words, demand_types=dict(persona.demand_mix or {}),
                         sentiment=sentiment)


@functools.cache
def load_generator(backend: str, model_dir: str, captioner_dir: str) -> Stager:
    if backend == "upcdm":
        return _load_upcdm(Path(model_dir))
    if backend == "sd-controlnet":
        return _load_sd_controlnet(Path(model_dir), captioner_dir)
    raise GeneratorUnavailable(f"Unknown GENERATION_BACKEND {backend!r}: use 'upcdm' or 'sd-controlnet'.")


def _load_upcdm(model_dir: Path) -> UPCDMStager:
    from generation.model.pipeline_upcdm import UPCDMPipeline

    try:
        return UPCDMStager(UPCDMPipeline.from_weights(model_dir))
    except ValueError as exc:
        raise GeneratorUnavailable(f"UPCDM weights could not be loaded from {model_dir}: {exc}. "
                                   "Train them with `python manage.py train_generator`.") from exc


def _load_sd_controlnet(model_dir: Path, captioner_dir: str) -> SDInpaintStager:
    from generation.backends.captioner import load_captioner
    from generation.backends.sd_controlnet import SDInpaintBackend

    try:
        backend = SDInpaintBackend.from_directory(model_dir)
    except (ValueError, OSError) as exc:  # OSError: a listed folder whose files diffusers cannot read
        raise GeneratorUnavailable(f"Stable Diffusion + ControlNet could not be loaded from GENERATION_MODEL_DIR="
                                   f"{model_dir}: {exc}") from exc
    try:
        captioner = load_captioner(captioner_dir)
    except (ValueError, OSError) as exc:
        raise GeneratorUnavailable(f"The BLIP-2 captioner could not be loaded from GENERATION_CAPTIONER_DIR="
                                   f"{captioner_dir}: {exc}. Fix the folder, or leave the setting empty to "
                                   "caption products with their titles.") from exc
    return SDInpaintStager(backend, captioner)


def current_generator() -> Stager:
    if settings.GENERATION_TORCH_THREADS:
        import torch

        # On a CPU shared with other processes, OpenMP threads that spin-wait for each other
        # were measured 70x slower than one thread; a dedicated worker keeps the default.
        torch.set_num_threads(settings.GENERATION_TORCH_THREADS)
    return load_generator(settings.GENERATION_BACKEND, str(settings.GENERATION_MODEL_DIR),
                          str(settings.GENERATION_CAPTIONER_DIR or ""))
