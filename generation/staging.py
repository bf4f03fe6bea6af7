"""From a product photo and its cut-out to one listing image per persona (DESIGN §5.2).

The generator draws only the scene around the placed product; the product's own pixels come from
the photo, at full resolution, and the fidelity check compares them with the photo where the layout
put them. No Django here: generation.services stores what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from generation.imaging.composite import composite, composite_print
from generation.imaging.cutout import Cutout
from generation.imaging.fidelity import ProductFidelity, product_fidelity
from generation.imaging.layout import Placement, on_canvas, placed_matte
from generation.rendering.motifs import DENSITY_PERIODS, MOTIF_FUNCTIONS
from generation.rendering.style import PALETTES, style_for

KEEP, PRINT = "keep", "print"
MOTIF_SIZE = 256
# A printed product is checked on shape and shading only, and scores lower than a kept one: printed
# motifs 0.86-0.90 where kept products score 0.96-1.0, and redrawn ones 0.65 at most either way
# (benchmarks/fidelity_v2.py on the real photos). Thresholds are the owner's, lowered this much for prints.
PRINT_ALLOWANCE = 0.1


def fidelity_threshold_for(threshold: float, mode: str) -> float:
    return threshold - PRINT_ALLOWANCE if mode == PRINT else threshold


@dataclass(frozen=True)
class StagedVariant:
    image: Image.Image  # the listing image, the canvas's size
    scene: Image.Image  # what the generator drew, as it drew it
    fidelity: ProductFidelity


def persona_motif(persona_vector: np.ndarray, size: int = MOTIF_SIZE) -> Image.Image:
    """The persona's motif in its palette, as a print for a customisable product's surface."""
    style = style_for(persona_vector)
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size
    x, y = np.meshgrid(axis, axis, indexing="xy")
    coverage = MOTIF_FUNCTIONS[style.motif](x, y, DENSITY_PERIODS[style.density])[..., None]
    base, accent = (np.array(colour, np.float32) for colour in PALETTES[style.palette])
    weight = style.contrast * coverage
    pixels = np.clip(base + style.lightness, 0, 1) * (1 - weight) + accent * weight
    return Image.fromarray(np.round(pixels * 255).astype(np.uint8))


def stage_variants(*, photo: Image.Image, cutout: Cutout, placement: Placement, scenes: list[Image.Image],
                   mode: str = KEEP, persona_vectors: np.ndarray | None = None) -> list[StagedVariant]:
    """Composite the product over each scene and check it. `mode="print"` (customisable products)
    also prints the persona's motif on the product, and checks its shape and shading only."""
    if mode not in (KEEP, PRINT):
        raise ValueError(f"mode must be {KEEP!r} or {PRINT!r}, got {mode!r}")
    if mode == PRINT and (persona_vectors is None or len(persona_vectors) != len(scenes)):
        raise ValueError("printing needs one persona vector per scene")
    variants = []
    for index, scene in enumerate(scenes):
        if mode == PRINT:
            result = composite_print(photo, cutout, placement, scene, persona_motif(persona_vectors[index]))
        else:
            result = composite(photo, cutout, placement, scene)
        fidelity = product_fidelity(photo, cutout, placement, result.image, mode=mode)
        variants.append(StagedVariant(image=result.image, scene=scene, fidelity=fidelity))
    return variants


def placed_photo(photo: Image.Image, cutout: Cutout, placement: Placement, size: int,
                 backdrop: tuple[int, int, int] = (128, 128, 128)) -> tuple[Image.Image, np.ndarray]:
    """The product placed on a plain square canvas of `size` px, and its matte there: what an
    inpainting backend keeps while it paints the scene around it."""
    matte = placed_matte(cutout.alpha, placement, size)
    premultiplied = np.asarray(photo.convert("RGB"), np.float32) / 255 * cutout.alpha[..., None]
    product = cv2.resize(on_canvas(premultiplied, cutout.alpha, placement), (size, size), interpolation=cv2.INTER_AREA)
    canvas = product + np.array(backdrop, np.float32) / 255 * (1 - matte[..., None])
    return Image.fromarray(np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8)), matte
