"""Synthetic product photos with known masks (real photos: generation/real_photos/, see test_real_photos.py)."""

import numpy as np
import pytest
from PIL import Image


def table_photo(width: int = 1024, height: int = 768, *, seed: int = 0, handle: bool = False):
    """A glazed, textured vase on a wooden table against a wall, in soft light; (photo, true mask)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    image[:] = np.array([205, 195, 178]) * (0.88 + 0.12 * ys[..., None] / height)
    table = ys > 0.66 * height
    image[table] = np.array([150, 108, 76]) * (0.9 + 0.1 * np.sin(xs[table] / 9))[:, None]
    cx, cy, rx, ry = 0.5 * width, 0.55 * height, 0.15 * width, 0.3 * height
    vase = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 < 1
    vase |= (np.abs(xs - cx) < 0.06 * width) & (ys > cy - 1.45 * ry) & (ys < cy)
    if handle:
        ring = np.hypot(xs - (cx + 1.15 * rx), ys - cy)
        vase |= (ring > 0.06 * height) & (ring < 0.11 * height) & (xs > cx)
    shade = 0.55 + 0.45 * np.cos((xs - cx + 0.3 * rx) / (1.6 * rx))
    glaze = np.array([40, 85, 150]) * shade[..., None] + 22 * (np.sin(xs / 6) * np.sin(ys / 8))[..., None]
    image = np.where(vase[..., None], glaze, image)
    shadow = (np.abs(ys - (cy + ry)) < 0.02 * height) & (np.abs(xs - cx) < 1.3 * rx) & ~vase
    image[shadow] *= 0.7
    image += rng.normal(0, 3, image.shape)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)), vase


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    mask = alpha > 0.5
    return float((mask & truth).sum() / max(1, (mask | truth).sum()))


@pytest.fixture(scope="session")
def vase_photo():
    return table_photo()


@pytest.fixture(scope="session")
def real_cut_outs():
    """The segmenter's cut-out of every test-split real photo, once per session; None where it refuses."""
    from generation.imaging.cutout import NoClearProduct, cut_out
    from tests.generation.imaging.test_real_photos import TEST_ROWS, real_photo

    cut_outs = {}
    for row in TEST_ROWS:
        try:
            cut_outs[row["file"]] = cut_out(real_photo(row))
        except NoClearProduct:
            cut_outs[row["file"]] = None
    return cut_outs
