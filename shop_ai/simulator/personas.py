"""The simulator's hidden truth about shoppers: six latent personas, one per demand type.

Each archetype has a demand mix dominated by one of seed 000's demand types (L0-L5), a
sentiment bias, Kansei preferences (seed 002 Table 1) and the theme words it looks for in
titles and tags. Customers are noisy draws around an archetype, so persona recovery from
events is possible but not trivial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generation.rendering import persona_vector_from

DEMAND_CODES = ("L0", "L1", "L2", "L3", "L4", "L5")


@dataclass(frozen=True)
class Archetype:
    key: str
    demand: str  # dominant demand type, L0..L5
    label: str
    sentiment: float
    kansei: dict
    themes: tuple[str, ...]  # words this persona is drawn to in titles and tags


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("practical", "L0", "Practical everyday user", 0.1,
              {"simple": 0.9, "effortless": 0.85, "light": 0.6, "fashionable": 0.25, "emotional": 0.2, "warm": 0.4},
              ("实用", "耐用", "日常", "收纳", "轻便")),
    Archetype("sentimental", "L1", "Sentimental gift-to-self buyer", 0.5,
              {"emotional": 0.9, "warm": 0.9, "light": 0.55, "simple": 0.4, "fashionable": 0.5, "effortless": 0.5},
              ("手作", "治愈", "纪念", "温暖", "心意")),
    Archetype("heritage", "L2", "Heritage and culture lover", 0.3,
              {"emotional": 0.6, "simple": 0.3, "light": 0.2, "fashionable": 0.2, "warm": 0.6, "effortless": 0.3},
              ("非遗", "景泰蓝", "剪纸", "皮影", "青花")),
    Archetype("gifter", "L3", "Social gifter", 0.2,
              {"fashionable": 0.8, "warm": 0.7, "emotional": 0.5, "simple": 0.5, "light": 0.6, "effortless": 0.4},
              ("送礼", "伴手礼", "礼盒", "节日", "体面")),
    Archetype("collector", "L4", "Collector and investor", -0.1,
              {"simple": 0.6, "emotional": 0.3, "light": 0.15, "fashionable": 0.3, "warm": 0.2, "effortless": 0.2},
              ("限量", "收藏", "典藏", "大师", "编号")),
    Archetype("green", "L5", "Eco-minded shopper", 0.3,
              {"light": 0.85, "simple": 0.75, "effortless": 0.8, "warm": 0.5, "fashionable": 0.4, "emotional": 0.4},
              ("环保", "竹制", "再生", "天然", "可降解")),
)
ARCHETYPE_BY_KEY = {archetype.key: archetype for archetype in ARCHETYPES}


def archetype_vector(archetype: Archetype) -> np.ndarray:
    mix = {code: (0.65 if code == archetype.demand else 0.07) for code in DEMAND_CODES}
    return persona_vector_from(mix, archetype.sentiment, archetype.kansei)


def customer_vector(archetype: Archetype, rng: np.random.Generator) -> np.ndarray:
    """A customer is a noisy draw around their archetype (Dirichlet demand mix, jittered Kansei)."""
    concentration = np.full(6, 1.0)
    concentration[DEMAND_CODES.index(archetype.demand)] = 8.0
    mix = dict(zip(DEMAND_CODES, rng.dirichlet(concentration)))
    kansei = {word: float(np.clip(value + rng.normal(0, 0.08), 0, 1)) for word, value in archetype.kansei.items()}
    sentiment = float(np.clip(archetype.sentiment + rng.normal(0, 0.2), -1, 1))
    return persona_vector_from(mix, sentiment, kansei)
