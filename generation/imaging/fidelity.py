"""Fidelity v2: does the listing show the photo's product, untouched, where the layout put it?

The check rebuilds what the compositor must have put in the product's box (the photo's product
pixels over the result's own surroundings) and compares it with the result over the product's
region: the masked SSIM of luminance (the light match keeps luminance, a redraw can't), the mean
colour difference (ΔE in Lab, beyond the small white-balance shift the light match may make), and the agreement of the
luminance gradients along the matte's outline (the product's edge is where the matte says).
A customisable product ("print" mode) carries a new motif, so only its shading (the low-frequency
luminance structure) and its outline are compared. Pure numpy/opencv; no Django, no torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
from PIL import Image

from generation.imaging.composite import LUMA, MAX_WHITE_BALANCE_SHIFT, placed_product
from generation.imaging.cutout import Cutout
from generation.imaging.layout import Placement

# Calibrated on the 7 test-split real photos (benchmarks/fidelity_v2.py): our composites over four
# textured scenes 0.986-0.998 (over six flat saturated ones 0.957-0.998), after WebP 0.967-0.985; the
# UPCDM redraws shipped until December 2026 0.000-0.167 as listed and 0.000-0.338 composited in place;
# the photo reduced to 64 px and enlarged 0.632-0.835 (nothing redrawn, but the detail is gone: refused
# too). Print mode: a printed motif 0.881-0.893, the redraws 0.315-0.651.
DEFAULT_THRESHOLD = 0.85
WORK_LONG_SIDE = 256  # the product's box is compared at this size, whatever the canvas
CONTEXT = 0.05  # share of the box added around it, so the outline's outside is seen
SSIM_SIGMA = 1.5
SSIM_C1, SSIM_C2 = 0.01**2, 0.03**2
GRADIENT_C = 1e-4
COLOUR_SCALE = 30.0  # ΔE at which the colour term reaches zero
INTERIOR = 0.98
SHADING_FLOOR = 0.02
SHADING_TOLERANCE = 0.2  # print mode: log-luminance gradients (Sobel, per work px) this close agree
MODES = ("keep", "print")


@dataclass(frozen=True)
class ProductFidelity:
    score: float
    masked_ssim: float
    colour_delta: float
    edge_agreement: float

    def as_dict(self) -> dict:
        return {key: round(float(value), 4) for key, value in asdict(self).items()}


def product_fidelity(photo: Image.Image, cutout: Cutout, placement: Placement, result: Image.Image,
                     *, mode: str = "keep") -> ProductFidelity:
    """How faithfully `result` (any size; it is compared at the placement's canvas) shows the product."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    product, alpha = placed_product(photo, cutout, placement)
    observed, expected, matte = _work_crops(product, alpha, placement, result)
    interior = _interior(matte)
    band = _outline_band(matte)
    observed_luma, expected_luma = observed @ LUMA, expected @ LUMA
    if mode == "keep":
        ssim = masked_ssim(observed_luma, expected_luma, interior)
        edges = gradient_agreement(observed_luma, expected_luma, band)
    else:
        ssim = shading_agreement(observed_luma, expected_luma, interior)
        edges = outline_agreement(observed_luma, matte, band)
    delta = colour_delta(observed, with_light_match(expected, observed, interior), interior)
    colour = 1.0 if mode == "print" else float(np.clip(1 - delta / COLOUR_SCALE, 0, 1))
    score = float(np.cbrt(max(ssim, 0.0) * max(edges, 0.0) * colour))
    return ProductFidelity(score=score, masked_ssim=float(ssim), colour_delta=float(delta), edge_agreement=float(edges))


def _work_crops(product: np.ndarray, alpha: np.ndarray, placement: Placement, result: Image.Image):
    """The result's box region with some context, what it should hold, and the matte, at the work size."""
    width, height = placement.canvas
    canvas = result.convert("RGB")
    if canvas.size != (width, height):
        canvas = canvas.resize((width, height), Image.Resampling.BICUBIC)
    bx0, by0, bx1, by1 = placement.box
    pad = max(2, round(CONTEXT * max(bx1 - bx0, by1 - by0)))
    x0, y0, x1, y1 = max(0, bx0 - pad), max(0, by0 - pad), min(width, bx1 + pad), min(height, by1 + pad)
    observed = np.asarray(canvas.crop((x0, y0, x1, y1)), dtype=np.float32) / 255
    matte = np.zeros(observed.shape[:2], np.float32)
    inner = np.zeros_like(observed)
    matte[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = alpha
    inner[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = product
    expected = matte[..., None] * inner + (1 - matte[..., None]) * observed
    scale = min(1.0, WORK_LONG_SIDE / max(observed.shape[:2]))
    if scale < 1:
        size = (max(1, round(observed.shape[1] * scale)), max(1, round(observed.shape[0] * scale)))
        observed, expected, matte = (cv2.resize(array, size, interpolation=cv2.INTER_AREA)
                                     for array in (observed, expected, matte))
    return observed, expected, matte


def _interior(matte: np.ndarray) -> np.ndarray:
    interior = cv2.erode((matte >= INTERIOR).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return interior if interior.sum() >= 16 else matte > 0.5


def _outline_band(matte: np.ndarray) -> np.ndarray:
    solid = (matte > 0.5).astype(np.uint8)
    kernel = np.ones((5, 5), np.uint8)
    return cv2.dilate(solid, kernel).astype(bool) & ~cv2.erode(solid, kernel).astype(bool)


def masked_ssim(first: np.ndarray, second: np.ndarray, mask: np.ndarray, *, structure_only: bool = False) -> float:
    """Mean SSIM (Gaussian window) over the mask; `structure_only` drops the luminance term."""
    if not mask.any():
        return 0.0
    def blur(array):
        return cv2.GaussianBlur(array, (0, 0), SSIM_SIGMA)

    mean_1, mean_2 = blur(first), blur(second)
    var_1 = blur(first * first) - mean_1**2
    var_2 = blur(second * second) - mean_2**2
    covariance = blur(first * second) - mean_1 * mean_2
    contrast_structure = (2 * covariance + SSIM_C2) / (var_1 + var_2 + SSIM_C2)
    if structure_only:
        return float(contrast_structure[mask].mean())
    luminance = (2 * mean_1 * mean_2 + SSIM_C1) / (mean_1**2 + mean_2**2 + SSIM_C1)
    return float((luminance * contrast_structure)[mask].mean())


def shading_agreement(observed: np.ndarray, expected: np.ndarray, mask: np.ndarray) -> float:
    """Print mode: the share of the product's pixels where the result's log-luminance changes as the
    photo's does. A printed motif multiplies the shading, so log-gradients agree except on the motif's
    own edges; a redrawn surface agrees nowhere in particular."""
    if not mask.any():
        return 0.0
    first = _gradients(np.log(cv2.GaussianBlur(observed, (0, 0), 1.0) + SHADING_FLOOR))[mask]
    second = _gradients(np.log(cv2.GaussianBlur(expected, (0, 0), 1.0) + SHADING_FLOOR))[mask]
    return float((np.linalg.norm(first - second, axis=-1) < SHADING_TOLERANCE).mean())


def with_light_match(expected: np.ndarray, observed: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`expected` under the white-balance shift the compositor may apply (per-channel gains of at most
    ±MAX_WHITE_BALANCE_SHIFT, luminance kept), fitted to `observed` over the mask; so the colour term
    measures only what the light match can't explain."""
    if not mask.any():
        return expected
    gains = observed[mask].mean(0) / np.maximum(expected[mask].mean(0), 1e-4)
    gains = np.clip(gains / max(float(gains @ LUMA), 1e-4), 1 - MAX_WHITE_BALANCE_SHIFT, 1 + MAX_WHITE_BALANCE_SHIFT)
    shifted = np.clip(expected * gains, 0, 1)
    restored = shifted * ((expected @ LUMA) / np.maximum(shifted @ LUMA, 1e-4))[..., None]
    return np.clip(restored, 0, 1).astype(np.float32)


def colour_delta(first: np.ndarray, second: np.ndarray, mask: np.ndarray) -> float:
    """Mean CIE76 ΔE over the mask."""
    if not mask.any():
        return float("inf")
    lab_1 = cv2.cvtColor(np.ascontiguousarray(first, dtype=np.float32), cv2.COLOR_RGB2Lab)
    lab_2 = cv2.cvtColor(np.ascontiguousarray(second, dtype=np.float32), cv2.COLOR_RGB2Lab)
    return float(np.linalg.norm(lab_1 - lab_2, axis=-1)[mask].mean())


def _gradients(luminance: np.ndarray) -> np.ndarray:
    return np.stack([cv2.Sobel(luminance, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(luminance, cv2.CV_32F, 0, 1, ksize=3)], -1)


def gradient_agreement(observed: np.ndarray, expected: np.ndarray, band: np.ndarray) -> float:
    """How alike the two images' luminance gradients are along the outline: 1 when identical."""
    if not band.any():
        return 0.0
    first, second = _gradients(observed)[band], _gradients(expected)[band]
    return float((2 * (first * second).sum() + GRADIENT_C) / ((first**2).sum() + (second**2).sum() + GRADIENT_C))


def outline_agreement(observed: np.ndarray, matte: np.ndarray, band: np.ndarray) -> float:
    """Print mode: how much of the result's gradient along the outline runs across the matte's edge
    (parallel to the matte's own gradient), weighted by closeness to the edge; 1 when it all does."""
    if not band.any():
        return 0.0
    normal = _gradients(cv2.GaussianBlur(matte, (0, 0), 1.0))[band]
    gradient = _gradients(observed)[band]
    length = np.linalg.norm(normal, axis=-1)
    weight = length / max(float(length.max()), 1e-6)
    across = np.abs((gradient * normal).sum(-1)) / np.maximum(length, 1e-6)
    magnitude = np.linalg.norm(gradient, axis=-1)
    return float((weight * across).sum() / max(float((weight * magnitude).sum()), 1e-6))
