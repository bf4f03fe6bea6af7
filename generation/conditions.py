"""Persona → what the generator and the listing need: a condition vector, a title, a description."""

from __future__ import annotations

import numpy as np

from generation.model.condition import persona_vector_from
from profiles.models import Persona, Product

KANSEI_PHRASES = {
    "emotional": ("动人", "heartfelt"), "simple": ("简约", "minimal"), "light": ("轻盈", "light"),
    "fashionable": ("时尚", "stylish"), "warm": ("温暖", "warm"), "effortless": ("随心", "effortless"),
}
DEMAND_PHRASES = {
    "L0": ("日常实用", "for everyday use"), "L1": ("寄托心意", "full of feeling"),
    "L2": ("传承非遗文化", "carrying living heritage"), "L3": ("送礼体面", "a gift to be proud of"),
    "L4": ("值得收藏", "worth collecting"), "L5": ("环保天然", "natural and eco-friendly"),
}


def persona_condition(persona: Persona) -> np.ndarray:
    """The 13-value condition vector (generation.model.condition) of a persona.

    Sentiment is stored as P(positive) in [0, 1]; the model wants [-1, 1]. A persona without
    stated demands gets an even mix; without reviews, neutral sentiment; missing Kansei words
    are neutral (0.5).
    """
    demand = persona.demand_mix or {code: 1.0 for code in DEMAND_PHRASES}
    sentiment = 0.0 if persona.sentiment is None else 2 * float(persona.sentiment) - 1
    return persona_vector_from(demand, sentiment, persona.kansei or {})


def _strongest(scores: dict, count: int) -> list[str]:
    return [key for key, value in sorted(scores.items(), key=lambda kv: -kv[1]) if value > 0][:count]


def personalised_copy(product: Product, persona: Persona, language: str = "zh") -> tuple[str, str]:
    """A template title and short description for the persona's version of a product."""
    if language not in ("zh", "en"):
        raise ValueError(f"language must be 'zh' or 'en', got {language!r}")
    side = 0 if language == "zh" else 1
    kansei = [KANSEI_PHRASES[word][side] for word in _strongest(persona.kansei or {}, 2) if word in KANSEI_PHRASES]
    demands = [DEMAND_PHRASES[code][side] for code in _strongest(persona.demand_mix or {}, 1)]
    keywords = [word for word, _ in (persona.top_keywords or [])[:3]]
    if side == 0:
        title = f"{''.join(kansei[:1])}·{product.title}" if kansei else product.title
        description = f"{product.title}，{'、'.join(kansei) or '经典'}风格，{'，'.join(demands) or '用心之选'}。"
        if keywords:
            description += f"懂你所爱：{'、'.join(keywords)}。"
    else:
        title = f"{kansei[0].capitalize()} {product.title}" if kansei else product.title
        description = f"{product.title} in a {' and '.join(kansei) or 'classic'} style, {', '.join(demands) or 'chosen with care'}."
        if keywords:
            description += f" For those who love {', '.join(keywords)}."
    return title[:300], description
