"""The persona condition vector: a fixed-length description of one persona.

Layout (``PERSONA_VECTOR_LENGTH == 13``, float32):

=====  ======================  ===========================================
index  name                    meaning and range
=====  ======================  ===========================================
0      demand_functional (L0)  share of functional demand, [0, 1]
1      demand_emotional (L1)   share of emotional demand, [0, 1]
2      demand_cultural (L2)    share of cultural demand, [0, 1]
3      demand_social (L3)      share of social demand, [0, 1]
4      demand_investment (L4)  share of investment demand, [0, 1]
5      demand_environmental    share of environmental demand (L5), [0, 1]
6      sentiment               mean review polarity, [-1, 1]
7-12   kansei_<word>           emotional, simple, light, fashionable, warm,
                               effortless (seed 002 Table 1), each [0, 1]
=====  ======================  ===========================================

The six demand shares sum to 1 (seed 000 Fig. 4, L0-L5). Kansei scores are
normalised to [0, 1] (0.5 = neutral; a 7-point scale maps as (s - 1) / 6).

Pure numpy: the store simulator and the renderer import it without torch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

DEMAND_TYPES = ("functional", "emotional", "cultural", "social", "investment", "environmental")
KANSEI_WORDS = ("emotional", "simple", "light", "fashionable", "warm", "effortless")
CONDITION_FIELDS = (
    *(f"demand_{name}" for name in DEMAND_TYPES),
    "sentiment",
    *(f"kansei_{word}" for word in KANSEI_WORDS),
)
PERSONA_VECTOR_LENGTH = len(CONDITION_FIELDS)  # 13
SENTIMENT_INDEX = 6
KANSEI_SLICE = slice(7, 13)
DEMAND_SLICE = slice(0, 6)
NEUTRAL_KANSEI = 0.5


def _demand_key_to_index(key: str) -> int:
    """Accept 'L0'..'L5', 'functional', or 'demand_functional'."""
    text = str(key).strip().lower()
    if len(text) == 2 and text[0] == "l" and text[1].isdigit() and int(text[1]) < 6:
        return int(text[1])
    text = text.removeprefix("demand_")
    if text in DEMAND_TYPES:
        return DEMAND_TYPES.index(text)
    raise ValueError(f"unknown demand type {key!r}: use L0-L5 or one of {DEMAND_TYPES}")


def _finite_float(value, what: str) -> float:
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def persona_vector_from(
    demand_mix: Mapping[str, float],
    sentiment: float,
    kansei: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Build the 13-value condition vector of one persona.

    ``demand_mix`` maps demand types (``"L0"``..``"L5"`` or their names) to
    non-negative weights; they are normalised to sum to 1 (uniform if all zero).
    ``sentiment`` is in [-1, 1]. ``kansei`` maps the six Kansei words to [0, 1];
    missing words are neutral (0.5).
    """
    demand = np.zeros(6, dtype=np.float64)
    for key, weight in demand_mix.items():
        weight = _finite_float(weight, f"demand weight {key!r}")
        if weight < 0:
            raise ValueError(f"demand weight {key!r} must be >= 0, got {weight}")
        demand[_demand_key_to_index(key)] += weight
    demand = demand / demand.sum() if demand.sum() > 0 else np.full(6, 1 / 6)

    sentiment = _finite_float(sentiment, "sentiment")
    if not -1.0 <= sentiment <= 1.0:
        raise ValueError(f"sentiment must be in [-1, 1], got {sentiment}")

    scores = np.full(6, NEUTRAL_KANSEI, dtype=np.float64)
    for word, score in (kansei or {}).items():
        name = str(word).strip().lower().removeprefix("kansei_")
        if name not in KANSEI_WORDS:
            raise ValueError(f"unknown Kansei word {word!r}: use one of {KANSEI_WORDS}")
        score = _finite_float(score, f"Kansei score {word!r}")
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"Kansei score {word!r} must be in [0, 1], got {score}")
        scores[KANSEI_WORDS.index(name)] = score

    return np.concatenate([demand, [sentiment], scores]).astype(np.float32)


def validate_persona_vector(vector) -> np.ndarray:
    """Return ``vector`` as float32 of shape (13,), or raise ValueError naming the problem."""
    try:
        array = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"persona vector must be numeric: {error}") from None
    if array.shape != (PERSONA_VECTOR_LENGTH,):
        raise ValueError(
            f"persona vector must have length {PERSONA_VECTOR_LENGTH} "
            f"({', '.join(CONDITION_FIELDS)}), got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        bad = [CONDITION_FIELDS[i] for i in np.flatnonzero(~np.isfinite(array))]
        raise ValueError(f"persona vector has NaN or infinite values in {bad}")
    if np.any(array[DEMAND_SLICE] < -1e-6) or np.any(array[DEMAND_SLICE] > 1 + 1e-6):
        raise ValueError("persona vector demand weights (L0-L5) must be in [0, 1]")
    if not -1 - 1e-6 <= array[SENTIMENT_INDEX] <= 1 + 1e-6:
        raise ValueError("persona vector sentiment must be in [-1, 1]")
    if np.any(array[KANSEI_SLICE] < -1e-6) or np.any(array[KANSEI_SLICE] > 1 + 1e-6):
        raise ValueError("persona vector Kansei scores must be in [0, 1]")
    return array.astype(np.float32)


def validate_persona_batch(vectors) -> np.ndarray:
    """Accept one vector (13,) or a batch (n, 13); return float32 (n, 13)."""
    try:
        array = np.asarray(vectors, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"persona vectors must be numeric with length {PERSONA_VECTOR_LENGTH}: {error}") from None
    if array.ndim == 1:
        return validate_persona_vector(array)[None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"persona vectors must have shape (13,) or (n, 13), got {array.shape}")
    return np.stack([validate_persona_vector(row) for row in array])


def random_persona_vector(rng: np.random.Generator) -> np.ndarray:
    """A plausible persona: one or two dominant demand types, any sentiment and Kansei profile."""
    demand = rng.dirichlet(np.full(6, 0.35))
    sentiment = float(np.clip(rng.normal(0.3, 0.45), -1, 1))
    kansei = rng.uniform(0.0, 1.0, size=6)
    return np.concatenate([demand, [sentiment], kansei]).astype(np.float32)
