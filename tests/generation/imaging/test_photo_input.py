"""Uploaded photos: every kind of file an owner may send is loaded as 8-bit RGB(A) or refused clearly."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from generation.imaging.photo_input import MAX_PIXELS, MIN_LONG_SIDE, PhotoRejected, load_photo


def _encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds (almost) no pixels: what a decompression bomb looks like
    to the header reader."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _half_red(width: int = 400, height: int = 300) -> Image.Image:
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 2] = (220, 30, 30)
    array[:, width // 2 :] = (30, 30, 220)
    return Image.fromarray(array)


def test_exif_orientation_is_honoured():
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90° clockwise
    photo = load_photo(_encode(_half_red(), "JPEG", quality=95, exif=exif))
    assert photo.size == (300, 400)
    array = np.asarray(photo)
    assert array[20, 150, 0] > 150 and array[20, 150, 2] < 100  # the red (left) half is now on top
    assert array[-20, 150, 2] > 150 and array[-20, 150, 0] < 100


def test_cmyk_jpeg_is_converted_to_rgb():
    photo = load_photo(_encode(_half_red().convert("CMYK"), "JPEG", quality=95))
    assert photo.mode == "RGB"
    assert np.asarray(photo)[150, 50, 0] > 150


def test_16_bit_png_is_scaled_not_clipped():
    ramp = np.tile(np.linspace(0, 65535, 300).astype(np.uint16), (260, 1))
    photo = load_photo(_encode(Image.fromarray(ramp), "PNG"))
    array = np.asarray(photo)
    assert photo.mode == "RGB"
    assert array[0, 0, 0] < 5 and array[0, 150, 0] == pytest.approx(128, abs=3) and array[0, -1, 0] > 250


def test_transparent_png_keeps_its_alpha_and_an_opaque_one_drops_it():
    rgba = Image.new("RGBA", (300, 300), (200, 100, 50, 0))
    rgba.paste((200, 100, 50, 255), (100, 100, 200, 200))
    assert load_photo(_encode(rgba, "PNG")).mode == "RGBA"
    assert np.asarray(load_photo(_encode(rgba, "PNG")).getchannel("A"))[150, 150] == 255
    assert load_photo(_encode(Image.new("RGBA", (300, 300), (1, 2, 3, 255)), "PNG")).mode == "RGB"


def test_palette_png_with_transparency_becomes_rgba():
    palette = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    palette.paste((10, 200, 10, 255), (50, 50, 250, 250))
    photo = load_photo(_encode(palette.convert("P"), "PNG", transparency=0))
    assert photo.mode in ("RGBA", "RGB")


def test_animated_image_gives_its_first_frame():
    frames = [Image.new("RGB", (300, 300), colour) for colour in ((200, 20, 20), (20, 200, 20))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    photo = load_photo(data)
    assert photo.mode == "RGB" and np.asarray(photo)[10, 10, 0] > 150


def test_small_photo_is_refused_naming_the_minimum():
    with pytest.raises(PhotoRejected, match=f"at least {MIN_LONG_SIDE} px"):
        load_photo(_encode(Image.new("RGB", (200, 150)), "PNG"))


@pytest.mark.parametrize("size", [(8000, 6000), (30000, 30000)])
def test_over_40_megapixels_and_bombs_are_refused_before_decoding(size):
    with pytest.raises(PhotoRejected, match=f"at most {MAX_PIXELS // 1_000_000} megapixels"):
        load_photo(_png_header_only(*size))


def test_non_images_and_damaged_files_are_refused_clearly():
    with pytest.raises(PhotoRejected, match="JPEG, PNG or WebP"):
        load_photo(b"<html>not a photo</html>")
    with pytest.raises(PhotoRejected, match="empty"):
        load_photo(b"")
    truncated = _encode(_half_red(), "JPEG", quality=95)[:600]
    with pytest.raises(PhotoRejected):
        load_photo(truncated)


def test_webp_photo_loads():
    photo = load_photo(_encode(_half_red(), "WEBP", quality=90))
    assert photo.mode == "RGB" and photo.size == (400, 300)
