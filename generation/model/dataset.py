"""Training, validation and test examples of the staging task, rendered by ``generation.rendering.scenes``.

One example is (placed product matte -> control image, persona vector) -> the persona's scene.

- Validation and test: a bank of ``NUM_PERSONAS`` personas (fixed seed) meets the matte kinds
  (the ten renderer shapes and blobs); each persona holds out one kind for validation and another
  for test, with matte seeds from separate ranges.
- Train: ``TRAIN_PERSONAS`` other personas, drawn from their own seed, each with
  ``samples_per_pair`` mattes of any kind from the train seed range. So neither the test personas
  nor the test mattes occur in training: a held-out pair is new on both sides, as a shop's persona
  and product are.

Arrays are cached as ``.npz`` because a scene costs ~9 ms to render.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm import tqdm

from generation.model.condition import random_persona_vector
from generation.model.control import control_from_matte
from generation.rendering.scenes import MATTE_KINDS, random_placed_matte, render_scene

NUM_PERSONAS = 60
TRAIN_PERSONAS = 2000
PERSONA_BANK_SEED = 20240
TRAIN_PERSONA_SEED = 77_001
SPLIT_SEED_OFFSETS = {"train": 0, "validation": 1_000_000, "test": 2_000_000}
FIELDS = ("targets", "controls", "personas", "kinds", "seeds")


def persona_bank(count: int = NUM_PERSONAS, seed: int = PERSONA_BANK_SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([random_persona_vector(rng) for _ in range(count)])


def split_pairs(num_personas: int = NUM_PERSONAS, seed: int = PERSONA_BANK_SEED) -> dict[str, list[tuple[str, int]]]:
    """(matte kind, bank persona index) pairs of validation and test; each persona holds out one kind for each."""
    rng = np.random.default_rng(seed + 1)
    pairs = {"validation": [], "test": []}
    for persona in range(num_personas):
        order = rng.permutation(len(MATTE_KINDS))
        pairs["validation"].append((MATTE_KINDS[order[0]], persona))
        pairs["test"].append((MATTE_KINDS[order[1]], persona))
    return pairs


@dataclass
class PairSet:
    """Arrays of one split. Scenes uint8 (n, 64, 64, 3); controls float16 (n, 2, 64, 64): matte, edges."""

    targets: np.ndarray
    controls: np.ndarray
    personas: np.ndarray
    kinds: np.ndarray
    seeds: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, indices) -> "PairSet":
        return PairSet(*(getattr(self, f)[indices] for f in FIELDS))

    @property
    def mattes(self) -> np.ndarray:
        return self.controls[:, 0].astype(np.float32)


def render_example(kind: str, persona_vector, seed: int, size: int = 64):
    """(scene uint8 (size, size, 3), control float16 (2, size, size)) of one (matte, persona) pair."""
    matte = random_placed_matte(seed, size, kind=kind)
    scene = render_scene(matte, persona_vector, seed, size)
    return _to_uint8(scene), control_from_matte(matte).astype(np.float16)


def _render_job(job):
    return render_example(*job)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def _jobs(split: str, samples_per_pair: int, size: int):
    rng = np.random.default_rng(PERSONA_BANK_SEED + 7 + SPLIT_SEED_OFFSETS[split])
    if split == "train":
        persona_rng = np.random.default_rng(TRAIN_PERSONA_SEED)
        for _ in range(TRAIN_PERSONAS):
            persona = random_persona_vector(persona_rng)
            for _ in range(samples_per_pair):
                seed = int(rng.integers(0, 1_000_000))
                yield str(rng.choice(MATTE_KINDS)), persona, seed, size
        return
    personas = persona_bank()
    for kind, persona in split_pairs()[split]:
        for _ in range(samples_per_pair):
            yield kind, personas[persona], SPLIT_SEED_OFFSETS[split] + int(rng.integers(0, 1_000_000)), size


def build_split(split: str, samples_per_pair: int, size: int = 64, workers: int = 2) -> PairSet:
    if split not in SPLIT_SEED_OFFSETS:
        raise ValueError(f"split must be one of {list(SPLIT_SEED_OFFSETS)}, got {split!r}")
    jobs = list(_jobs(split, samples_per_pair, size))
    if workers > 1:
        with Pool(workers) as pool:
            results = list(tqdm(pool.imap(_render_job, jobs, chunksize=32), total=len(jobs), desc=f"render {split}"))
    else:
        results = [_render_job(job) for job in jobs]
    targets, controls = (np.stack(column) for column in zip(*results))
    kinds, personas, seeds = zip(*((job[0], job[1], job[2]) for job in jobs))
    return PairSet(targets, controls, np.stack(personas).astype(np.float32), np.array(kinds), np.array(seeds))


def load_split(split: str, samples_per_pair: int, cache_dir: str | Path, size: int = 64) -> PairSet:
    path = Path(cache_dir) / f"scenes_{split}_{samples_per_pair}x_{size}px.npz"
    if path.exists():
        with np.load(path) as data:
            return PairSet(**{key: data[key] for key in FIELDS})
    pairs = build_split(split, samples_per_pair, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **pairs.__dict__)
    return pairs
