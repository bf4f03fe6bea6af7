"""Product photos in, control images out.

``load_product_image`` accepts what a shop may upload (path, bytes, file
object, PIL image or array) and returns RGB float32 (size, size, 3) in [0, 1]:
grayscale, palette, CMYK, 16-bit and alpha images are converted (alpha is
composited onto the studio background), non-square photos are padded with their
border colour. Non-images, truncated files, tiny or huge images raise
ValueError naming the problem.

``control_image`` derives the two-channel control image of seed 000 §4.3 from a
photo: a soft silhouette (distance from the border colour) and Sobel edges.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy.ndimage import sobel

MIN_SIDE = 16
MAX_SIDE = 4096
MAX_PIXELS = 4096 * 4096
STUDIO_BACKGROUND = (240, 237, 230)
CONTROL_CHANNELS = 2


def _open(source) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise ValueError("product image upload is empty")
        source = io.BytesIO(bytes(source))
    elif isinstance(source, str | os.PathLike):
        if not Path(source).is_file():
            raise ValueError(f"product image file not found: {source}")
    elif not hasattr(source, "read"):
        raise ValueError(f"product image must be a path, bytes, file object, PIL image or array, got {type(source).__name__}")
    try:
        image = Image.open(source)
        image.load()
    except UnidentifiedImageError:
        raise ValueError("product image upload is not an image (unrecognised format)") from None
    except (OSError, SyntaxError) as error:
        raise ValueError(f"product image is truncated or corrupt: {error}") from None
    except Image.DecompressionBombError as error:
        raise ValueError(f"product image is too large: {error}") from None
    return image


def _from_array(array: np.ndarray) -> Image.Image:
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"product image array must be (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("product image array has NaN or infinite values")
    if array.dtype != np.uint8:
        scale = 255.0 if array.max(initial=0) <= 1.0 else 1.0
        array = np.clip(array.astype(np.float64) * scale, 0, 255).round().astype(np.uint8)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return Image.fromarray(array)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, STUDIO_BACKGROUND + (255,))
        return Image.alpha_composite(backdrop, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        array = array / max(array.max(), 1.0) * 255.0
        return Image.fromarray(array.round().astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def _pad_to_square(rgb: np.ndarray) -> np.ndarray:
    height, width, _ = rgb.shape
    if height == width:
        return rgb
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    fill = np.median(border, axis=0)
    side = max(height, width)
    square = np.empty((side, side, 3), dtype=rgb.dtype)
    square[:] = fill
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = rgb
    return square


def load_product_image(source, size: int = 64) -> np.ndarray:
    """Any product photo -> RGB float32 (size, size, 3) in [0, 1], or ValueError."""
    image = _open(source)
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise ValueError(f"product image is too small: {width}x{height}, need at least {MIN_SIDE}x{MIN_SIDE}")
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise ValueError(f"product image is too large: {width}x{height}, at most {MAX_SIDE}x{MAX_SIDE}")
    rgb = np.asarray(_to_rgb(image), dtype=np.uint8)
    square = _pad_to_square(rgb)
    if square.shape[0] != size:
        square = np.asarray(Image.fromarray(square).resize((size, size), Image.Resampling.LANCZOS))
    return square.astype(np.float32) / 255.0


def control_image(rgb: np.ndarray) -> np.ndarray:
    """RGB float (H, W, 3) in [0, 1] -> control float32 (2, H, W) in [0, 1]: silhouette, edges."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    background = np.median(border, axis=0)
    distance = np.linalg.norm(rgb - background, axis=-1)
    silhouette = np.clip((distance - 0.08) / 0.12, 0.0, 1.0)
    luminance = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    edges = np.clip(np.hypot(sobel(luminance, axis=0), sobel(luminance, axis=1)) / 2.0, 0.0, 1.0)
    return np.stack([silhouette, edges]).astype(np.float32)


def control_from_matte(matte: np.ndarray) -> np.ndarray:
    """A placed product matte (H, W) in [0, 1] -> the staging model's control float32 (2, H, W): matte, edges.

    The edges are the matte's Sobel gradient magnitude, 1 at a hard edge, so the model sees where the
    outline runs even where the matte is soft."""
    matte = np.asarray(matte, dtype=np.float32)
    if matte.ndim != 2:
        raise ValueError(f"matte must be a 2-D (H, W) array, got shape {matte.shape}")
    if not np.all(np.isfinite(matte)):
        raise ValueError("matte has NaN or infinite values")
    matte = np.clip(matte, 0.0, 1.0)
    edges = np.clip(np.hypot(sobel(matte, axis=0), sobel(matte, axis=1)) / 4.0, 0.0, 1.0)
    return np.stack([matte, edges]).astype(np.float32)
