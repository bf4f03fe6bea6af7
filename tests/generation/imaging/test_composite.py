"""The composite keeps the product's own pixels, adds only staging, and encodes a listing."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from generation.imaging.composite import (LISTING_MAX_BYTES, LUMA, MAX_WHITE_BALANCE_SHIFT, composite,
                                          composite_print, encode_listing, preview, scene_backdrop)
from generation.imaging.cutout import Cutout, cutout_from_mask
from generation.imaging.fidelity import masked_ssim
from generation.imaging.layout import crop_to_box, place
from tests.generation.imaging.conftest import table_photo


def _scene(colour=(235, 205, 160), surface=(110, 80, 55), size: int = 256) -> Image.Image:
    rng = np.random.default_rng(5)
    scene = np.empty((size, size, 3), np.float32)
    scene[:] = colour
    scene[int(0.72 * size) :] = surface
    scene += rng.normal(0, 12, scene.shape)  # detail the depth of field must soften
    return Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def staged(vase_photo):
    photo, truth = vase_photo
    cutout = cutout_from_mask(photo, Image.fromarray(np.where(truth, 255, 0).astype(np.uint8)))
    placement = place(cutout.alpha, category="ceramics")
    return photo, cutout, placement


def _box(image: Image.Image, placement) -> np.ndarray:
    x0, y0, x1, y1 = placement.box
    return np.asarray(image.crop((x0, y0, x1, y1)), dtype=np.float32) / 255


def _interior(cutout: Cutout, placement) -> np.ndarray:
    alpha = crop_to_box(cutout.alpha, cutout.alpha, placement)
    return cv2.erode((alpha > 0.99).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


def test_product_pixels_are_kept_before_harmonisation(staged):
    photo, cutout, placement = staged
    result = composite(photo, cutout, placement, _scene(), harmonise=False)
    expected = crop_to_box(np.asarray(photo, dtype=np.float32) / 255, cutout.alpha, placement)
    observed = _box(result.image, placement)
    alpha = crop_to_box(cutout.alpha, cutout.alpha, placement)[..., None]
    expected = alpha * expected + (1 - alpha) * observed  # SSIM windows at the edge also see the surroundings
    assert result.image.size == placement.canvas and result.image.mode == "RGB"
    assert masked_ssim(observed @ LUMA, expected @ LUMA, alpha[..., 0] > 0.99) >= 0.98


def test_light_match_keeps_luminance_and_shifts_colour_only_a_little(staged):
    photo, cutout, placement = staged
    warm = composite(photo, cutout, placement, _scene(colour=(250, 190, 120)))
    plain = composite(photo, cutout, placement, _scene(colour=(250, 190, 120)), harmonise=False)
    interior = _interior(cutout, placement)
    before, after = _box(plain.image, placement)[interior], _box(warm.image, placement)[interior]
    assert np.abs(after @ LUMA - before @ LUMA).mean() < 1.5 / 255
    ratio = after.mean(0) / before.mean(0)
    assert ratio[0] > ratio[2]  # warmer: toward the scene's light
    assert np.all(np.abs(ratio - 1) < MAX_WHITE_BALANCE_SHIFT + 0.03)


def test_contact_shadow_darkens_the_surface_under_the_product(staged):
    photo, cutout, placement = staged
    result = np.asarray(composite(photo, cutout, placement, _scene()).image, dtype=np.float32) / 255
    backdrop = scene_backdrop(_scene(), placement)
    x0, _, x1, y1 = placement.box
    under = np.s_[y1 + 2 : y1 + 12, (x0 + x1) // 2 - 20 : (x0 + x1) // 2 + 20]
    assert (result[under] @ LUMA).mean() < 0.85 * (backdrop[under] @ LUMA).mean()
    far = np.s_[y1 + 2 : y1 + 12, 5:40]
    assert (result[far] @ LUMA).mean() == pytest.approx((backdrop[far] @ LUMA).mean(), abs=0.02)


def test_scene_is_blurred_to_the_canvas_like_a_backdrop(staged):
    _, _, placement = staged
    backdrop = scene_backdrop(_scene(), placement)
    sharp = np.asarray(_scene().resize(placement.canvas, Image.Resampling.BICUBIC), dtype=np.float32) / 255
    top = np.s_[20:200, 20:1000]
    assert backdrop.shape == (1024, 1024, 3)
    assert np.abs(np.diff(backdrop[top], axis=1)).mean() < 0.5 * np.abs(np.diff(sharp[top], axis=1)).mean()


def test_edges_carry_no_halo_of_the_old_background():
    _, truth = table_photo(seed=4)
    alpha = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 2.5)
    glaze = np.array([40, 85, 150], np.float32) / 255
    photo_rgb = alpha[..., None] * glaze + (1 - alpha[..., None]) * 1.0  # a soft edge over a white studio
    photo = Image.fromarray(np.round(photo_rgb * 255).astype(np.uint8))
    cutout = Cutout(alpha=alpha, source="owner-mask")
    placement = place(alpha, category="ceramics")
    result = composite(photo, cutout, placement, Image.new("RGB", (256, 256)), harmonise=False)
    edge = (result.alpha > 0.05) & (result.alpha < 0.95)
    luminance = np.asarray(result.image, dtype=np.float32) @ LUMA / 255
    ideal = result.alpha * float(glaze @ LUMA)  # the glaze over the black scene
    naive_white = result.alpha * (result.alpha * float(glaze @ LUMA) + (1 - result.alpha))  # photo colours as they are
    assert edge.sum() > 1000
    assert np.abs(luminance[edge] - ideal[edge]).mean() < 0.02
    assert np.abs(naive_white[edge] - ideal[edge]).mean() > 0.1  # what a halo would have cost


def test_a_cut_out_png_brings_no_dark_fringe_from_under_its_transparent_pixels():
    _, truth = table_photo(width=2048, height=1536, seed=7)  # shrunk into its box: the resampling mixes neighbours
    alpha = truth.astype(np.float32)  # a hard-edged cut-out
    rgba = np.zeros(truth.shape + (4,), np.uint8)  # black under the transparent pixels, as many editors save
    rgba[truth] = (200, 190, 60, 255)
    photo = Image.fromarray(rgba)
    cutout = Cutout(alpha=alpha, source="alpha-channel")
    placement = place(alpha, category="ceramics")
    result = composite(photo, cutout, placement, Image.new("RGB", (256, 256), (255, 255, 255)), harmonise=False)
    edge = (result.alpha > 0.05) & (result.alpha < 0.95)
    edge[(placement.box[1] + placement.box[3]) // 2 :] = False  # the upper half: no contact shadow there
    luminance = np.asarray(result.image, dtype=np.float32) @ LUMA / 255
    product_luminance = float(np.array([200, 190, 60], np.float32) @ LUMA / 255)
    ideal = result.alpha * product_luminance + (1 - result.alpha)  # the product's colour over white
    assert edge.sum() > 500
    assert np.abs(luminance[edge] - ideal[edge]).max() < 0.03


def test_a_photo_smaller_than_its_box_is_enlarged_to_it():
    photo, truth = table_photo(width=320, height=240, seed=6)
    cutout = cutout_from_mask(photo, Image.fromarray(np.where(truth, 255, 0).astype(np.uint8)))
    placement = place(cutout.alpha, category="ceramics")
    result = composite(photo, cutout, placement, _scene())
    assert result.image.size == (1024, 1024)
    x0, y0, x1, y1 = placement.box
    assert result.alpha[y0:y1, x0:x1].sum() > 0.9 * truth.sum() * ((x1 - x0) / 96) ** 2


def test_print_mode_puts_the_motif_on_the_surface_under_its_shading(staged):
    photo, cutout, placement = staged
    x0, y0, x1, y1 = placement.box
    stripes_box = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
    stripes_box[:, ::32] = 255
    stripes_box = cv2.dilate(stripes_box, np.ones((1, 12), np.uint8))
    stripes = Image.fromarray(stripes_box)  # the box's own size: printed without resampling
    printed = _box(composite_print(photo, cutout, placement, _scene(), stripes).image, placement)
    plain = _box(composite(photo, cutout, placement, _scene(), harmonise=False).image, placement)
    interior = _interior(cutout, placement)
    motif_on = stripes_box[..., 0] > 128
    assert (printed[interior & motif_on] @ LUMA).mean() > 3 * (printed[interior & ~motif_on] @ LUMA).mean() + 0.01
    on = interior & motif_on
    assert np.corrcoef(printed[on] @ LUMA, plain[on] @ LUMA)[0, 1] > 0.8  # the photo's shading is kept


def test_listing_is_encoded_under_600_kb_at_full_size(staged):
    photo, cutout, placement = staged
    image = composite(photo, cutout, placement, _scene()).image
    data, kind = encode_listing(image)
    assert kind == "webp" and len(data) < LISTING_MAX_BYTES
    assert Image.open(io.BytesIO(data)).size == (1024, 1024)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (1024, 1024, 3), dtype=np.uint8))
    data, kind = encode_listing(noise)  # as detailed as a picture gets: still under the limit, still 1024 px
    assert len(data) < LISTING_MAX_BYTES and Image.open(io.BytesIO(data)).size == (1024, 1024)
    assert Image.open(io.BytesIO(encode_listing(Image.new("RGB", (3000, 3000)))[0])).size == (2048, 2048)
    with pytest.raises(ValueError, match="at least 1024 px"):
        encode_listing(Image.new("RGB", (512, 512)))


def test_preview_is_small():
    assert preview(Image.new("RGB", (1024, 1024))).size == (256, 256)
    assert preview(Image.new("RGB", (2048, 1024)), 300).size == (300, 150)
