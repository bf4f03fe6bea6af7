"""Procedural photos of cultural and creative products, styled for a persona.

Stable public API (the store simulator and the generator's training data use it)::

    from generation.rendering import (
        PRODUCT_SHAPES, MOTIFS, PALETTE_NAMES, PERSONA_VECTOR_LENGTH,
        persona_vector_from, render_product, render_original, style_for, style_similarity,
    )

    vector = persona_vector_from({"L2": 0.7, "L1": 0.3}, sentiment=0.4,
                                 kansei={"simple": 0.8, "warm": 0.3})   # np.float32, shape (13,)
    photo = render_original("folding_fan", seed=12)                    # un-personalised product photo
    variant = render_product("folding_fan", vector, seed=12, size=64)  # the same fan drawn for the persona
    style_for(vector)           # ProductStyle(palette, motif, density, lightness, contrast)
    style_similarity(v1, v2)    # in [0, 1]: how alike two personas' variants look

- ``PRODUCT_SHAPES``: folding_fan, round_fan, bookmark, earrings, vase, tea_cup,
  tote_bag, silk_scarf, book_cover, hand_puppet.
- ``render_product(shape, persona_vector | None, seed, size=64) -> PIL.Image`` (RGB,
  size x size). ``seed`` fixes the product's geometry (position, scale, proportions);
  the persona vector fixes the style; ``None`` gives the original photo. Same
  arguments, same pixels. ``render_array`` returns float32 (size, size, 3) in [0, 1].
- Scenes (what the staging model learns, ``generation.rendering.scenes``):
  ``render_scene(matte, persona_vector, seed, size=64)`` draws the persona's scene around a placed
  product matte (backdrop, plinth/table/arch, motif, palette, light), ``scene_style_for(vector)``
  names its style, ``random_placed_matte(seed, size=64)`` draws training mattes.
- The persona vector layout (13 values: demand weights L0-L5, sentiment in [-1, 1],
  Kansei emotional, simple, light, fashionable, warm, effortless in [0, 1]) is
  documented in ``generation.model.condition``. Bad shapes, sizes or vectors raise
  ``ValueError``.

Imports numpy, scipy and Pillow only (no torch, no Django).
"""

from generation.model.condition import PERSONA_VECTOR_LENGTH, persona_vector_from, random_persona_vector
from generation.rendering.motifs import DENSITY_PERIODS, MOTIF_FUNCTIONS
from generation.rendering.render import render_array, render_original, render_product
from generation.rendering.scenes import SceneStyle, random_placed_matte, render_scene, scene_style_for
from generation.rendering.shapes import SHAPE_FUNCTIONS
from generation.rendering.style import PALETTES, ProductStyle, style_for, style_similarity

PRODUCT_SHAPES = list(SHAPE_FUNCTIONS)
MOTIFS = list(MOTIF_FUNCTIONS)
PALETTE_NAMES = list(PALETTES)
DENSITIES = list(DENSITY_PERIODS)

__all__ = [
    "DENSITIES",
    "MOTIFS",
    "PALETTE_NAMES",
    "PERSONA_VECTOR_LENGTH",
    "PRODUCT_SHAPES",
    "ProductStyle",
    "SceneStyle",
    "persona_vector_from",
    "random_persona_vector",
    "random_placed_matte",
    "render_array",
    "render_original",
    "render_product",
    "render_scene",
    "scene_style_for",
    "style_for",
    "style_similarity",
]
