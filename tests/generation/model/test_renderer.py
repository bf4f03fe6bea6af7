import numpy as np
import pytest

from generation.rendering import (
    MOTIFS,
    PALETTE_NAMES,
    PRODUCT_SHAPES,
    random_persona_vector,
    render_array,
    render_original,
    render_product,
    style_for,
    style_similarity,
)


def test_every_shape_renders_an_rgb_product_on_a_light_background(persona):
    assert len(PRODUCT_SHAPES) == 10
    for shape in PRODUCT_SHAPES:
        image = render_product(shape, persona, seed=3)
        assert image.mode == "RGB" and image.size == (64, 64)
        array = np.asarray(image).astype(float) / 255
        corner = array[:3, :3].mean()
        assert corner > 0.85, shape
        assert np.abs(array - array[0, 0]).max() > 0.3, f"{shape} shows no product"


def test_same_seed_same_pixels_and_geometry_follows_seed(persona):
    a = render_array("vase", persona, seed=11)
    assert np.array_equal(a, render_array("vase", persona, seed=11))
    assert not np.array_equal(a, render_array("vase", persona, seed=12))


def test_persona_changes_the_style_not_the_silhouette(persona, other_persona):
    original = np.asarray(render_original("tote_bag", seed=5)).astype(float)
    mine = np.asarray(render_product("tote_bag", persona, seed=5)).astype(float)
    theirs = np.asarray(render_product("tote_bag", other_persona, seed=5)).astype(float)
    assert np.abs(mine - theirs).mean() > 5
    assert np.abs(mine - original).mean() > 5
    background = np.abs(original - original[0, 0]).sum(axis=-1) < 3
    assert np.abs(mine - theirs)[background].max() <= 2  # the background is untouched


def test_styles_cover_all_motifs_and_palettes():
    rng = np.random.default_rng(0)
    styles = [style_for(random_persona_vector(rng)) for _ in range(400)]
    assert {s.motif for s in styles} == set(MOTIFS)
    assert {s.palette for s in styles} == set(PALETTE_NAMES)
    assert {s.density for s in styles} == {"sparse", "medium", "dense"}


def test_style_similarity(persona, other_persona):
    assert style_similarity(persona, persona) == 1.0
    assert 0.0 <= style_similarity(persona, other_persona) < 1.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(shape="teapot"), "unknown product shape"),
    (dict(size=8), "size"),
    (dict(size=64.5), "size"),
    (dict(persona_vector=np.zeros(5)), "length 13"),
])
def test_bad_render_arguments_raise(kwargs, message, persona):
    arguments = dict(shape="vase", persona_vector=persona, seed=1, size=64) | kwargs
    with pytest.raises(ValueError, match=message):
        render_product(**arguments)
