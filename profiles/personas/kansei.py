"""Kansei emotion words of a persona (seed 002 Table 1), read from what its customers write and buy.

Each of the six words has a small lexicon of Chinese and English cues. A persona's score for a
word is the share of its customers whose keywords or reviews use one of the cues, scaled so the
most-cued word reads 1.0; 0.5 is what a persona with no cues at all gets (neutral).
"""

from __future__ import annotations

KANSEI_WORDS = ("emotional", "simple", "light", "fashionable", "warm", "effortless")
KANSEI_CUES: dict[str, tuple[str, ...]] = {
    "emotional": ("回忆", "纪念", "感动", "心意", "治愈", "情怀", "想起", "打动", "memory", "moving", "nostalgic"),
    "simple": ("简约", "简单", "素雅", "极简", "干净", "大方", "实用", "simple", "minimal", "clean"),
    "light": ("轻便", "轻巧", "小巧", "轻盈", "便携", "不占地方", "light", "portable", "compact"),
    "fashionable": ("时尚", "潮流", "新潮", "好看", "颜值", "体面", "送礼", "stylish", "trendy", "fashionable"),
    "warm": ("温暖", "暖心", "温馨", "亲切", "贴心", "暖暖", "warm", "cosy", "cozy"),
    "effortless": ("方便", "省心", "顺手", "好用", "易用", "日常", "轻松", "easy", "handy", "effortless"),
}


def kansei_scores(customer_texts: list[str]) -> dict[str, float]:
    """{word: score in [0, 1]} from one persona's customers (one string of keywords+reviews each)."""
    if not customer_texts:
        return {word: 0.5 for word in KANSEI_WORDS}
    shares = {
        word: sum(any(cue in text for cue in cues) for text in customer_texts) / len(customer_texts)
        for word, cues in KANSEI_CUES.items()
    }
    top = max(shares.values())
    if top == 0:
        return {word: 0.5 for word in KANSEI_WORDS}
    return {word: round(share / top, 3) for word, share in shares.items()}
