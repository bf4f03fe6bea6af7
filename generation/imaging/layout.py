"""Where the product stands in the square listing frame, by category.

Things that stand (a vase, a teapot, a lacquer box) rest on a surface line below the centre, so the
scene can put a table or plinth under them; flat or hanging things (a fan, a scarf, a paper-cut) are
centred. Each category gives the share of the frame the product's long side takes and a margin that
no product crosses, whatever its aspect ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_LONG_SIDE = 1024
MAX_LONG_SIDE = 2048
PRESENT = 0.5  # alpha above which a pixel belongs to the product's bounding box


@dataclass(frozen=True)
class CategoryLayout:
    size: float  # the product's long side, as a share of the canvas side
    base: float | None  # where the product's bottom rests, as a share of the canvas height; None: centred
    margin: float  # the least gap to the canvas edge, as a share of the canvas side


LAYOUTS = {
    "ceramics": CategoryLayout(size=0.62, base=0.86, margin=0.08),
    "tea_ware": CategoryLayout(size=0.58, base=0.84, margin=0.08),
    "wood_lacquer": CategoryLayout(size=0.62, base=0.84, margin=0.08),
    "jewellery": CategoryLayout(size=0.5, base=None, margin=0.12),
    "fan": CategoryLayout(size=0.74, base=None, margin=0.07),
    "scarf": CategoryLayout(size=0.76, base=None, margin=0.07),
    "paper_cut": CategoryLayout(size=0.72, base=None, margin=0.08),
    "other": CategoryLayout(size=0.62, base=0.85, margin=0.08),
}
CATEGORY_WORDS = {
    "ceramic": "ceramics", "pottery": "ceramics", "porcelain": "ceramics", "vase": "ceramics", "bowl": "ceramics",
    "mug": "ceramics", "cup": "tea_ware", "tea": "tea_ware", "teapot": "tea_ware", "jewelry": "jewellery",
    "necklace": "jewellery", "ring": "jewellery", "earring": "jewellery", "bracelet": "jewellery",
    "silk": "scarf", "shawl": "scarf", "papercut": "paper_cut", "paper-cut": "paper_cut", "wood": "wood_lacquer",
    "lacquer": "wood_lacquer", "陶瓷": "ceramics", "瓷": "ceramics", "茶": "tea_ware", "扇": "fan", "丝巾": "scarf",
    "围巾": "scarf", "首饰": "jewellery", "剪纸": "paper_cut", "漆": "wood_lacquer", "木": "wood_lacquer",
}


@dataclass(frozen=True)
class Placement:
    canvas: tuple[int, int]  # (width, height)
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1): where the product's bounding box goes, canvas pixels


def layout_for(category: str) -> CategoryLayout:
    """The category's layout; a free-text category is matched by its words, else "other"."""
    key = (category or "").strip().lower().replace(" ", "_")
    if key in LAYOUTS:
        return LAYOUTS[key]
    for word, known in CATEGORY_WORDS.items():
        if word in key:
            return LAYOUTS[known]
    return LAYOUTS["other"]


def product_bounds(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the matte's product pixels, exclusive ends; ValueError for an empty matte."""
    ys, xs = np.nonzero(alpha > PRESENT)
    if not len(xs):
        raise ValueError("The cut-out is empty: no pixel of the matte is above 0.5; correct the cut-out first.")
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def place(alpha: np.ndarray, *, category: str, long_side: int = 1024) -> Placement:
    """The product's box on a square canvas of `long_side` px, by its category's layout."""
    if not MIN_LONG_SIDE <= long_side <= MAX_LONG_SIDE:
        raise ValueError(f"long_side must be {MIN_LONG_SIDE}-{MAX_LONG_SIDE} px, got {long_side}")
    x0, y0, x1, y1 = product_bounds(alpha)
    width, height = x1 - x0, y1 - y0
    rule = layout_for(category)
    room = long_side * (1 - 2 * rule.margin)
    scale = min(rule.size * long_side / max(width, height), room / width, room / height)
    box_width, box_height = max(1, round(width * scale)), max(1, round(height * scale))
    left = (long_side - box_width) // 2
    if rule.base is None:
        top = (long_side - box_height) // 2
    else:
        bottom = min(round(rule.base * long_side), round(long_side * (1 - rule.margin)))
        top = max(round(long_side * rule.margin), bottom - box_height)
    return Placement(canvas=(long_side, long_side), box=(left, top, left + box_width, top + box_height))


def crop_to_box(image: np.ndarray, alpha: np.ndarray, placement: Placement) -> np.ndarray:
    """`image` (aligned with `alpha`) cropped to the product's bounds and resized to the placement's box.
    Shrinks by area averaging; enlarges (only a photo smaller than the box) by Lanczos."""
    x0, y0, x1, y1 = product_bounds(alpha)
    crop = image[y0:y1, x0:x1]
    bx0, by0, bx1, by1 = placement.box
    size = (bx1 - bx0, by1 - by0)
    shrinking = size[0] * size[1] <= crop.shape[0] * crop.shape[1]
    resized = cv2.resize(np.ascontiguousarray(crop), size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4)
    return resized


def on_canvas(image: np.ndarray, alpha: np.ndarray, placement: Placement) -> np.ndarray:
    """`image` placed by the placement on a zero canvas of the placement's size."""
    width, height = placement.canvas
    boxed = crop_to_box(image, alpha, placement)
    canvas = np.zeros((height, width) + boxed.shape[2:], dtype=boxed.dtype)
    bx0, by0, bx1, by1 = placement.box
    canvas[by0:by1, bx0:bx1] = boxed
    return canvas


def placed_matte(alpha: np.ndarray, placement: Placement, size: int) -> np.ndarray:
    """The product's matte where the layout puts it, on a (size, size) canvas (the model's resolution)."""
    width, height = placement.canvas
    matte = on_canvas(alpha.astype(np.float32), alpha, placement)
    if (width, height) != (size, size):
        matte = cv2.resize(matte, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(matte, 0, 1).astype(np.float32)
