"""The simulated catalogue: products drawn by the generation renderer, titled in Chinese.

Every product has a theme (the demand type whose shoppers it appeals to, through its title
and tags) and a house design (a persona vector: the style its original photo is drawn in).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from generation.rendering import PRODUCT_SHAPES, random_persona_vector, render_product
from shop_ai.simulator.personas import ARCHETYPES

CATEGORY_NAMES = {
    "folding_fan": "折扇", "round_fan": "团扇", "bookmark": "书签", "earrings": "耳饰", "vase": "花瓶",
    "tea_cup": "茶杯", "tote_bag": "帆布包", "silk_scarf": "丝巾", "book_cover": "手账本", "hand_puppet": "布袋木偶",
}
BASE_PRICES = {
    "folding_fan": 68, "round_fan": 58, "bookmark": 18, "earrings": 88, "vase": 168,
    "tea_cup": 78, "tote_bag": 49, "silk_scarf": 128, "book_cover": 38, "hand_puppet": 138,
}
MOTIF_NAMES = {
    "cloud_scroll": "祥云", "sea_waves": "海水纹", "lotus": "莲花", "plum_blossom": "梅花",
    "paper_cut_lattice": "窗花", "ink_mountains": "水墨山水", "plain_geometric": "几何",
}
CRAFTS = ("剪纸", "刺绣", "景泰蓝", "青花", "皮影", "漆器", "扎染", "木雕")


@dataclass(frozen=True)
class SimProduct:
    product_id: str
    shape: str
    theme: int  # index into ARCHETYPES
    craft: str
    title: str
    tags: tuple[str, ...]
    price: Decimal
    house_vector: np.ndarray
    seed: int

    @property
    def item_name(self) -> str:
        return CATEGORY_NAMES[self.shape]


def make_catalogue(count: int, rng: np.random.Generator) -> list[SimProduct]:
    from generation.rendering import style_for

    products = []
    for number in range(count):
        shape = PRODUCT_SHAPES[number % len(PRODUCT_SHAPES)]
        theme = int(rng.integers(len(ARCHETYPES)))
        archetype = ARCHETYPES[theme]
        craft = CRAFTS[int(rng.integers(len(CRAFTS)))]
        house = random_persona_vector(rng)
        motif = MOTIF_NAMES.get(style_for(house).motif, "")
        theme_words = list(rng.choice(archetype.themes, size=2, replace=False))
        title = f"{theme_words[0]}{craft}{motif}{CATEGORY_NAMES[shape]}"
        other = ARCHETYPES[int(rng.integers(len(ARCHETYPES)))].themes
        tags = (*theme_words, craft, motif, str(rng.choice(other)))
        price = Decimal(BASE_PRICES[shape]) * (Decimal("1.8") if archetype.demand == "L4" else 1)
        price = (price + Decimal(int(rng.integers(0, 20)))).quantize(Decimal("0.01"))
        products.append(SimProduct(f"sim-p{number:05d}", shape, theme, craft, title, tags, price, house,
                                   seed=int(rng.integers(1 << 30))))
    return products


def product_photo_png(product: SimProduct, size: int) -> bytes:
    buffer = io.BytesIO()
    render_product(product.shape, product.house_vector, seed=product.seed, size=size).save(buffer, format="PNG")
    return buffer.getvalue()
