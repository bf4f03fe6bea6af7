"""Traditional motifs as coverage fields in [0, 1] over unit coordinates.

Every motif tiles the image with a period of 1/2, 1/4 or 1/8 of its width
(its density), anchored to the image rather than to random offsets, so the
pattern is a fixed function of position, motif and density: a model that
knows where it is in the image can redraw it exactly.
"""

from __future__ import annotations

import numpy as np

DENSITY_PERIODS = {"sparse": 1 / 2, "medium": 1 / 4, "dense": 1 / 8}


def _cell(X, Y, period):
    """Coordinates inside the motif cell, centred: each in [-0.5, 0.5)."""
    return (X / period) % 1.0 - 0.5, (Y / period) % 1.0 - 0.5


def plain_geometric(X, Y, period):
    a, b = _cell(X, Y, period)
    return (np.abs(a) + np.abs(b) < 0.27).astype(np.float32)


def cloud_scroll(X, Y, period):
    a, b = _cell(X, Y, period)
    r = np.hypot(a, b)
    return ((np.abs(r - 0.27) < 0.075) | (r < 0.09)).astype(np.float32)


def sea_waves(X, Y, period):
    crest = (Y / period + 0.2 * np.sin(2 * np.pi * X / period)) % 1.0
    return (crest < 0.38).astype(np.float32)


def lotus(X, Y, period):
    a, b = _cell(X, Y, period)
    r, theta = np.hypot(a, b), np.arctan2(b, a)
    return (r < 0.4 * (0.35 + 0.65 * np.abs(np.cos(3 * theta)))).astype(np.float32)


def plum_blossom(X, Y, period):
    a, b = _cell(X, Y, period)
    r, theta = np.hypot(a, b), np.arctan2(b, a)
    petals = r < 0.32 * (0.72 + 0.28 * np.cos(5 * theta))
    return (petals & (r > 0.07)).astype(np.float32)


def paper_cut_lattice(X, Y, period):
    a, b = _cell(X, Y, period)
    cross = np.minimum(np.abs(a), np.abs(b)) < 0.07
    diamond = np.abs(np.abs(a) + np.abs(b) - 0.3) < 0.06
    return (cross | diamond).astype(np.float32)


def ink_mountains(X, Y, period):
    """Three ridge layers, darker towards the front; ridges repeat every 2 or 4 periods."""
    cycles = max(1.0, 0.25 / period)
    coverage = np.zeros_like(X, dtype=np.float32)
    for base, phase, ink in ((0.42, 0.3, 0.4), (0.58, 1.9, 0.7), (0.74, 4.1, 1.0)):
        ridge = base - 0.07 * np.sin(2 * np.pi * cycles * X + phase) - 0.035 * np.sin(4 * np.pi * cycles * X + 2 * phase)
        coverage = np.where(Y > ridge, ink, coverage)
    return coverage


MOTIF_FUNCTIONS = {
    "cloud_scroll": cloud_scroll,
    "sea_waves": sea_waves,
    "lotus": lotus,
    "plum_blossom": plum_blossom,
    "paper_cut_lattice": paper_cut_lattice,
    "ink_mountains": ink_mountains,
    "plain_geometric": plain_geometric,
}
