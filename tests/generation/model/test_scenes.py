import numpy as np
import pytest

from generation.model.condition import random_persona_vector
from generation.model.control import control_from_matte
from generation.model.metrics import psnr
from generation.rendering import MOTIFS, PALETTE_NAMES, style_for
from generation.rendering.scenes import (
    LIGHTS,
    MATTE_KINDS,
    SET_SCORES,
    matte_frame,
    random_placed_matte,
    render_scene,
    scene_style_for,
)


def _box_matte(left, top, right, bottom, size=64):
    matte = np.zeros((size, size), np.float32)
    matte[top:bottom, left:right] = 1.0
    return matte


def _persona_with(**wanted):
    """The first random persona whose scene style has the wanted fields."""
    rng = np.random.default_rng(3)
    for _ in range(5000):
        vector = random_persona_vector(rng)
        style = scene_style_for(vector)
        if all(getattr(style, key) == value for key, value in wanted.items()):
            return vector
    raise AssertionError(f"no persona with {wanted}")


def _as_tensor(image):
    import torch

    return torch.from_numpy(np.asarray(image, np.float32)).permute(2, 0, 1)[None]


def test_same_inputs_same_pixels_in_range(persona):
    matte = random_placed_matte(5)
    a = render_scene(matte, persona, seed=1)
    assert a.shape == (64, 64, 3) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert np.array_equal(a, render_scene(matte, persona, seed=1))
    assert render_scene(matte[::2, ::2], persona, seed=1, size=32).shape == (32, 32, 3)


def test_the_seed_only_nudges_the_light(persona):
    matte = random_placed_matte(5)
    a, b = render_scene(matte, persona, seed=1), render_scene(matte, persona, seed=2)
    assert not np.array_equal(a, b)
    assert float(psnr(_as_tensor(a), _as_tensor(b))) > 35  # far above the model's figure: not a noise source


def test_personas_with_other_styles_get_visibly_other_scenes(persona, other_persona):
    assert scene_style_for(persona).palette != scene_style_for(other_persona).palette
    matte = random_placed_matte(8)
    mine, theirs = render_scene(matte, persona, 0), render_scene(matte, other_persona, 0)
    assert np.abs(mine - theirs).mean() * 255 > 6


def test_the_table_edge_runs_at_the_products_base():
    persona = _persona_with(set="table")
    high, low = _box_matte(24, 10, 40, 36), _box_matte(24, 24, 40, 54)
    scene_high, scene_low = render_scene(high, persona, 0), render_scene(low, persona, 0)
    column = slice(4, 12)  # beside the product, where only backdrop or table shows
    rows_between = slice(40, 50)  # table under the high product, still backdrop behind the low one
    assert np.abs(scene_high[rows_between, column] - scene_low[rows_between, column]).mean() > 0.08
    assert np.abs(scene_high[:8, column] - scene_low[:8, column]).mean() < 0.05


def test_the_plinth_is_as_wide_as_the_product():
    persona = _persona_with(set="plinth")
    narrow, wide = _box_matte(28, 20, 36, 44), _box_matte(14, 20, 50, 44)
    scene_narrow, scene_wide = render_scene(narrow, persona, 0), render_scene(wide, persona, 0)
    below = slice(47, 55)  # the plinth's front, under the base
    beside = slice(16, 22)  # under the wide product's plinth, beside the narrow one's
    assert np.abs(scene_narrow[below, beside] - scene_wide[below, beside]).mean() > 0.05
    middle = slice(30, 34)
    assert np.abs(scene_narrow[below, middle] - scene_wide[below, middle]).mean() < 0.03


def test_the_halo_follows_the_products_shape():
    persona = _persona_with(set="table")
    left, right = _box_matte(8, 20, 24, 44), _box_matte(40, 20, 56, 44)
    scene_left, scene_right = render_scene(left, persona, 0), render_scene(right, persona, 0)
    outside_both = (left + right) == 0
    assert np.abs(scene_left - scene_right)[outside_both].mean() > 0.02


def test_scene_styles_use_the_product_style_and_cover_every_set_and_light():
    rng = np.random.default_rng(0)
    vectors = [random_persona_vector(rng) for _ in range(400)]
    styles = [scene_style_for(v) for v in vectors]
    assert {s.set for s in styles} == set(SET_SCORES)
    assert {s.light for s in styles} == set(LIGHTS)
    assert {s.palette for s in styles} == set(PALETTE_NAMES)
    assert {s.motif for s in styles} == set(MOTIFS)
    product = style_for(vectors[0])
    assert (styles[0].palette, styles[0].motif, styles[0].density) == (product.palette, product.motif, product.density)


def test_training_mattes_are_laid_out_like_products():
    kinds, bases = set(), []
    for seed in range(60):
        matte = random_placed_matte(seed)
        assert matte.shape == (64, 64) and 0 <= matte.min() and matte.max() <= 1
        frame = matte_frame(matte)
        assert 0.03 <= frame.left and frame.right <= 0.97 and 0.03 <= frame.top and frame.base <= 0.95
        assert 0.4 <= max(frame.width, frame.height) <= 0.85
        assert abs((frame.left + frame.right) / 2 - 0.5) < 0.06
        bases.append(frame.base)
        assert 0 < ((matte > 0.02) & (matte < 0.98)).sum()  # soft, anti-aliased edges
    assert np.array_equal(random_placed_matte(7), random_placed_matte(7))
    for kind in MATTE_KINDS:
        kinds.add(kind)
        assert random_placed_matte(1, kind=kind).max() > 0.5
    assert np.mean(np.array(bases) >= 0.79) > 0.4  # most stand on a base line


def test_control_from_matte_marks_the_matte_and_its_outline():
    matte = _box_matte(20, 20, 44, 44)
    control = control_from_matte(matte)
    assert control.shape == (2, 64, 64) and control.dtype == np.float32
    assert np.array_equal(control[0], matte)
    assert control[1, 32, 19:21].max() == 1.0  # on the outline
    assert control[1, 32, 30] == 0.0 and control[1, 5, 5] == 0.0  # inside and outside


@pytest.mark.parametrize("matte, kwargs, message", [
    (np.zeros((64, 64)), {}, "empty"),
    (np.ones((64, 32)), {}, "square"),
    (np.ones((32, 32)), {}, "resize the matte"),
    (np.full((64, 64), 2.0), {}, r"\[0, 1\]"),
    (np.ones((64, 64)), {"size": 8}, "size"),
])
def test_bad_scene_arguments_raise(matte, kwargs, message, persona):
    with pytest.raises(ValueError, match=message):
        render_scene(matte, persona, 0, **kwargs)
    with pytest.raises(ValueError, match="matte kind"):
        random_placed_matte(0, kind="teapot")
