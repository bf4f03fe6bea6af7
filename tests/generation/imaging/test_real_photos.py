"""The imaging layer on real, licensed product photos (generation/real_photos/: sources and licences
in its README.md and manifest.csv). Only split=test photos are used here; split=benchmark photos are
scored by benchmarks/real_photos.py and never tuned on."""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation.imaging.composite import LUMA, composite
from generation.imaging.cutout import NoClearProduct, cut_out, cutout_from_mask
from generation.imaging.fidelity import masked_ssim
from generation.imaging.layout import crop_to_box, place
from generation.imaging.photo_input import load_photo
from generation.real_photos import mask_iou

REAL_PHOTOS = Path(__file__).resolve().parents[3] / "generation" / "real_photos"
# Measured on the test split (no cut-out of a benchmark photo was looked at). The target is a
# median of 0.92: 0.969 on the 25 test photos (a refusal counts as 0; the same after seven of the first
# batches' masks were redrawn in session 15), since the segmenter picks the
# best of three readings of each photo and reads it once more from there (on the 21 photos before the
# sixth batch: 0.800 with the corner-seeded reading alone, 0.937 with the best reading not read again).
# Those it gets wrong are listed, so that a change that fixes or breaks them shows; a new test photo must
# be cut out at MIN_IOU or refused.
MIN_IOU = 0.88
MIN_MEDIAN_IOU = 0.95
MIN_MEDIAN_IOU_WITH_OWNER_RECTANGLE = 0.93
KNOWN_MISSES = {
    # the scarf fills the frame and its navy reaches every corner; boxed to the frame, GrabCut keeps
    # the upper part and cuts straight across the lower one, where the navy looks like the backdrop
    "batik_headscarf_studio.jpg": 0.591,
    # the dim famille-rose panel has the backdrop's colour: the reading boxed to the colourful area keeps
    # the vase and part of its red stand
    "famille_rose_hanging_vase_studio.jpg": 0.839,
    # the corners' reading stops inside the copper rim, which is nearer the backdrop's colours than the
    # dish's, so it seems to leave nothing out and is chosen over the framed one (0.952): rim and outer
    # wall are lost (0.980 against the old ellipse mask, which left them out too)
    "carved_lacquer_dish_studio.jpg": 0.850,
    # a prayer wheel in its wooden frame beside a child, in a temple: the child is cut out instead of the
    # wheel (the cut-out check flags it, so its listings wait for the owner: test_cutout_check.py)
    "prayer_wheel_temple.jpg": 0.0,
    # products that fill the frame and run off its bottom: the bottom corners are product, so every
    # reading takes the product's lower part for backdrop and cuts straight across it (a bronze's foot,
    # the front of a pillow, the lower half of a dish on a stand)
    "bronze_pou_vessel_studio.jpg": 0.762,
    "black_painted_pillow_studio.jpg": 0.498,
    "blue_white_phoenix_dish_studio.jpg": 0.541,
}
REFUSED = {
    # grey bronze on a grey stone plinth (the mask leaves the plinth out) in front of a temple; boxed by
    # the owner, with its IoU then: the handles touch both sides of the frame, so the box takes out only
    # the plinth and GrabCut keeps the grey hall too (its owner needs strokes or a mask upload)
    "bronze_incense_burner_outdoor.jpg": 0.484,
}
TOLERANCE = 0.02


def _rows(split: str) -> list[dict]:
    with open(REAL_PHOTOS / "manifest.csv", newline="") as manifest:
        return [row for row in csv.DictReader(manifest) if row["split"] == split]


TEST_ROWS = _rows("test")
REJECT_ROWS = _rows("reject")


def real_photo(row: dict) -> Image.Image:
    return load_photo((REAL_PHOTOS / "photos" / row["file"]).read_bytes())


def true_mask(row: dict) -> Image.Image:
    return Image.open(REAL_PHOTOS / "masks" / f"{Path(row['file']).stem}.png")


def owner_rectangle(row: dict) -> tuple[int, int, int, int]:
    """The box an owner would draw: the product's bounds and 2 % of the photo's long side around them."""
    pad = round(0.02 * max(real_photo(row).size))
    return product_box(row, pad, pad)


def product_box(row: dict, pad_x: int, pad_y: int) -> tuple[int, int, int, int]:
    """The product's bounds in its true mask, `pad_x` / `pad_y` pixels around them, inside the photo."""
    ys, xs = np.nonzero(np.asarray(true_mask(row).convert("L")) > 127)
    width, height = real_photo(row).size
    return (max(0, xs.min() - pad_x), max(0, ys.min() - pad_y), min(width, xs.max() + pad_x), min(height, ys.max() + pad_y))


@pytest.fixture(scope="module")
def ious(real_cut_outs):
    """The segmenter's IoU per photo against the hand-checked mask; 0 where it refuses the photo."""
    return {row["file"]: 0.0 if real_cut_outs[row["file"]] is None
            else _iou(real_cut_outs[row["file"]].alpha, true_mask(row)) for row in TEST_ROWS}


def _iou(alpha: np.ndarray, mask: Image.Image) -> float:
    return mask_iou(alpha, np.asarray(mask.convert("L")) > 127)


def test_there_are_test_photos_with_masks_and_licences():
    assert len(TEST_ROWS) >= 3
    for row in TEST_ROWS:
        assert row["licence"] and row["source"]
        assert true_mask(row).size == real_photo(row).size


@pytest.mark.parametrize("row", TEST_ROWS, ids=[row["file"] for row in TEST_ROWS])
def test_cut_out_iou_per_photo(row, ious):
    if row["file"] in REFUSED:
        assert ious[row["file"]] == 0.0  # refused: NoClearProduct (its message: test_cutout.py)
        corrected = cut_out(real_photo(row), rectangle=owner_rectangle(row))
        assert corrected.source == "owner-rectangle"
        assert _iou(corrected.alpha, true_mask(row)) == pytest.approx(REFUSED[row["file"]], abs=TOLERANCE)
    elif row["file"] in KNOWN_MISSES:
        assert ious[row["file"]] == pytest.approx(KNOWN_MISSES[row["file"]], abs=TOLERANCE)
    else:
        assert ious[row["file"]] >= MIN_IOU


def test_cut_out_median_iou(ious):
    assert np.median(list(ious.values())) >= MIN_MEDIAN_IOU


def test_cut_out_median_iou_once_the_owner_boxes_the_misses(ious):
    corrected = [_iou(cut_out(real_photo(row), rectangle=owner_rectangle(row)).alpha, true_mask(row))
                 if ious[row["file"]] < MIN_IOU else ious[row["file"]] for row in TEST_ROWS]
    assert np.median(corrected) >= MIN_MEDIAN_IOU_WITH_OWNER_RECTANGLE


WELL_CUT_ROWS = [row for row in TEST_ROWS if row["file"] not in KNOWN_MISSES and row["file"] not in REFUSED]
# cut out at 0.900 from the whole photo, but at this IoU once cropped close round the robe
TIGHT_CROP_MISSES = {"ewenki_robe_worn_outdoor.jpg": 0.805}


@pytest.mark.parametrize("row", WELL_CUT_ROWS, ids=[row["file"] for row in WELL_CUT_ROWS])
def test_a_tightly_cropped_product_is_cut_out_not_refused(row):
    """Cropped to the product's bounds and 2 % of the photo's width and height around them, a product
    reaches into the corners, whose colours then can't be trusted as backdrop (the coffee cup was refused)."""
    width, height = real_photo(row).size
    box = product_box(row, round(0.02 * width), round(0.02 * height))
    cropped = _iou(cut_out(real_photo(row).crop(box)).alpha, true_mask(row).crop(box))
    if row["file"] in TIGHT_CROP_MISSES:
        assert cropped == pytest.approx(TIGHT_CROP_MISSES[row["file"]], abs=TOLERANCE)
    else:
        assert cropped >= MIN_IOU


@pytest.mark.parametrize("row", REJECT_ROWS, ids=[row["file"] for row in REJECT_ROWS])
def test_photo_with_no_single_clear_product_asks_the_owner(row):
    with pytest.raises(NoClearProduct, match="upload a cut-out or mark the product"):
        cut_out(real_photo(row))


def test_exif_orientation_of_a_real_photo_is_honoured():
    import io

    row = TEST_ROWS[0]
    upright = real_photo(row)
    exif = Image.Exif()
    exif[0x0112] = 8  # stored turned 90° clockwise: the viewer must turn it back counter-clockwise
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_270).save(buffer, "JPEG", quality=95, exif=exif)
    loaded = load_photo(buffer.getvalue())
    assert loaded.size == upright.size
    difference = np.abs(np.asarray(loaded, dtype=np.float32) - np.asarray(upright, dtype=np.float32))
    assert difference.mean() < 4


@pytest.mark.parametrize("row", TEST_ROWS, ids=[row["file"] for row in TEST_ROWS])
def test_compositor_keeps_the_real_products_pixels(row):
    photo = real_photo(row)
    cutout = cutout_from_mask(photo, true_mask(row))
    placement = place(cutout.alpha, category=row["category"])
    scene = Image.new("RGB", (256, 256), (214, 196, 170))
    result = composite(photo, cutout, placement, scene, harmonise=False)
    x0, y0, x1, y1 = placement.box
    observed = np.asarray(result.image.crop((x0, y0, x1, y1)), dtype=np.float32) / 255
    expected = crop_to_box(np.asarray(photo.convert("RGB"), dtype=np.float32) / 255, cutout.alpha, placement)
    alpha = crop_to_box(cutout.alpha, cutout.alpha, placement)[..., None]
    expected = alpha * expected + (1 - alpha) * observed  # SSIM windows at the edge also see the surroundings
    assert masked_ssim(observed @ LUMA, expected @ LUMA, alpha[..., 0] > 0.99) >= 0.98
    assert max(result.image.size) >= 1024
