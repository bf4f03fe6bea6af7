"""From a persona condition vector to a product style: palette, motif, density, tone.

Palette and motif are the arg-max of fixed linear scores over the 13 persona
values (seed 000's demand types L0-L5, sentiment, seed 002's Kansei words);
density comes from 'simple' and 'effortless'; lightness and motif contrast
vary smoothly with 'light' and sentiment. It is a plain function of the
vector, so a conditioned model can learn it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generation.model.condition import CONDITION_FIELDS, validate_persona_vector

PALETTES = {
    # name: (base colour, accent colour), RGB in [0, 1]
    "festive_red_gold": ((0.74, 0.14, 0.13), (0.97, 0.78, 0.28)),
    "celadon": ((0.63, 0.79, 0.71), (0.27, 0.50, 0.45)),
    "ink": ((0.86, 0.85, 0.81), (0.16, 0.16, 0.19)),
    "warm_peach": ((0.97, 0.73, 0.60), (0.78, 0.36, 0.33)),
    "fashionable_pastel": ((0.74, 0.79, 0.95), (0.97, 0.62, 0.80)),
    "natural_kraft_green": ((0.77, 0.63, 0.45), (0.28, 0.49, 0.26)),
}
ORIGINAL_COLOUR = (0.80, 0.71, 0.58)  # the un-personalised product: undyed, undecorated

_F = {name: i for i, name in enumerate(CONDITION_FIELDS)}


def _weights(**named: float) -> np.ndarray:
    row = np.zeros(len(CONDITION_FIELDS), dtype=np.float32)
    for name, weight in named.items():
        row[_F[name]] = weight
    return row


PALETTE_SCORES = {
    "festive_red_gold": _weights(demand_social=1.2, demand_investment=0.8, kansei_warm=0.6, sentiment=0.3),
    "celadon": _weights(demand_cultural=1.0, kansei_simple=0.6, kansei_light=0.3),
    "ink": _weights(demand_cultural=0.8, kansei_simple=1.1, kansei_emotional=0.3, kansei_fashionable=-0.4, kansei_warm=-0.3),
    "warm_peach": _weights(demand_emotional=1.2, kansei_warm=0.6, kansei_emotional=0.5),
    "fashionable_pastel": _weights(kansei_fashionable=1.0, kansei_light=0.5, demand_social=0.4),
    "natural_kraft_green": _weights(demand_environmental=1.3, kansei_effortless=0.6, demand_functional=0.5),
}
MOTIF_SCORES = {
    "cloud_scroll": _weights(demand_cultural=1.1, kansei_warm=0.4, kansei_emotional=0.2, sentiment=0.4),
    "sea_waves": _weights(demand_environmental=1.0, kansei_effortless=0.5, kansei_light=0.3),
    "lotus": _weights(demand_emotional=1.0, kansei_warm=0.4, kansei_emotional=0.3),
    "plum_blossom": _weights(demand_investment=1.0, kansei_fashionable=0.4, kansei_emotional=0.3),
    "paper_cut_lattice": _weights(demand_social=1.1, kansei_warm=0.3, sentiment=0.3),
    "ink_mountains": _weights(demand_cultural=0.8, kansei_simple=0.6, kansei_emotional=0.3, sentiment=-0.3),
    "plain_geometric": _weights(demand_functional=1.2, kansei_simple=0.4, kansei_fashionable=0.3),
}


@dataclass(frozen=True)
class ProductStyle:
    palette: str
    motif: str
    density: str  # "sparse" | "medium" | "dense"
    lightness: float  # added to the base colour, [-0.06, 0.06]
    contrast: float  # how strongly the motif replaces the base colour, [0.6, 0.9]


def _argmax_name(scores: dict[str, np.ndarray], vector: np.ndarray) -> str:
    names = list(scores)
    return names[int(np.argmax([scores[name] @ vector for name in names]))]


def style_for(persona_vector) -> ProductStyle:
    """The style a persona's variant of any product is drawn in."""
    vector = validate_persona_vector(persona_vector)
    ease = 0.5 * vector[_F["kansei_simple"]] + 0.5 * vector[_F["kansei_effortless"]]
    density = "sparse" if ease > 0.62 else "dense" if ease < 0.38 else "medium"
    return ProductStyle(
        palette=_argmax_name(PALETTE_SCORES, vector),
        motif=_argmax_name(MOTIF_SCORES, vector),
        density=density,
        lightness=float(0.12 * (vector[_F["kansei_light"]] - 0.5)),
        contrast=float(0.6 + 0.15 * (vector[_F["sentiment"]] + 1.0)),
    )


def style_similarity(persona_a, persona_b) -> float:
    """How alike two personas' variants look, in [0, 1] (palette 0.5, motif 0.35, density 0.15)."""
    a, b = style_for(persona_a), style_for(persona_b)
    return 0.5 * (a.palette == b.palette) + 0.35 * (a.motif == b.motif) + 0.15 * (a.density == b.density)
