"""The OLD subject-fidelity check, kept only as benchmarks/real_photos.py's baseline: it compares
silhouettes, so it passed every redraw of a real photo (issue 19). Jobs use generation.imaging.fidelity.

Subject fidelity (seed 001): does a generated image still show the product it came from?

A persona variant is meant to change colours and motifs, not the object, so fidelity compares
shape: the silhouette overlap (IoU), the agreement of the silhouettes' outlines (F-score with a
one-pixel tolerance), and a coarse histogram-of-oriented-gradients similarity of the luminance
(a shape descriptor computed offline, no downloaded backbone). Pure numpy; no Django.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import binary_dilation, binary_erosion, sobel

from generation.model.control import control_image, load_product_image

DEFAULT_THRESHOLD = 0.65  # same product redrawn: ~0.87; another vase: ~0.75; another product: ~0.33
WEIGHTS = {"silhouette_iou": 0.5, "outline_f1": 0.25, "hog_similarity": 0.25}
HOG_CELL = 8
HOG_BINS = 9


@dataclass(frozen=True)
class Fidelity:
    score: float
    silhouette_iou: float
    outline_f1: float
    hog_similarity: float

    def as_dict(self) -> dict:
        return {key: round(value, 4) for key, value in asdict(self).items()}


def _silhouette(rgb: np.ndarray) -> np.ndarray:
    return control_image(rgb)[0] > 0.5


def _outline(mask: np.ndarray) -> np.ndarray:
    return mask & ~binary_erosion(mask)


def _outline_f1(a: np.ndarray, b: np.ndarray) -> float:
    outline_a, outline_b = _outline(a), _outline(b)
    if not outline_a.any() or not outline_b.any():
        return float(outline_a.any() == outline_b.any())
    precision = (outline_b & binary_dilation(outline_a)).sum() / outline_b.sum()
    recall = (outline_a & binary_dilation(outline_b)).sum() / outline_a.sum()
    return float(2 * precision * recall / max(precision + recall, 1e-9))


def _hog(rgb: np.ndarray) -> np.ndarray:
    luminance = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gx, gy = sobel(luminance, axis=1), sobel(luminance, axis=0)
    magnitude = np.hypot(gx, gy)
    orientation = (np.arctan2(gy, gx) % np.pi) / np.pi * HOG_BINS
    bins = np.minimum(orientation.astype(int), HOG_BINS - 1)
    size = luminance.shape[0] // HOG_CELL * HOG_CELL
    cells = size // HOG_CELL
    histogram = np.zeros((cells, cells, HOG_BINS), dtype=np.float64)
    rows, cols = np.indices((size, size))
    np.add.at(histogram, (rows // HOG_CELL, cols // HOG_CELL, bins[:size, :size]), magnitude[:size, :size])
    return histogram.ravel()


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else 0.0


def subject_fidelity(original, generated, size: int = 64) -> Fidelity:
    """Compare a generated image with the product photo it was made from (any PIL/array/path input)."""
    a = load_product_image(original, size=size)
    b = load_product_image(generated, size=size)
    mask_a, mask_b = _silhouette(a), _silhouette(b)
    union = (mask_a | mask_b).sum()
    iou = float((mask_a & mask_b).sum() / union) if union else 0.0
    outline = _outline_f1(mask_a, mask_b)
    hog = _cosine(_hog(a), _hog(b))
    score = WEIGHTS["silhouette_iou"] * iou + WEIGHTS["outline_f1"] * outline + WEIGHTS["hog_similarity"] * hog
    return Fidelity(score=float(score), silhouette_iou=iou, outline_f1=outline, hog_similarity=hog)
