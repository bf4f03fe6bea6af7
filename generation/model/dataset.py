"""Training, validation and test pairs rendered by ``generation.rendering``.

A bank of ``NUM_PERSONAS`` personas (fixed seed) meets the ten product shapes.
Each persona holds out one shape for validation and another for test, so the
validation and test (shape, persona) pairs never occur in training; their
product geometries (render seeds) come from separate ranges as well.

Each example is (original photo -> control image, persona vector, target photo).
Arrays are cached as ``.npz`` because rendering costs ~15 ms an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm import tqdm

from generation.model.condition import random_persona_vector
from generation.model.control import control_image
from generation.rendering import PRODUCT_SHAPES, render_array

NUM_PERSONAS = 60
PERSONA_BANK_SEED = 20240
SPLIT_SEED_OFFSETS = {"train": 0, "validation": 1_000_000, "test": 2_000_000}


def persona_bank(count: int = NUM_PERSONAS, seed: int = PERSONA_BANK_SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([random_persona_vector(rng) for _ in range(count)])


def split_pairs(num_personas: int = NUM_PERSONAS, seed: int = PERSONA_BANK_SEED) -> dict[str, list[tuple[str, int]]]:
    """(shape, persona index) pairs per split; each persona gives one shape to validation, one to test."""
    rng = np.random.default_rng(seed + 1)
    pairs = {"train": [], "validation": [], "test": []}
    for persona in range(num_personas):
        order = rng.permutation(len(PRODUCT_SHAPES))
        pairs["validation"].append((PRODUCT_SHAPES[order[0]], persona))
        pairs["test"].append((PRODUCT_SHAPES[order[1]], persona))
        pairs["train"] += [(PRODUCT_SHAPES[i], persona) for i in order[2:]]
    return pairs


@dataclass
class PairSet:
    """Arrays of one split. Images are uint8 (n, 64, 64, 3); controls float16 (n, 2, 64, 64)."""

    targets: np.ndarray
    originals: np.ndarray
    controls: np.ndarray
    personas: np.ndarray
    shapes: np.ndarray
    seeds: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, indices) -> "PairSet":
        return PairSet(*(getattr(self, f)[indices] for f in ("targets", "originals", "controls", "personas", "shapes", "seeds")))


def _render_example(job):
    shape, persona_vector, seed, size = job
    original = render_array(shape, None, seed, size)
    target = render_array(shape, persona_vector, seed, size)
    return _to_uint8(target), _to_uint8(original), control_image(original).astype(np.float16)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def build_split(split: str, samples_per_pair: int, size: int = 64, workers: int = 2) -> PairSet:
    personas = persona_bank()
    rng = np.random.default_rng(PERSONA_BANK_SEED + 7 + SPLIT_SEED_OFFSETS[split])
    jobs, shapes, persona_rows, seeds = [], [], [], []
    for shape, persona in split_pairs()[split]:
        for _ in range(samples_per_pair):
            seed = SPLIT_SEED_OFFSETS[split] + int(rng.integers(0, 1_000_000))
            jobs.append((shape, personas[persona], seed, size))
            shapes.append(shape)
            persona_rows.append(personas[persona])
            seeds.append(seed)
    with Pool(workers) as pool:
        results = list(tqdm(pool.imap(_render_example, jobs, chunksize=16), total=len(jobs), desc=f"render {split}"))
    targets, originals, controls = (np.stack(column) for column in zip(*results))
    return PairSet(targets, originals, controls, np.stack(persona_rows), np.array(shapes), np.array(seeds))


def load_split(split: str, samples_per_pair: int, cache_dir: str | Path, size: int = 64) -> PairSet:
    path = Path(cache_dir) / f"{split}_{samples_per_pair}x_{size}px.npz"
    if path.exists():
        with np.load(path) as data:
            return PairSet(**{key: data[key] for key in data.files})
    pairs = build_split(split, samples_per_pair, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **pairs.__dict__)
    return pairs
