"""Real, licensed product photographs with hand-checked masks (README.md beside this file names each
one's source and licence). `real_photos(split=...)` reads manifest.csv: `test` photos are the ones
the cut-out may be tuned on, `benchmark` ones are never tuned on (benchmarks/real_photos.py), and
`reject` photos show no single clear product."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REAL_PHOTOS = Path(__file__).resolve().parent
LOOKS_RIGHT_IOU = 0.9  # a person checking a cut-out confirms it when it is this close to the true mask


@dataclass(frozen=True)
class RealPhoto:
    stem: str
    path: Path
    mask_path: Path
    category: str
    background: str
    split: str
    source: str
    author: str
    licence: str


def real_photos(*, split: str | None = None, folder: Path = REAL_PHOTOS) -> list[RealPhoto]:
    """The manifest's photos (of one split: test, benchmark or reject), in manifest order."""
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    photos = []
    for row in rows:
        if split is not None and row["split"] != split:
            continue
        path = folder / "photos" / row["file"]
        photos.append(RealPhoto(stem=path.stem, path=path, mask_path=folder / "masks" / f"{path.stem}.png",
                                category=row["category"], background=row["background"], split=row["split"],
                                source=row["source"], author=row["author"], licence=row["licence"]))
    return photos


def hand_mask(photo: RealPhoto) -> np.ndarray:
    """The photo's hand-checked mask: True where the product is, the photo's size."""
    with Image.open(photo.mask_path) as mask:
        return np.asarray(mask.convert("L")) > 127


def mask_iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of a cut-out's matte (0-1) with a true mask of the same size."""
    if alpha.shape != truth.shape:
        raise ValueError(f"the cut-out is {alpha.shape[::-1]} px but the true mask {truth.shape[::-1]} px")
    cut, true = alpha > 0.5, truth > 0.5
    union = (cut | true).sum()
    return float((cut & true).sum() / union) if union else 1.0
