"""The cut-out on synthetic photos with a known mask: segmenter, owner corrections, refusals."""

import time

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image

from generation.imaging.cutout import NoClearProduct, cut_out, cutout_from_mask
from tests.generation.imaging.conftest import iou, table_photo


def test_segmenter_finds_the_vase_within_three_seconds(vase_photo):
    photo, truth = vase_photo
    started = time.perf_counter()
    cutout = cut_out(photo)
    elapsed = time.perf_counter() - started
    assert cutout.source == "segmenter"
    assert cutout.alpha.shape == truth.shape and cutout.alpha.dtype == np.float32
    assert 0 <= cutout.alpha.min() and cutout.alpha.max() <= 1
    assert iou(cutout.alpha, truth) > 0.95
    assert elapsed < 3.0


def test_edge_is_soft_only_along_the_outline(vase_photo):
    photo, truth = vase_photo
    alpha = cut_out(photo).alpha
    partial = (alpha > 0) & (alpha < 1)
    assert partial.any()
    assert partial.mean() < 0.02  # a thin band, not a blurred blob


def test_a_handle_hole_stays_background_and_the_handle_is_kept():
    photo, truth = table_photo(handle=True, seed=1)
    alpha = cut_out(photo).alpha
    assert iou(alpha, truth) > 0.93
    width, height = photo.size
    hole = (round(0.5 * width + 1.15 * 0.15 * width), round(0.55 * height))
    assert alpha[hole[1], hole[0] + 0] < 0.5


def test_a_real_alpha_channel_is_used_as_it_is(vase_photo):
    photo, truth = vase_photo
    rgba = photo.convert("RGBA")
    alpha = np.where(truth, 255, 0).astype(np.uint8)
    alpha[0, 0] = 128
    rgba.putalpha(Image.fromarray(alpha))
    cutout = cut_out(rgba)
    assert cutout.source == "alpha-channel"
    np.testing.assert_array_equal(cutout.alpha, alpha / np.float32(255))


def test_a_photo_with_only_rounded_transparent_corners_is_segmented(vase_photo):
    photo, truth = vase_photo
    rgba = photo.convert("RGBA")
    alpha = np.full(truth.shape, 255, np.uint8)
    for rows in (slice(0, 12), slice(-12, None)):
        for columns in (slice(0, 12), slice(-12, None)):
            alpha[rows, columns] = 0
    rgba.putalpha(Image.fromarray(alpha))
    cutout = cut_out(rgba)
    assert cutout.source == "segmenter"
    assert iou(cutout.alpha, truth) > 0.95


def test_owner_mask_and_alpha_png(vase_photo):
    photo, truth = vase_photo
    mask = Image.fromarray(np.where(truth, 255, 0).astype(np.uint8))
    assert cutout_from_mask(photo, mask).source == "owner-mask"
    assert iou(cutout_from_mask(photo, mask).alpha, truth) == 1.0
    alpha_png = Image.new("RGBA", photo.size, (0, 0, 0, 0))
    alpha_png.putalpha(mask)
    assert iou(cutout_from_mask(photo, alpha_png).alpha, truth) == 1.0


def test_owner_mask_of_another_size_names_both_sizes(vase_photo):
    photo, _ = vase_photo
    with pytest.raises(ValueError, match="800×600 px but the photo is 1024×768 px"):
        cutout_from_mask(photo, Image.new("L", (800, 600), 255))
    with pytest.raises(ValueError, match="marks no product"):
        cutout_from_mask(photo, Image.new("L", photo.size, 0))


def _two_objects():
    photo, vase = table_photo(seed=2)
    array = np.asarray(photo).copy()
    array[80:200, 60:200] = (200, 40, 40)  # a red box up in the corner, smaller than the vase
    box = np.zeros(vase.shape, bool)
    box[80:200, 60:200] = True
    return Image.fromarray(array), vase, box


def test_rectangle_re_runs_the_segmenter_inside_it():
    photo, vase, box = _two_objects()
    cutout = cut_out(photo, rectangle=(40, 60, 230, 230))
    assert cutout.source == "owner-rectangle"
    assert iou(cutout.alpha, box) > 0.9
    assert not (cutout.alpha[vase] > 0.5).any()


def test_keep_stroke_adds_a_part_the_segmenter_left_out():
    photo, vase, box = _two_objects()
    automatic = cut_out(photo).alpha > 0.5
    assert not automatic[box].any()
    kept = cut_out(photo, keep=[[(90, 140), (170, 140)]])
    assert kept.source == "owner-strokes"
    assert iou(kept.alpha, vase | box) > 0.9


def test_remove_stroke_takes_away_a_part_of_another_colour():
    photo, vase = table_photo(seed=3)
    array = np.asarray(photo).copy()
    ys, xs = np.mgrid[0 : array.shape[0], 0 : array.shape[1]]
    saucer = (((xs - 512) / 260) ** 2 + ((ys - 640) / 40) ** 2 < 1) & ~vase
    array[saucer] = (190, 60, 50)  # a red saucer under the vase, joined to it
    photo = Image.fromarray(array)
    assert iou(cut_out(photo).alpha, vase | saucer) > 0.9
    removed = cut_out(photo, remove=[[(280, 640), (420, 640)], [(610, 640), (740, 640)]])
    assert removed.source == "owner-strokes"
    assert iou(removed.alpha, vase) > 0.93


def test_sklearn_landscape_is_no_clear_product():
    with pytest.raises(NoClearProduct, match="upload a cut-out or mark the product"):
        cut_out(Image.fromarray(load_sample_image("china.jpg")))


def test_a_blank_or_full_frame_picture_is_no_clear_product():
    with pytest.raises(NoClearProduct, match="upload a cut-out or mark the product"):
        cut_out(Image.new("RGB", (600, 400), (128, 128, 128)))
    noise = np.random.default_rng(0).integers(0, 255, (400, 600, 3), dtype=np.uint8)
    with pytest.raises(NoClearProduct, match="upload a cut-out or mark the product"):
        cut_out(Image.fromarray(noise))
