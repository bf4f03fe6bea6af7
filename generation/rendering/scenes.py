"""The persona's scene around a placed product: what the staging model learns to draw.

A listing photo keeps the product's own pixels; the persona changes what is around it.
``render_scene(matte, persona_vector, seed, size)`` draws that surround with known truth:

- a backdrop in the persona's palette (vertical gradient, light colour at the top), carrying the
  persona's motif at its density, soft as a backdrop behind a product is out of focus;
- a set that composes around the product's matte: a ``plinth`` as wide as the product with its
  top at the product's base, a ``table`` whose edge runs at the product's base, or an ``arch``
  niche sized to the product's width and height (plain, without motif) over a table;
- a light of the persona's colour centred on the product, with a halo that follows its shape.

The truth behind the product is the scene as it would be with the product lifted out: backdrop,
plinth top, niche and halo continue under the matte (the compositor pastes the product over them).
What depends on the product is its bounding box (base line, width, centre) and its shape (halo);
``seed`` only moves the light by a few hundredths of the frame, a variation the model cannot know
and which costs well under a dB.

``scene_style_for(vector)`` is what a scene-style classifier has to recover: palette, motif and
density (the product style's, ``style.style_for``), the set and the light. ``random_placed_matte``
draws the training mattes: renderer product shapes and blob-like shapes, placed as
``generation.imaging.layout`` places products (centred, standing on a base line or centred
vertically, long side 45-80 % of the frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, zoom

from generation.model.condition import CONDITION_FIELDS, validate_persona_vector
from generation.rendering.motifs import DENSITY_PERIODS, MOTIF_FUNCTIONS
from generation.rendering.shapes import SHAPE_FUNCTIONS, Geometry
from generation.rendering.style import MOTIF_SCORES, PALETTES, _argmax_name, _weights, style_for

SUPERSAMPLE = 2
MIN_SIZE, MAX_SIZE = 16, 1024
PRESENT = 0.5  # matte value above which a pixel belongs to the product
FOCUS_BLUR = 0.012  # the whole scene's blur, as a share of the frame: out of focus behind the product
MOTIF_BLUR = 0.008  # the motif's extra blur
LIGHT_JITTER = 0.03  # how far the seed moves the light, as a share of the frame

LIGHTS = {
    "warm": (1.0, 0.86, 0.68),
    "neutral": (1.0, 1.0, 1.0),
    "cool": (0.80, 0.90, 1.0),
}
SET_SCORES = {
    "plinth": _weights(demand_investment=1.1, demand_social=0.7, kansei_fashionable=0.5),
    "table": _weights(demand_functional=1.1, demand_environmental=0.9, kansei_effortless=0.5),
    "arch": _weights(demand_cultural=1.1, demand_emotional=0.8, kansei_simple=0.3, kansei_emotional=0.3),
}
MATTE_KINDS = (*SHAPE_FUNCTIONS, "blob")
_F = {name: i for i, name in enumerate(CONDITION_FIELDS)}


@dataclass(frozen=True)
class SceneStyle:
    palette: str
    motif: str
    density: str  # "sparse" | "medium" | "dense"
    set: str  # "plinth" | "table" | "arch"
    light: str  # "warm" | "neutral" | "cool"
    lightness: float  # added to the backdrop colour, [-0.06, 0.06]
    contrast: float  # the motif's strength on the backdrop, [0.6, 0.9]

    def label(self) -> str:
        return f"{self.palette}/{self.motif}/{self.density}/{self.set}/{self.light}"


def scene_style_for(persona_vector) -> SceneStyle:
    """The scene style of a persona: the product style's palette, motif and density, plus set and light."""
    vector = validate_persona_vector(persona_vector)
    product = style_for(vector)
    warmth = vector[_F["kansei_warm"]] - 0.5 + 0.3 * vector[_F["sentiment"]] - 0.1
    light = "warm" if warmth > 0.12 else "cool" if warmth < -0.12 else "neutral"
    return SceneStyle(
        palette=product.palette,
        motif=product.motif,
        density=product.density,
        set=_argmax_name(SET_SCORES, vector),
        light=light,
        lightness=product.lightness,
        contrast=product.contrast,
    )


SCENE_STYLE_CHOICES = {
    "palette": tuple(PALETTES),
    "motif": tuple(MOTIF_SCORES),
    "density": ("sparse", "medium", "dense"),
    "set": tuple(SET_SCORES),
    "light": tuple(LIGHTS),
}


def scene_style_indices(persona_vector) -> tuple[int, ...]:
    """The persona's scene style as one index per ``SCENE_STYLE_CHOICES`` entry: a style head's labels."""
    style = scene_style_for(persona_vector)
    return tuple(choices.index(getattr(style, name)) for name, choices in SCENE_STYLE_CHOICES.items())


@dataclass(frozen=True)
class MatteFrame:
    """Where the product stands, in unit coordinates of the frame."""

    left: float
    right: float
    top: float
    base: float
    centre_x: float
    centre_y: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.base - self.top


def matte_frame(matte: np.ndarray) -> MatteFrame:
    size = matte.shape[0]
    ys, xs = np.nonzero(matte > PRESENT)
    if not len(xs):
        raise ValueError("the matte is empty (no value above 0.5): place a product before staging its scene")
    weights = matte[ys, xs]
    return MatteFrame(
        left=xs.min() / size, right=(xs.max() + 1) / size, top=ys.min() / size, base=(ys.max() + 1) / size,
        centre_x=float((xs + 0.5) @ weights / weights.sum() / size),
        centre_y=float((ys + 0.5) @ weights / weights.sum() / size),
    )


def validate_matte(matte, size: int | None = None) -> np.ndarray:
    array = np.asarray(matte, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"matte must be a square (H, W) array, got shape {array.shape}")
    if size is not None and array.shape[0] != size:
        raise ValueError(f"matte is {array.shape[0]} px but the scene is {size} px: resize the matte first")
    if not np.all(np.isfinite(array)) or array.min() < -1e-6 or array.max() > 1 + 1e-6:
        raise ValueError("matte values must be finite and in [0, 1]")
    return np.clip(array, 0, 1)


def _grid(n: int):
    axis = (np.arange(n, dtype=np.float32) + 0.5) / n
    return np.meshgrid(axis, axis, indexing="xy")


def _mix(a, b, t):
    return np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t


def _smoothstep(edge, x, width):
    return np.clip((x - edge) / width + 0.5, 0.0, 1.0)


def _backdrop(X, Y, style: SceneStyle, frame: MatteFrame, n: int) -> np.ndarray:
    base, accent = (np.array(c, np.float32) for c in PALETTES[style.palette])
    wall = np.clip(_mix(base, (1, 1, 1), 0.35) + style.lightness, 0, 1)
    gradient = 1.06 - 0.16 * np.clip(Y / max(frame.base, 0.3), 0, 1)
    backdrop = wall * gradient[..., None]
    motif = MOTIF_FUNCTIONS[style.motif](X, Y, DENSITY_PERIODS[style.density])
    motif = gaussian_filter(motif, MOTIF_BLUR * n, mode="wrap")
    weight = (0.55 * style.contrast * motif)[..., None]
    return backdrop * (1 - weight) + _mix(accent, wall, 0.25) * weight


def _arch(X, Y, frame: MatteFrame) -> np.ndarray:
    """A round-topped niche around the product, a little wider and taller than it."""
    half = min(0.46, 0.75 * frame.width + 0.06)
    top = max(0.04, frame.top - 0.1)
    spring = top + half  # where the round top meets the straight sides
    inside_sides = (np.abs(X - frame.centre_x) < half) & (Y >= spring)
    inside_top = np.hypot(X - frame.centre_x, Y - spring) < half
    return ((inside_sides | inside_top) & (Y < frame.base + 0.02)).astype(np.float32)


def _set(image, X, Y, style: SceneStyle, frame: MatteFrame) -> np.ndarray:
    base, accent = (np.array(c, np.float32) for c in PALETTES[style.palette])
    if style.set == "arch":
        niche = _arch(X, Y, frame)[..., None]
        image = image * (1 - niche) + np.clip(_mix(base, (1, 1, 1), 0.6), 0, 1) * 0.97 * niche
    if style.set == "plinth":
        half = min(0.47, 0.62 * frame.width + 0.03)
        depth = 0.06
        floor = min(0.97, frame.base + 0.2)
        top_face = (np.abs(X - frame.centre_x) < half) & (Y >= frame.base - depth) & (Y < frame.base)
        front = (np.abs(X - frame.centre_x) < half) & (Y >= frame.base) & (Y < floor)
        image = np.where((Y >= floor)[..., None], _mix(accent, (0, 0, 0), 0.35), image)
        image = np.where(front[..., None], _mix(base, (1, 1, 1), 0.15) * 0.82, image)
        image = np.where(top_face[..., None], np.clip(_mix(base, (1, 1, 1), 0.5), 0, 1), image)
        return image
    table = _mix(_mix(base, accent, 0.5), (0, 0, 0), 0.25)
    shade = (1.0 - 0.3 * np.clip((Y - frame.base) / 0.3, 0, 1))[..., None]
    on_table = (Y >= frame.base - 0.02)[..., None]
    return np.where(on_table, table * shade, image)


def _light(image, X, Y, style: SceneStyle, frame: MatteFrame, matte_n: np.ndarray, seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 4241])
    jx, jy = rng.uniform(-LIGHT_JITTER, LIGHT_JITTER, size=2)
    colour = np.array(LIGHTS[style.light], np.float32)
    spot = np.exp(-((X - frame.centre_x - jx) ** 2 + (Y - frame.centre_y - jy) ** 2) / (2 * 0.3**2))
    tint = _mix(np.ones(3, np.float32), colour, 0.55)
    halo = gaussian_filter(matte_n, 0.05 * n)
    halo = np.clip(halo / max(halo.max(), 1e-6), 0, 1)
    lit = image * tint * (0.78 + 0.3 * spot)[..., None]
    return lit + 0.22 * halo[..., None] * colour


def render_scene(matte: np.ndarray, persona_vector, seed: int, size: int = 64) -> np.ndarray:
    """The persona's scene around a placed matte: float32 (size, size, 3) in [0, 1]; same inputs, same pixels."""
    if not isinstance(size, int | np.integer) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer in [{MIN_SIZE}, {MAX_SIZE}], got {size!r}")
    matte = validate_matte(matte, int(size))
    style = scene_style_for(persona_vector)
    frame = matte_frame(matte)
    n = int(size) * SUPERSAMPLE
    X, Y = _grid(n)
    matte_n = zoom(matte, SUPERSAMPLE, order=1)
    image = _backdrop(X, Y, style, frame, n)
    image = _set(image, X, Y, style, frame)
    image = _light(image, X, Y, style, frame, matte_n, seed, n)
    image = gaussian_filter(image, (FOCUS_BLUR * n, FOCUS_BLUR * n, 0), mode="nearest")
    image = image.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return np.clip(image, 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------- training mattes


def _shape_silhouette(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    X, Y = _grid(n)
    geometry = Geometry(cx=0.5, cy=0.5, scale=0.95, variant=float(rng.uniform()), count=int(rng.integers(7, 13)))
    mask, _ = SHAPE_FUNCTIONS[kind](X, Y, geometry)
    return mask.astype(np.float32)


def _blob_silhouette(rng: np.random.Generator, n: int) -> np.ndarray:
    """A smooth star-shaped outline, or a few overlapping ellipses: bowls, pots, boxes, figurines."""
    X, Y = _grid(n)
    if rng.uniform() < 0.5:
        theta = np.arctan2(Y - 0.5, X - 0.5)
        radius = np.full_like(X, 0.3)
        for harmonic in range(1, 5):
            radius += rng.normal(0, 0.05 / harmonic) * np.cos(harmonic * theta + rng.uniform(0, 2 * np.pi))
        aspect = rng.uniform(0.55, 1.6)
        r = np.hypot((X - 0.5) * aspect ** 0.5, (Y - 0.5) / aspect ** 0.5)
        mask = r < radius
        if rng.uniform() < 0.5:  # a flat foot: cut the bottom
            mask &= Y < 0.5 + 0.8 * rng.uniform(0.15, 0.3)
        return mask.astype(np.float32)
    mask = np.zeros_like(X, dtype=bool)
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
        rx, ry = rng.uniform(0.08, 0.25), rng.uniform(0.08, 0.25)
        if rng.uniform() < 0.4:
            mask |= (np.abs(X - cx) < rx) & (np.abs(Y - cy) < ry)
        else:
            mask |= ((X - cx) / rx) ** 2 + ((Y - cy) / ry) ** 2 <= 1
    return mask.astype(np.float32)


def _place(silhouette: np.ndarray, rng: np.random.Generator, size: int, supersample: int = 4) -> np.ndarray:
    """Scale the silhouette's bounding box as a layout would, place it, and area-average to size x size."""
    ys, xs = np.nonzero(silhouette > PRESENT)
    crop = silhouette[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    height, width = crop.shape
    n = size * supersample
    margin = rng.uniform(0.07, 0.12)
    long_side = rng.uniform(0.45, 0.8) * n
    scale = min(long_side / max(height, width), (1 - 2 * margin) * n / width, (1 - 2 * margin) * n / height)
    box_h, box_w = max(4, round(height * scale)), max(4, round(width * scale))
    resized = np.clip(zoom(crop, (box_h / height, box_w / width), order=1), 0, 1)
    box_h, box_w = resized.shape
    left = round((n - box_w) / 2 + rng.uniform(-0.03, 0.03) * n)
    if rng.uniform() < 0.65:  # stands on a base line, like ceramics and tea ware
        bottom = round(min(rng.uniform(0.8, 0.9), 1 - margin) * n)
        top = max(round(margin * n), bottom - box_h)
    else:  # centred, like fans, scarves and jewellery
        top = (n - box_h) // 2
    left, top = int(np.clip(left, 0, n - box_w)), int(np.clip(top, 0, n - box_h))
    canvas = np.zeros((n, n), np.float32)
    canvas[top : top + box_h, left : left + box_w] = resized
    return canvas.reshape(size, supersample, size, supersample).mean(axis=(1, 3))


def matte_kind_for(seed: int) -> str:
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 911])
    return str(rng.choice(MATTE_KINDS, p=_kind_probabilities()))


def _kind_probabilities() -> np.ndarray:
    shapes = len(SHAPE_FUNCTIONS)
    return np.array([0.6 / shapes] * shapes + [0.4])


def random_placed_matte(seed: int, size: int = 64, kind: str | None = None) -> np.ndarray:
    """A training matte (size, size) float32 in [0, 1]: a renderer shape (60 %) or a blob (40 %), laid out."""
    kind = kind or matte_kind_for(seed)
    if kind not in MATTE_KINDS:
        raise ValueError(f"unknown matte kind {kind!r}: use one of {list(MATTE_KINDS)}")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 313])
    n = 4 * size
    silhouette = _blob_silhouette(rng, n) if kind == "blob" else _shape_silhouette(kind, rng, n)
    return _place(silhouette, rng, size)
