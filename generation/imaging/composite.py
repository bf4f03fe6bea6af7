"""The listing image: the product's own pixels at full resolution over the persona's scene.

The scene (64 px from the model, 256 px after the ×4 upscaler) is resized to the canvas and blurred
like an out-of-focus backdrop, sharper near the surface the product rests on. The product is cropped
from the photo and scaled to its box (enlarged only when the photo is smaller than the box); its
edge colours are solved free of the photo's old background, so no halo. A contact shadow comes from
the matte. The light match is a small white-balance shift toward the scene's light that keeps each
pixel's luminance.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from generation.imaging.cutout import Cutout
from generation.imaging.layout import MAX_LONG_SIDE, MIN_LONG_SIDE, Placement, crop_to_box

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
MAX_WHITE_BALANCE_SHIFT = 0.06  # per channel gain, at most ±6 %
WHITE_BALANCE_STRENGTH = 0.3
BACKDROP_BLUR = 0.006  # sigma as a share of the canvas side, far from the surface line
SHADOW_OPACITY = 0.5
LISTING_MAX_BYTES = 600 * 1024
WEBP_QUALITIES = (88, 80, 70)
JPEG_QUALITIES = (80, 60, 40)


@dataclass
class Composite:
    image: Image.Image  # RGB, the canvas size
    alpha: np.ndarray  # (H, W) float32: the product's matte on the canvas


def composite(photo: Image.Image, cutout: Cutout, placement: Placement, scene: Image.Image, *,
              harmonise: bool = True) -> Composite:
    """The product's own pixels over the scene; `harmonise=False` skips only the light match."""
    product, alpha = placed_product(photo, cutout, placement)
    backdrop = scene_backdrop(scene, placement)
    if harmonise:
        product = match_light(product, alpha, backdrop)
    return _over(product, alpha, backdrop, placement)


def composite_print(photo: Image.Image, cutout: Cutout, placement: Placement, scene: Image.Image,
                    motif: Image.Image) -> Composite:
    """A customisable product: the motif printed on its surface inside the matte, under the photo's shading."""
    product, alpha = placed_product(photo, cutout, placement)
    backdrop = scene_backdrop(scene, placement)
    return _over(print_motif(product, motif), alpha, backdrop, placement)


def _over(product: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray, placement: Placement) -> Composite:
    width, height = placement.canvas
    canvas_alpha = np.zeros((height, width), np.float32)
    bx0, by0, bx1, by1 = placement.box
    canvas_alpha[by0:by1, bx0:bx1] = alpha
    shaded = backdrop * (1 - SHADOW_OPACITY * contact_shadow(canvas_alpha, placement))[..., None]
    region = shaded[by0:by1, bx0:bx1]
    shaded[by0:by1, bx0:bx1] = alpha[..., None] * product + (1 - alpha[..., None]) * region
    image = Image.fromarray(np.clip(np.round(shaded * 255), 0, 255).astype(np.uint8))
    return Composite(image=image, alpha=canvas_alpha)


def placed_product(photo: Image.Image, cutout: Cutout, placement: Placement) -> tuple[np.ndarray, np.ndarray]:
    """The product's edge-decontaminated colours (float RGB in [0, 1]) and matte, at its box's size."""
    if cutout.alpha.shape != (photo.height, photo.width):
        raise ValueError(f"The cut-out is {cutout.alpha.shape[1]}×{cutout.alpha.shape[0]} px but the photo is "
                         f"{photo.width}×{photo.height} px; cut the product out of this photo again.")
    product = np.clip(crop_to_box(product_colours(photo, cutout), cutout.alpha, placement), 0, 1)
    alpha = np.clip(crop_to_box(cutout.alpha.astype(np.float32), cutout.alpha, placement), 0, 1)
    return product, alpha


_recent_colours: list[tuple[Image.Image, Cutout, np.ndarray]] = []
RECENT_COLOURS = 2


def product_colours(photo: Image.Image, cutout: Cutout) -> np.ndarray:
    """The photo's colours (float RGB) with the product's edge decontaminated. One product is staged for
    several personas and checked after each, so the last few results are kept (by object identity)."""
    for seen_photo, seen_cutout, colours in _recent_colours:
        if seen_photo is photo and seen_cutout is cutout:
            return colours
    rgb = np.asarray(photo.convert("RGB"), dtype=np.float32) / 255
    # A cut-out PNG's edge colours are already the product's own (straight alpha); only what lies
    # under its transparent pixels, often black, must not bleed in when the product is resized.
    colours = decontaminate(rgb, cutout.alpha, solve_edge=cutout.source != "alpha-channel")
    colours.setflags(write=False)
    _recent_colours.insert(0, (photo, cutout, colours))
    del _recent_colours[RECENT_COLOURS:]
    return colours


def decontaminate(rgb: np.ndarray, alpha: np.ndarray, *, solve_edge: bool = True) -> np.ndarray:
    """Edge colours with the old background taken out: I = αF + (1 − α)B solved for F, with B spread in
    from the nearby background; where α is too small to solve, and outside the product, F is spread in
    from the product. `solve_edge=False` only fills the outside (the edge colours are already F)."""
    edge = cv2.dilate((alpha > 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (alpha < 1)
    if not edge.any():  # the product fills the photo
        return rgb
    ys, xs = np.nonzero(edge)
    pad = max(8, round(max(rgb.shape[:2]) / 64))
    y0, y1 = max(0, ys.min() - pad), min(rgb.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(rgb.shape[1], xs.max() + pad + 1)
    window, matte = rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
    sigma = pad / 2
    background = _spread(window, (matte < 0.05).astype(np.float32), sigma)
    foreground_spread = _spread(window, (matte > 0.95).astype(np.float32), sigma)
    # Outside the product too, so that resampling at the edge mixes only the product's colours.
    result = rgb.copy()
    outside = matte == 0
    result[y0:y1, x0:x1][outside] = foreground_spread[outside]
    inside = (matte > 0) & (matte < 1)
    if not solve_edge:
        return result
    pixels, weights = window[inside], matte[inside][:, None]
    solved = np.clip((pixels - (1 - weights) * background[inside]) / np.maximum(weights, 1e-3), 0, 1)
    trust = np.clip((weights - 0.1) / 0.4, 0, 1)
    result[y0:y1, x0:x1][inside] = trust * solved + (1 - trust) * foreground_spread[inside]
    return result


def _spread(image: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: the weighted pixels' colours spread into their neighbourhood (a smooth
    field, so it is computed at a quarter of the size when sigma is large enough)."""
    height, width = weight.shape
    factor = 4 if sigma >= 8 and min(height, width) >= 32 else 1
    small_size = (max(1, width // factor), max(1, height // factor))
    if factor > 1:
        image_small = cv2.resize(image * weight[..., None], small_size, interpolation=cv2.INTER_AREA)
        weight_small = cv2.resize(weight, small_size, interpolation=cv2.INTER_AREA)
    else:
        image_small, weight_small = image * weight[..., None], weight
    total = cv2.GaussianBlur(weight_small, (0, 0), sigma / factor)[..., None]
    spread = cv2.GaussianBlur(image_small, (0, 0), sigma / factor) / np.maximum(total, 1e-4)
    if factor > 1:
        spread = cv2.resize(spread, (width, height), interpolation=cv2.INTER_LINEAR)
    return spread


def scene_backdrop(scene: Image.Image, placement: Placement) -> np.ndarray:
    """The scene at the canvas size, blurred like a backdrop out of focus: least near the surface line.
    The blur is done at a quarter of the canvas (a 64-256 px scene holds no finer detail) and enlarged."""
    width, height = placement.canvas
    rgb = scene.convert("RGB")
    work = (max(1, width // 4), max(1, height // 4))
    small = np.asarray(rgb.resize(work, Image.Resampling.BICUBIC), dtype=np.float32) / 255
    far = cv2.resize(cv2.GaussianBlur(small, (0, 0), BACKDROP_BLUR * work[0]), (width, height), interpolation=cv2.INTER_CUBIC)
    near = np.asarray(rgb.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    surface_line = placement.box[3]
    rows = np.abs(np.arange(height, dtype=np.float32) - surface_line) / (0.35 * height)
    focus = np.clip(1 - rows, 0, 1)[:, None, None]
    return np.clip(focus * near + (1 - focus) * far, 0, 1)


def scene_light(backdrop: np.ndarray) -> np.ndarray:
    """The scene's light colour: the mean colour of its brighter half, normalised to unit luminance."""
    luminance = backdrop @ LUMA
    bright = backdrop[luminance >= np.median(luminance)]
    colour = bright.mean(0)
    return colour / max(float(colour @ LUMA), 1e-4)


def match_light(product: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """A small white-balance shift toward the scene's light; each pixel's luminance stays the same."""
    light = scene_light(backdrop)
    gains = np.clip(1 + WHITE_BALANCE_STRENGTH * (light - 1), 1 - MAX_WHITE_BALANCE_SHIFT, 1 + MAX_WHITE_BALANCE_SHIFT)
    shifted = np.clip(product * gains, 0, 1)
    before, after = product @ LUMA, shifted @ LUMA
    restored = shifted * (before / np.maximum(after, 1e-4))[..., None]
    return np.clip(restored, 0, 1).astype(np.float32)


def contact_shadow(canvas_alpha: np.ndarray, placement: Placement) -> np.ndarray:
    """A soft shadow under the product: its matte's footprint squashed onto the surface, plus a tight
    occlusion line where it touches, each blurred; in [0, 1]."""
    height, width = canvas_alpha.shape
    bx0, by0, bx1, by1 = placement.box
    box_height = by1 - by0
    footprint = cv2.resize(canvas_alpha[by0:by1, bx0:bx1], (bx1 - bx0, max(1, box_height // 8)), interpolation=cv2.INTER_AREA)
    soft_sigma, tight_sigma = max(2.0, 0.02 * box_height), max(1.0, 0.004 * box_height)
    pad = int(3 * soft_sigma) + 1
    top = min(height - footprint.shape[0], by1 - footprint.shape[0] // 2)
    y0, y1 = max(0, top - pad), min(height, top + footprint.shape[0] + pad)
    x0, x1 = max(0, bx0 - pad), min(width, bx1 + pad)
    window = np.zeros((y1 - y0, x1 - x0), np.float32)  # blurred only where the shadow can reach
    window[top - y0 : top - y0 + footprint.shape[0], bx0 - x0 : bx1 - x0] = footprint
    soft = cv2.GaussianBlur(window, (0, 0), soft_sigma)
    tight = cv2.GaussianBlur(window, (0, 0), tight_sigma)
    shadow = np.zeros_like(canvas_alpha)
    shadow[y0:y1, x0:x1] = 0.6 * soft / max(float(soft.max()), 1e-4) + 0.4 * tight / max(float(tight.max()), 1e-4)
    return np.clip(shadow, 0, 1) * (1 - canvas_alpha)


def print_motif(product: np.ndarray, motif: Image.Image) -> np.ndarray:
    """The motif over the product's box, multiplied by the photo's shading (its luminance relative to a
    bright reference), so folds, ribs and highlights of the surface stay."""
    height, width = product.shape[:2]
    cover = _cover(motif.convert("RGB"), width, height)
    luminance = product @ LUMA
    reference = max(float(np.percentile(luminance, 95)), 1e-3)
    shading = np.clip(luminance / reference, 0, 1.2)[..., None]
    return np.clip(cover * shading, 0, 1).astype(np.float32)


def _cover(image: Image.Image, width: int, height: int) -> np.ndarray:
    scale = max(width / image.width, height / image.height)
    resized = image.resize((max(width, round(image.width * scale)), max(height, round(image.height * scale))), Image.Resampling.LANCZOS)
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    return np.asarray(resized.crop((left, top, left + width, top + height)), dtype=np.float32) / 255


def encode_listing(image: Image.Image) -> tuple[bytes, str]:
    """The listing image as WebP under 600 KB, at most 2048 px; a picture too detailed for that at
    its size is made smaller (never under 1024 px), and JPEG is the last resort."""
    long_side = max(image.size)
    if long_side < MIN_LONG_SIDE:
        raise ValueError(f"A listing image must be at least {MIN_LONG_SIDE} px on its long side, got {image.size}")
    rgb = preview(image, min(long_side, MAX_LONG_SIDE))
    while True:
        for quality in WEBP_QUALITIES:
            data = _encode(rgb, "WEBP", quality=quality, method=4)
            if len(data) < LISTING_MAX_BYTES:
                return data, "webp"
        if max(rgb.size) <= MIN_LONG_SIDE:
            break
        rgb = preview(rgb, max(MIN_LONG_SIDE, round(max(rgb.size) * 0.75)))
    for quality in JPEG_QUALITIES:
        data = _encode(rgb, "JPEG", quality=quality, optimize=True, progressive=True)
        if len(data) < LISTING_MAX_BYTES:
            return data, "jpeg"
    raise ValueError(f"The listing image could not be encoded under {LISTING_MAX_BYTES // 1024} KB")


def _encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def preview(image: Image.Image, long_side: int = 256) -> Image.Image:
    """A smaller copy for the dashboard (never larger than the image)."""
    scale = min(1.0, long_side / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS) if scale < 1 else image.convert("RGB").copy()
