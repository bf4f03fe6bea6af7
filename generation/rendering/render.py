"""Compose one product photo: background, soft shadow, coloured and decorated body, shading."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, shift

from generation.rendering.motifs import DENSITY_PERIODS, MOTIF_FUNCTIONS
from generation.rendering.shapes import SHAPE_FUNCTIONS, geometry_from_seed
from generation.rendering.style import ORIGINAL_COLOUR, PALETTES, ProductStyle, style_for

SUPERSAMPLE = 4
BACKGROUND = np.array([0.94, 0.93, 0.90], dtype=np.float32)
MIN_SIZE, MAX_SIZE = 16, 1024


def _grid(size: int):
    n = size * SUPERSAMPLE
    axis = (np.arange(n, dtype=np.float32) + 0.5) / n
    return np.meshgrid(axis, axis, indexing="xy")


def _downsample(image: np.ndarray, size: int) -> np.ndarray:
    channels = image.shape[-1]
    return image.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, channels).mean(axis=(1, 3))


def _body_colour(X, Y, style: ProductStyle | None) -> np.ndarray:
    if style is None:
        return np.broadcast_to(np.array(ORIGINAL_COLOUR, np.float32), (*X.shape, 3)).copy()
    base, accent = (np.array(c, np.float32) for c in PALETTES[style.palette])
    base = np.clip(base + style.lightness, 0, 1)
    coverage = MOTIF_FUNCTIONS[style.motif](X, Y, DENSITY_PERIODS[style.density])[..., None]
    weight = style.contrast * coverage
    return base * (1 - weight) + accent * weight


def _compose(shape: str, style: ProductStyle | None, seed: int, size: int) -> np.ndarray:
    X, Y = _grid(size)
    n = X.shape[0]
    mask, lines = SHAPE_FUNCTIONS[shape](X, Y, geometry_from_seed(seed))
    mask_f = mask.astype(np.float32)

    # light from the top left: the shadow falls to the bottom right
    shadow = gaussian_filter(shift(mask_f, (0.045 * n, 0.03 * n), order=0), sigma=0.03 * n)
    background = BACKGROUND * (1.0 - 0.05 * Y[..., None]) * (1.0 - 0.22 * shadow[..., None])

    body = _body_colour(X, Y, style)
    body = body * (1.0 - 0.35 * lines[..., None])
    rim_light = gaussian_filter(mask_f, sigma=0.02 * n)
    shading = (0.8 + 0.2 * rim_light) * (1.05 - 0.1 * (X + Y))
    body = body * shading[..., None]

    image = background * (1 - mask_f[..., None]) + body * mask_f[..., None]
    return np.clip(_downsample(image, size), 0.0, 1.0)


def render_array(shape: str, persona_vector, seed: int, size: int = 64) -> np.ndarray:
    """Like ``render_product`` but returns float32 (size, size, 3) in [0, 1]."""
    if shape not in SHAPE_FUNCTIONS:
        raise ValueError(f"unknown product shape {shape!r}: use one of {list(SHAPE_FUNCTIONS)}")
    if not isinstance(size, int | np.integer) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer in [{MIN_SIZE}, {MAX_SIZE}], got {size!r}")
    style = None if persona_vector is None else style_for(persona_vector)
    return _compose(shape, style, int(seed), int(size)).astype(np.float32)


def to_pil(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(np.clip(array, 0, 1) * 255).astype(np.uint8))


def render_product(shape: str, persona_vector, seed: int, size: int = 64) -> Image.Image:
    return to_pil(render_array(shape, persona_vector, seed, size))


def render_original(shape: str, seed: int, size: int = 64) -> Image.Image:
    return render_product(shape, None, seed, size)


def render_mask(shape: str, seed: int, size: int = 64) -> np.ndarray:
    """Where the product is in its render of this size, float32 (size, size) in [0, 1]: the known truth
    a cut-out of ``render_product(shape, …, seed, size)`` can be checked against."""
    if shape not in SHAPE_FUNCTIONS:
        raise ValueError(f"unknown product shape {shape!r}: use one of {list(SHAPE_FUNCTIONS)}")
    X, Y = _grid(int(size))
    mask, _ = SHAPE_FUNCTIONS[shape](X, Y, geometry_from_seed(int(seed)))
    return _downsample(mask.astype(np.float32)[..., None], int(size))[..., 0]
