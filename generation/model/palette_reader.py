"""Which persona palette a drawn scene shows: a logistic regression on the scene's 8×8 thumbnail,
fitted on renderer scenes only (seed 11, never a split's scenes). It reads the renderer's own
scenes right every time, so on a model's scenes it measures whether the model drew the persona's
palette. `generation.model.evaluate` and `benchmarks/real_photos.py` both use it."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

FITTING_SCENES = 1500


def scene_features(scene) -> np.ndarray:
    """The scene's 8×8 thumbnail, colours in [0, 1] (a uint8 or [0, 1] array, H and W at least 8)."""
    scene = np.asarray(scene, np.float32)
    if scene.max() > 1.5:
        scene = scene / 255
    size = scene.shape[0] // 8
    return scene[: size * 8, : size * 8].reshape(8, size, 8, size, 3).mean(axis=(1, 3)).ravel()


@lru_cache(maxsize=1)
def palette_reader() -> Callable[[np.ndarray], str]:
    """A function from a scene (64 px, uint8 or [0, 1]) to the palette name it shows."""
    from sklearn.linear_model import LogisticRegression

    from generation.model.condition import random_persona_vector
    from generation.rendering.scenes import random_placed_matte, render_scene, scene_style_for

    rng = np.random.default_rng(11)
    features, labels = [], []
    for index in range(FITTING_SCENES):
        vector = random_persona_vector(rng)
        scene = render_scene(random_placed_matte(index, 64), vector, seed=index, size=64)
        features.append(scene_features(scene))
        labels.append(scene_style_for(vector).palette)
    model = LogisticRegression(max_iter=2000, C=3.0).fit(np.array(features), labels)
    return lambda scene: model.predict(scene_features(scene)[None])[0]
