"""The image generator a worker process uses, loaded once per process.

`GENERATION_BACKEND=upcdm` (default) samples our shipped UPCDM model from `GENERATION_MODEL_DIR`
(default `generation/weights`); `sd-controlnet` loads a local Stable Diffusion + ControlNet inpainting
pipeline that keeps the product by its matte and draws the persona's scene around it, and
`GENERATION_CAPTIONER_DIR` optionally a BLIP-2 captioner for its base captions.

UPCDM is wrapped in a `Redrawer`, which the job runner calls; Stable Diffusion in an `SDInpaintStager`,
whose `stage()` the scene-staging job runner of issue 19 calls.
"""

from __future__ import annotations

import functools
import hashlib
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from PIL import Image

if TYPE_CHECKING:
    import numpy as np

    from generation.backends.sd_controlnet import PersonaPrompt
    from profiles.models import Persona, Product

# A pipeline's scheduler keeps per-call state, so one loaded pipeline serves one call at a time
# (a worker with several threads queues its jobs here instead of corrupting each other's steps).
generator_lock = threading.Lock()

StepCallback = Callable[[int, int], bool]
"""`on_step(step, total)` after every sampling step; returning False cancels with `SamplingCancelled`."""


class GeneratorUnavailable(RuntimeError):
    """The configured generator cannot be loaded; the message says how to fix it."""


class Redrawer(Protocol):
    """What the job runner asks of any backend, so UPCDM and Stable Diffusion run the same jobs."""

    def redraw(self, *, photo: bytes, product: Product, personas: list[Persona], seed: int, steps: int,
               on_step: StepCallback) -> list[Image.Image]:
        """The product photo redrawn once per persona (same order), all personas in one batch."""


class UPCDMRedrawer:
    """Personas enter as condition vectors, the photo as its edge/silhouette control image."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    def redraw(self, *, photo: bytes, product: Product, personas: list[Persona], seed: int, steps: int,
               on_step: StepCallback) -> list[Image.Image]:
        import numpy as np
        import torch

        from generation.conditions import persona_condition

        vectors = np.stack([persona_condition(persona) for persona in personas])
        return self.pipeline(io.BytesIO(photo), vectors, num_inference_steps=steps,
                             generator=torch.Generator().manual_seed(seed), callback=on_step).images


class SDInpaintStager:
    """Personas enter as prompts; the product, placed on the listing canvas, is kept by its matte and
    the scene is inpainted around it (`generation.backends.sd_controlnet.SDInpaintBackend.stage`)."""

    def __init__(self, backend, captioner=None) -> None:
        self.backend = backend
        self.captioner = captioner
        self._captions: dict[tuple[str, str, str], str] = {}

    def stage(self, *, placed_photo: Image.Image, placed_matte: np.ndarray, product: Product,
              personas: list[Persona], seed: int, steps: int, on_step: StepCallback) -> list[Image.Image]:
        """One scene per persona (same order) at the placed photo's size, all personas in one batch."""
        from generation.backends.sd_controlnet import matte_array, product_on_white

        product_class = product_class_of(product)
        cut_out = product_on_white(placed_photo.convert("RGB"), matte_array(placed_matte, placed_photo.size))
        return self.backend.stage(
            placed_photo, placed_matte, [persona_prompt_of(persona) for persona in personas],
            product_class=product_class, base_caption=self._caption(cut_out, product_class, product.title),
            seed=seed, num_inference_steps=steps, on_step=on_step)

    def redraw(self, **_) -> list[Image.Image]:
        # Until the job runner hands over the placed photo and matte (issue 19), say so instead of an AttributeError.
        raise GeneratorUnavailable("The Stable Diffusion backend stages a scene around the product's cut-out; "
                                   "this job runner still asks for a redraw of the whole photo.")

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
def load_generator(backend: str, model_dir: str, captioner_dir: str) -> Redrawer | SDInpaintStager:
    if backend == "upcdm":
        return _load_upcdm(Path(model_dir))
    if backend == "sd-controlnet":
        return _load_sd_controlnet(Path(model_dir), captioner_dir)
    raise GeneratorUnavailable(f"Unknown GENERATION_BACKEND {backend!r}: use 'upcdm' or 'sd-controlnet'.")


def _load_upcdm(model_dir: Path) -> UPCDMRedrawer:
    from generation.model.pipeline_upcdm import UPCDMPipeline

    try:
        return UPCDMRedrawer(UPCDMPipeline.from_weights(model_dir))
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


def current_generator() -> Redrawer | SDInpaintStager:
    if settings.GENERATION_TORCH_THREADS:
        import torch

        # On a CPU shared with other processes, OpenMP threads that spin-wait for each other
        # were measured 70x slower than one thread; a dedicated worker keeps the default.
        torch.set_num_threads(settings.GENERATION_TORCH_THREADS)
    return load_generator(settings.GENERATION_BACKEND, str(settings.GENERATION_MODEL_DIR),
                          str(settings.GENERATION_CAPTIONER_DIR or ""))
