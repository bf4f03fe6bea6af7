"""The cut-out check on real, licensed test-split photos (generation/real_photos/): a cut-out the
segmenter got wrong is flagged, a right one is not, and the owner's own mask is taken at its word.
Only split=test photos are used; split=benchmark is scored by benchmarks/cutout_check.py."""

import numpy as np
import pytest
from PIL import Image

from generation.imaging.cutout import cut_out
from generation.imaging.cutout_check import FLAG_BELOW, cutout_confidence
from tests.generation.imaging.conftest import iou
from tests.generation.imaging.test_real_photos import TEST_ROWS, real_photo, true_mask

ROWS = {row["file"]: row for row in TEST_ROWS}
# The segmenter's cut-outs of the test photos, by their IoU against the hand mask (test_real_photos.py).
RIGHT = ["coffee_cup_table.jpg", "jade_bi_disc_studio.jpg", "celadon_phoenix_plate_studio.jpg",
         "celadon_handled_cup_studio.jpg", "bronze_bo_bell_studio.jpg", "bronze_zhi_cup_studio.jpg"]
WRONG = ["batik_headscarf_studio.jpg", "famille_rose_hanging_vase_studio.jpg", "prayer_wheel_temple.jpg",
         "bronze_pou_vessel_studio.jpg", "blue_white_phoenix_dish_studio.jpg"]


def rgb_of(name: str) -> np.ndarray:
    return np.asarray(real_photo(ROWS[name]).convert("RGB"))


def truth_of(name: str) -> np.ndarray:
    return np.asarray(true_mask(ROWS[name]).convert("L")) > 127


@pytest.fixture(scope="module")
def segmenter_cut_outs(real_cut_outs):
    """The session's cut-outs of the test photos (conftest.py), the same segmenter on the same photos."""
    return {name: real_cut_outs[name] for name in RIGHT + WRONG}


@pytest.mark.parametrize("name", WRONG)
def test_a_wrong_cut_out_of_a_real_photo_is_flagged_with_reasons(segmenter_cut_outs, name):
    cutout = segmenter_cut_outs[name]
    assert iou(cutout.alpha, truth_of(name)) < 0.85  # the segmenter really got it wrong
    confidence = cutout_confidence(rgb_of(name), cutout.alpha, source=cutout.source)
    assert confidence.flagged and confidence.score < FLAG_BELOW
    assert confidence.reasons and all(isinstance(reason, str) and len(reason) > 20 for reason in confidence.reasons)


@pytest.mark.parametrize("name", RIGHT)
def test_a_right_cut_out_of_a_real_photo_is_not_flagged(segmenter_cut_outs, name):
    cutout = segmenter_cut_outs[name]
    assert iou(cutout.alpha, truth_of(name)) > 0.9
    confidence = cutout_confidence(rgb_of(name), cutout.alpha, source=cutout.source)
    assert not confidence.flagged and confidence.reasons == ()
    assert FLAG_BELOW <= confidence.score <= 1
    assert confidence.signals["stability"] > 0.8


def test_a_dish_cut_in_half_is_flagged_as_cut_through_the_product():
    """The issue's case: half a plate passes fidelity, because fidelity trusts the cut-out."""
    name = "carved_lacquer_dish_studio.jpg"
    truth = truth_of(name)
    half = truth.copy()
    half[:, int(np.median(np.nonzero(truth)[1])):] = False
    confidence = cutout_confidence(rgb_of(name), half.astype(np.float32), source="segmenter")
    assert confidence.flagged
    assert any("cut through the product" in reason for reason in confidence.reasons)
    assert confidence.signals["weak_outline_share"] > 0.2  # the dish on both sides of the cut


def test_the_owners_mask_and_the_photos_alpha_channel_count_as_confident():
    name = "prayer_wheel_temple.jpg"
    wrong = np.zeros(truth_of(name).shape, np.float32)
    wrong[:10, :10] = 1  # whatever the owner sends is the owner's word
    for source in ("owner-mask", "alpha-channel"):
        confidence = cutout_confidence(rgb_of(name), wrong, source=source)
        assert confidence.score == 1.0 and not confidence.flagged


def test_an_owner_rectangle_is_checked_by_re_running_the_segmenter_with_the_same_rectangle():
    """A rectangle around the jade disc gives a cut-out the re-runs agree with; the one around the
    bronze burner, whose handles touch both sides of the frame, keeps the grey hall, which runs along the
    photo's border, and is flagged."""
    verdicts = {}
    for name in ("jade_bi_disc_studio.jpg", "bronze_incense_burner_outdoor.jpg"):
        truth = truth_of(name)
        rows, cols = np.nonzero(truth)
        pad = round(0.02 * max(truth.shape))
        rectangle = (max(0, cols.min() - pad), max(0, rows.min() - pad),
                     min(truth.shape[1], cols.max() + pad), min(truth.shape[0], rows.max() + pad))
        cutout = cut_out(Image.fromarray(rgb_of(name)), rectangle=rectangle)
        confidence = cutout_confidence(rgb_of(name), cutout.alpha, source=cutout.source, rectangle=rectangle)
        verdicts[name] = (iou(cutout.alpha, truth), confidence)
    jade_iou, jade = verdicts["jade_bi_disc_studio.jpg"]
    bronze_iou, bronze = verdicts["bronze_incense_burner_outdoor.jpg"]
    assert jade_iou > 0.9 and not jade.flagged and jade.signals["stability"] > 0.95
    assert bronze_iou < 0.6 and bronze.flagged and any("border" in reason for reason in bronze.reasons)
