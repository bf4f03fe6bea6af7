"""Product silhouettes in unit coordinates (x right, y down, both in [0, 1]).

Each shape function takes the supersampled coordinate grids and a geometry
(centre, scale and a few shape-specific numbers drawn from the seed) and
returns two boolean masks: the product silhouette and its structure lines
(fan ribs, a book's spine, a bag's seam) that every variant of the product
shares and the control image shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LINE_WIDTH = 0.011


@dataclass(frozen=True)
class Geometry:
    cx: float
    cy: float
    scale: float
    variant: float  # in [0, 1], e.g. fan span, vase bulge height
    count: int  # e.g. number of fan ribs


def geometry_from_seed(seed: int) -> Geometry:
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7919])
    return Geometry(
        cx=0.5 + rng.uniform(-0.05, 0.05),
        cy=0.5 + rng.uniform(-0.04, 0.04),
        scale=rng.uniform(0.88, 1.06),
        variant=rng.uniform(0.0, 1.0),
        count=int(rng.integers(7, 13)),
    )


def _ellipse(X, Y, cx, cy, rx, ry):
    return ((X - cx) / rx) ** 2 + ((Y - cy) / ry) ** 2 <= 1.0


def _ring(X, Y, cx, cy, r_in, r_out):
    r = np.hypot(X - cx, Y - cy)
    return (r >= r_in) & (r <= r_out)


def _box(X, Y, x0, y0, x1, y1):
    return (X >= x0) & (X <= x1) & (Y >= y0) & (Y <= y1)


def _hline(X, Y, y, x0, x1):
    return _box(X, Y, x0, y - LINE_WIDTH / 2, x1, y + LINE_WIDTH / 2)


def _vline(X, Y, x, y0, y1):
    return _box(X, Y, x - LINE_WIDTH / 2, y0, x + LINE_WIDTH / 2, y1)


def folding_fan(X, Y, g: Geometry):
    px, py = g.cx, g.cy + 0.26 * g.scale
    r = np.hypot(X - px, Y - py)
    angle = np.arctan2(X - px, py - Y)  # 0 = straight up
    half_span = np.deg2rad(52 + 16 * g.variant)
    leaf = (r >= 0.15 * g.scale) & (r <= 0.44 * g.scale) & (np.abs(angle) <= half_span)
    mask = leaf | (r <= 0.035 * g.scale)
    rib_angles = np.linspace(-half_span, half_span, g.count)
    ribs = np.zeros_like(mask)
    for rib in rib_angles:
        ribs |= (np.abs(np.sin(angle - rib)) * r < LINE_WIDTH / 2) & (np.abs(angle - rib) < 0.5)
    return mask, ribs & mask & (r > 0.05 * g.scale)


def round_fan(X, Y, g: Geometry):
    radius = (0.27 + 0.04 * g.variant) * g.scale
    cy = g.cy - 0.07 * g.scale
    face = _ellipse(X, Y, g.cx, cy, radius, radius)
    handle = _box(X, Y, g.cx - 0.022 * g.scale, cy + radius * 0.9, g.cx + 0.022 * g.scale, cy + radius + 0.2 * g.scale)
    rim = _ring(X, Y, g.cx, cy, radius - 0.03 * g.scale - LINE_WIDTH, radius - 0.03 * g.scale)
    return face | handle, rim


def bookmark(X, Y, g: Geometry):
    hw, hh = (0.11 + 0.03 * g.variant) * g.scale, 0.33 * g.scale
    cy = g.cy + 0.04 * g.scale
    body = _box(X, Y, g.cx - hw, cy - hh, g.cx + hw, cy + hh)
    hole = _ellipse(X, Y, g.cx, cy - hh + 0.05 * g.scale, 0.018 * g.scale, 0.018 * g.scale)
    tassel = _vline(X, Y, g.cx, cy - hh - 0.1 * g.scale, cy - hh + 0.04 * g.scale) | _ellipse(
        X, Y, g.cx, cy - hh - 0.1 * g.scale, 0.025 * g.scale, 0.025 * g.scale
    )
    inset = 0.035 * g.scale
    frame = (
        _hline(X, Y, cy - hh + inset + 0.05 * g.scale, g.cx - hw + inset, g.cx + hw - inset)
        | _hline(X, Y, cy + hh - inset, g.cx - hw + inset, g.cx + hw - inset)
        | _vline(X, Y, g.cx - hw + inset, cy - hh + inset + 0.05 * g.scale, cy + hh - inset)
        | _vline(X, Y, g.cx + hw - inset, cy - hh + inset + 0.05 * g.scale, cy + hh - inset)
    )
    return (body & ~hole) | tassel, frame


def earrings(X, Y, g: Geometry):
    mask = np.zeros_like(X, dtype=bool)
    lines = np.zeros_like(mask)
    for side in (-1, 1):
        x = g.cx + side * 0.17 * g.scale
        hook = _ring(X, Y, x, g.cy - 0.3 * g.scale, 0.035 * g.scale, 0.05 * g.scale)
        bead = _ellipse(X, Y, x, g.cy - 0.2 * g.scale, 0.04 * g.scale, 0.04 * g.scale)
        drop_ry = (0.15 + 0.05 * g.variant) * g.scale
        drop = _ellipse(X, Y, x, g.cy + 0.02 * g.scale + drop_ry * 0.3, 0.11 * g.scale, drop_ry)
        link = _vline(X, Y, x, g.cy - 0.26 * g.scale, g.cy - 0.1 * g.scale)
        mask |= hook | bead | drop | link
        lines |= _ring(X, Y, x, g.cy + 0.02 * g.scale + drop_ry * 0.3, 0.075 * g.scale, 0.075 * g.scale + LINE_WIDTH)
    return mask, lines


def vase(X, Y, g: Geometry):
    top, bottom = g.cy - 0.38 * g.scale, g.cy + 0.38 * g.scale
    t = np.clip((Y - top) / (bottom - top), 0, 1)
    bulge_at = 0.55 + 0.15 * g.variant
    width = g.scale * (0.07 + 0.21 * np.exp(-(((t - bulge_at) / 0.27) ** 2)))
    width = np.where(t < 0.07, 0.11 * g.scale, width)
    mask = (np.abs(X - g.cx) <= width) & (Y >= top) & (Y <= bottom)
    neck_ring = _hline(X, Y, top + 0.2 * (bottom - top), g.cx - 0.3, g.cx + 0.3)
    foot_ring = _hline(X, Y, top + 0.9 * (bottom - top), g.cx - 0.3, g.cx + 0.3)
    return mask, (neck_ring | foot_ring) & mask


def tea_cup(X, Y, g: Geometry):
    rx, ry = (0.25 + 0.04 * g.variant) * g.scale, 0.22 * g.scale
    cy = g.cy - 0.1 * g.scale
    bowl = _ellipse(X, Y, g.cx, cy, rx, ry) & (Y >= cy)
    rim = _ellipse(X, Y, g.cx, cy, rx, 0.045 * g.scale)
    saucer = _ellipse(X, Y, g.cx, cy + ry + 0.01, 0.38 * g.scale, 0.065 * g.scale)
    handle = _ring(X, Y, g.cx + rx, cy + 0.07 * g.scale, 0.05 * g.scale, 0.085 * g.scale) & (X > g.cx + rx * 0.9)
    rim_line = _ring(X, Y, g.cx, cy, 0, 1) & ~_ellipse(X, Y, g.cx, cy, rx - LINE_WIDTH, 0.045 * g.scale - LINE_WIDTH) & rim
    return bowl | rim | saucer | handle, rim_line


def tote_bag(X, Y, g: Geometry):
    top = g.cy - 0.12 * g.scale
    hw = (0.25 + 0.04 * g.variant) * g.scale
    body = _box(X, Y, g.cx - hw, top, g.cx + hw, g.cy + 0.36 * g.scale)
    handle = _ring(X, Y, g.cx, top, 0.13 * g.scale, 0.165 * g.scale) & (Y < top)
    seam = _hline(X, Y, top + 0.06 * g.scale, g.cx - hw, g.cx + hw)
    return body | handle, seam


def silk_scarf(X, Y, g: Geometry):
    radius = (0.36 + 0.04 * g.variant) * g.scale
    diamond = np.abs(X - g.cx) + np.abs(Y - g.cy)
    mask = diamond <= radius
    border = (diamond <= radius - 0.05 * g.scale) & (diamond >= radius - 0.05 * g.scale - LINE_WIDTH * 1.4)
    return mask, border


def book_cover(X, Y, g: Geometry):
    hw, hh = (0.22 + 0.04 * g.variant) * g.scale, 0.33 * g.scale
    mask = _box(X, Y, g.cx - hw, g.cy - hh, g.cx + hw, g.cy + hh)
    spine = _vline(X, Y, g.cx - hw + 0.06 * g.scale, g.cy - hh, g.cy + hh)
    label = _box(X, Y, g.cx - 0.06 * g.scale, g.cy - 0.22 * g.scale, g.cx + 0.12 * g.scale, g.cy - 0.12 * g.scale)
    label_edge = label & ~_box(
        X, Y, g.cx - 0.06 * g.scale + LINE_WIDTH, g.cy - 0.22 * g.scale + LINE_WIDTH,
        g.cx + 0.12 * g.scale - LINE_WIDTH, g.cy - 0.12 * g.scale - LINE_WIDTH,
    )
    return mask, spine | label_edge


def hand_puppet(X, Y, g: Geometry):
    head_y = g.cy - 0.21 * g.scale
    head = _ellipse(X, Y, g.cx, head_y, 0.12 * g.scale, 0.12 * g.scale)
    top, bottom = g.cy - 0.08 * g.scale, g.cy + 0.37 * g.scale
    t = np.clip((Y - top) / (bottom - top), 0, 1)
    body = (np.abs(X - g.cx) <= g.scale * (0.11 + (0.12 + 0.04 * g.variant) * t)) & (Y >= top) & (Y <= bottom)
    arms = _ellipse(X, Y, g.cx - 0.2 * g.scale, g.cy + 0.02, 0.08 * g.scale, 0.045 * g.scale) | _ellipse(
        X, Y, g.cx + 0.2 * g.scale, g.cy + 0.02, 0.08 * g.scale, 0.045 * g.scale
    )
    collar = _hline(X, Y, top + 0.015, g.cx - 0.2, g.cx + 0.2)
    eyes = _ellipse(X, Y, g.cx - 0.045 * g.scale, head_y - 0.01, 0.014, 0.014) | _ellipse(
        X, Y, g.cx + 0.045 * g.scale, head_y - 0.01, 0.014, 0.014
    )
    mask = head | body | arms
    return mask, (collar & mask) | eyes


SHAPE_FUNCTIONS = {
    "folding_fan": folding_fan,
    "round_fan": round_fan,
    "bookmark": bookmark,
    "earrings": earrings,
    "vase": vase,
    "tea_cup": tea_cup,
    "tote_bag": tote_bag,
    "silk_scarf": silk_scarf,
    "book_cover": book_cover,
    "hand_puppet": hand_puppet,
}
