"""An owner's uploaded photo as an 8-bit RGB or RGBA image, or a refusal that says what to do.

The photo's pixels are what the listing will show, so nothing here changes them beyond what the file
itself asks for (EXIF orientation) and what 8-bit RGB needs (CMYK, 16-bit, palette converted).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MIN_LONG_SIDE = 256
MAX_PIXELS = 40_000_000
OPAQUE = 255


class PhotoRejected(ValueError):
    """The upload cannot be used as a product photo; the message says what to do instead."""


def load_photo(data: bytes) -> Image.Image:
    """The photo as "RGB", or "RGBA" when it has a real alpha channel; EXIF-transposed and 8-bit."""
    image = _open(data)
    _check_size(image)
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # an animated GIF/WebP/APNG: its first frame is the product photo
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt pixel data
        raise PhotoRejected(f"The photo's file is damaged ({error}); export it again as JPEG or PNG and re-upload it.") from error
    return _to_8bit(image)


def check_photo_header(data: bytes) -> None:
    """`load_photo`'s refusals that the file's header decides (not an image, too small, too large),
    without decoding its pixels: for a request that must answer at once."""
    _check_size(_open(data))


def _open(data: bytes) -> Image.Image:
    if not data:
        raise PhotoRejected("The photo is empty; upload a JPEG, PNG or WebP file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_large() from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise PhotoRejected("The upload is not an image we can read; upload a JPEG, PNG or WebP photo.") from error


def _too_large(size: tuple[int, int] | None = None) -> PhotoRejected:
    shown = f" ({size[0]}×{size[1]} px)" if size else ""
    return PhotoRejected(f"The photo is too large{shown}: at most {MAX_PIXELS // 1_000_000} megapixels; "
                         "resize it to at most 4096 px on its long side and upload it again.")


def _check_size(image: Image.Image) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _too_large(image.size)
    if max(width, height) < MIN_LONG_SIDE:
        raise PhotoRejected(f"The photo is {width}×{height} px; its long side must be at least {MIN_LONG_SIDE} px. "
                            "Upload a larger photo of the product.")


def _to_8bit(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        image = _scale_to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        if np.asarray(rgba.getchannel("A")).min() < OPAQUE:
            return rgba
        return rgba.convert("RGB")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, L, 1, P: PIL's conversions


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit or 32-bit greyscale to 8-bit by its nominal range (PIL's own convert would clip, not scale)."""
    values = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
    if image.mode == "F" and values.max() <= 1.0:
        top = 1.0
    return Image.fromarray(np.clip(np.round(values / top * 255), 0, 255).astype(np.uint8))
