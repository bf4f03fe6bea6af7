"""(64x64 input, 256x256 truth) pairs drawn by ``generation.rendering``.

The input is the renderer's own 64x64 picture of the same (shape, persona, seed),
i.e. exactly what the 64x64 generator is trained to reproduce. (It equals a 4x4
box/area downscale of the 256x256 render to within ~45-51 dB, because both
average a supersampled grid; we use the real 64x64 render so no degradation
model has to be guessed.)

Splits hold out product geometry: every split draws its render seeds from its
own range, so no validation/test (shape, seed) pair occurs in training. The
persona of each example comes from a per-split random stream; one example in
``ORIGINAL_EVERY`` is the un-personalised original photo (persona ``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm import tqdm

from generation.rendering import PRODUCT_SHAPES, random_persona_vector, render_array

LOW_SIZE, HIGH_SIZE = 64, 256
SPLIT_SEED_OFFSETS = {"train": 0, "validation": 1_000_000, "test": 2_000_000}
ORIGINAL_EVERY = 8


@dataclass
class UpscalePairs:
    """uint8 arrays: ``low`` (n, 64, 64, 3), ``high`` (n, 256, 256, 3); ``shapes``/``seeds`` (n,)."""

    low: np.ndarray
    high: np.ndarray
    shapes: np.ndarray
    seeds: np.ndarray

    def __len__(self) -> int:
        return len(self.low)

    def subset(self, indices) -> "UpscalePairs":
        return UpscalePairs(self.low[indices], self.high[indices], self.shapes[indices], self.seeds[indices])


@dataclass(frozen=True)
class RenderJob:
    shape: str
    persona_vector: np.ndarray | None
    seed: int


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def render_pair(job: RenderJob) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) uint8 renders of one (shape, persona, seed)."""
    low = render_array(job.shape, job.persona_vector, job.seed, LOW_SIZE)
    high = render_array(job.shape, job.persona_vector, job.seed, HIGH_SIZE)
    return _to_uint8(low), _to_uint8(high)


def split_jobs(split: str, count: int) -> list[RenderJob]:
    """``count`` render jobs of one split, cycling through the product shapes; deterministic."""
    offset = SPLIT_SEED_OFFSETS[split]
    rng = np.random.default_rng(20260 + offset)
    jobs = []
    for index in range(count):
        shape = PRODUCT_SHAPES[index % len(PRODUCT_SHAPES)]
        persona = None if index % ORIGINAL_EVERY == ORIGINAL_EVERY - 1 else random_persona_vector(rng)
        jobs.append(RenderJob(shape, persona, offset + index))
    return jobs


def build_split(split: str, count: int, workers: int = 2) -> UpscalePairs:
    jobs = split_jobs(split, count)
    with Pool(workers) as pool:
        pairs = list(tqdm(pool.imap(render_pair, jobs, chunksize=4), total=count, desc=f"render {split}"))
    low, high = (np.stack(column) for column in zip(*pairs))
    return UpscalePairs(low, high, np.array([job.shape for job in jobs]), np.array([job.seed for job in jobs]))


def load_split(split: str, count: int, cache_dir: str | Path, workers: int = 2) -> UpscalePairs:
    """Render a split once and cache it as ``.npz`` (a 256x256 render costs ~1 s)."""
    path = Path(cache_dir) / f"upscale_{split}_{count}.npz"
    if path.exists():
        with np.load(path) as data:
            return UpscalePairs(**{key: data[key] for key in data.files})
    pairs = build_split(split, count, workers)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **pairs.__dict__)
    return pairs
