import io

import numpy as np
import pytest
from PIL import Image

from generation.model.control import control_image, load_product_image
from generation.rendering import render_original


def _png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def photo():
    return render_original("round_fan", seed=2)


def test_rgb_photo_passes_through_unchanged(photo):
    array = load_product_image(_png_bytes(photo))
    assert array.shape == (64, 64, 3) and array.dtype == np.float32
    assert np.array_equal(np.round(array * 255).astype(np.uint8), np.asarray(photo))


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P", "LA", "I;16"])
def test_other_modes_are_converted_to_rgb(photo, mode):
    converted = photo.convert("L").convert("I;16") if mode == "I;16" else photo.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    array = load_product_image(_png_bytes(converted, fmt) if mode != "LA" else converted)
    assert array.shape == (64, 64, 3)
    assert 0.0 <= array.min() and array.max() <= 1.0


def test_transparent_pixels_become_studio_background():
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 0))
    array = load_product_image(rgba, size=32)
    assert np.allclose(array[0, 0] * 255, (240, 237, 230), atol=1)


def test_large_non_square_photo_is_padded_and_resized():
    wide = Image.new("RGB", (400, 200), (200, 200, 200))
    wide.paste((20, 40, 60), (150, 50, 250, 150))
    array = load_product_image(wide)
    assert array.shape == (64, 64, 3)
    assert np.allclose(array[2, 32] * 255, 200, atol=2)  # padding takes the border colour


@pytest.mark.parametrize("upload, message", [
    (b"this is not an image", "not an image"),
    (b"", "empty"),
    (12345, "must be a path"),
    ("/nonexistent/photo.png", "not found"),
])
def test_non_images_raise(upload, message):
    with pytest.raises(ValueError, match=message):
        load_product_image(upload)


def test_truncated_upload_raises(photo):
    data = _png_bytes(photo)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_product_image(data[: len(data) // 2])


def test_tiny_and_huge_images_raise():
    with pytest.raises(ValueError, match="too small"):
        load_product_image(Image.new("RGB", (8, 40)))
    with pytest.raises(ValueError, match="too large"):
        load_product_image(Image.new("L", (5000, 20)))


def test_nan_array_raises():
    with pytest.raises(ValueError, match="NaN"):
        load_product_image(np.full((32, 32, 3), np.nan))


def test_control_image_marks_the_product(photo):
    control = control_image(load_product_image(photo))
    assert control.shape == (2, 64, 64) and control.dtype == np.float32
    silhouette, edges = control
    assert silhouette[32, 28] > 0.9 and silhouette[1, 1] == 0.0
    assert edges.max() > 0.3 and edges[1, 1] < 0.05
