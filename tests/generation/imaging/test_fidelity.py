"""Fidelity v2 passes the compositor's own output and rejects every redrawn product (real photos,
and the redraws the shipped UPCDM model made of them: fixtures/README.md)."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.fidelity_v2 import motif, redraw_on_photo, scene_set
from generation.imaging.composite import composite, composite_print, encode_listing
from generation.imaging.cutout import cutout_from_mask
from generation.imaging.fidelity import DEFAULT_THRESHOLD, ProductFidelity, product_fidelity
from generation.imaging.layout import Placement, place
from tests.generation.imaging.test_real_photos import TEST_ROWS, real_photo, true_mask

FIXTURES = Path(__file__).parent / "fixtures"
REDRAWS = sorted(FIXTURES.glob("*-redraw-*.png"))
SCENES = scene_set()


@pytest.fixture(scope="module")
def staged(real_cut_outs):
    """Per test photo: the photo, its segmenter cut-out (the owner's mask where it refuses) and its layout."""
    staged = {}
    for row in TEST_ROWS:
        photo = real_photo(row)
        cutout = real_cut_outs[row["file"]] or cutout_from_mask(photo, true_mask(row))
        staged[Path(row["file"]).stem] = (photo, cutout, place(cutout.alpha, category=row["category"]))
    return staged


def test_every_test_photo_has_redraw_fixtures():
    stems = {Path(row["file"]).stem for row in TEST_ROWS}
    assert len(REDRAWS) >= 10
    assert {path.name.split("-redraw-")[0] for path in REDRAWS} == stems


@pytest.mark.parametrize("stem", [Path(row["file"]).stem for row in TEST_ROWS])
def test_compositor_output_passes_over_any_scene_and_after_encoding(stem, staged):
    photo, cutout, placement = staged[stem]
    for scene in (SCENES[0], SCENES[2]):  # a warm and a dark backdrop
        fidelity = product_fidelity(photo, cutout, placement, composite(photo, cutout, placement, scene).image)
        assert fidelity.score >= DEFAULT_THRESHOLD, fidelity.as_dict()
        assert fidelity.masked_ssim > 0.98
    data, _ = encode_listing(composite(photo, cutout, placement, SCENES[1]).image)
    decoded = Image.open(io.BytesIO(data))
    assert product_fidelity(photo, cutout, placement, decoded).score >= DEFAULT_THRESHOLD


def test_the_light_match_toward_a_saturated_scene_still_passes(staged):
    photo, cutout, placement = staged["jade_bi_disc_studio"]  # a near-neutral green: the most sensitive
    for colour in ((220, 30, 30), (40, 200, 60), (30, 60, 220)):
        result = composite(photo, cutout, placement, Image.new("RGB", (64, 64), colour)).image
        fidelity = product_fidelity(photo, cutout, placement, result)
        assert fidelity.score >= DEFAULT_THRESHOLD, fidelity.as_dict()


@pytest.mark.parametrize("path", REDRAWS, ids=[path.name for path in REDRAWS])
def test_redrawn_product_is_rejected_as_listed_and_in_place(path, staged):
    photo, cutout, placement = staged[path.name.split("-redraw-")[0]]
    redraw = Image.open(path).convert("RGB")
    listed = redraw.resize(placement.canvas, Image.Resampling.BICUBIC)  # how the old pipeline showed it
    in_place = composite(redraw_on_photo(redraw, photo), cutout, placement, SCENES[0]).image
    for result in (listed, in_place):
        fidelity = product_fidelity(photo, cutout, placement, result)
        assert fidelity.score < DEFAULT_THRESHOLD, fidelity.as_dict()
    assert product_fidelity(photo, cutout, placement, listed, mode="print").score < DEFAULT_THRESHOLD


def test_the_product_placed_elsewhere_is_rejected(staged):
    photo, cutout, placement = staged[Path(TEST_ROWS[0]["file"]).stem]
    x0, y0, x1, y1 = placement.box
    shifted = Placement(canvas=placement.canvas, box=(x0 - 60, y0 - 40, x1 - 60, y1 - 40))
    result = composite(photo, cutout, shifted, SCENES[0]).image
    assert product_fidelity(photo, cutout, placement, result).score < DEFAULT_THRESHOLD


def test_a_recoloured_or_blurred_product_is_rejected(staged):
    photo, cutout, placement = staged[Path(TEST_ROWS[0]["file"]).stem]
    rgb = np.asarray(photo.convert("RGB"))
    recoloured = Image.fromarray(np.ascontiguousarray(rgb[..., [2, 0, 1]]))  # same shading, other colours
    blurred = photo.convert("RGB").resize((64, 64), Image.Resampling.LANCZOS).resize(photo.size, Image.Resampling.BICUBIC)
    for changed in (recoloured, blurred):
        result = composite(changed, cutout, placement, SCENES[0]).image
        assert product_fidelity(photo, cutout, placement, result).score < DEFAULT_THRESHOLD


@pytest.mark.parametrize("stem", [Path(row["file"]).stem for row in TEST_ROWS])
def test_print_mode_passes_a_printed_motif_that_keep_mode_refuses(stem, staged):
    photo, cutout, placement = staged[stem]
    printed = composite_print(photo, cutout, placement, SCENES[0], motif()).image
    assert product_fidelity(photo, cutout, placement, printed, mode="print").score >= DEFAULT_THRESHOLD
    assert product_fidelity(photo, cutout, placement, printed).score < DEFAULT_THRESHOLD


def test_a_result_of_another_size_is_compared_at_the_canvas(staged):
    photo, cutout, placement = staged[Path(TEST_ROWS[0]["file"]).stem]
    result = composite(photo, cutout, placement, SCENES[0]).image
    smaller = result.resize((768, 768), Image.Resampling.LANCZOS)
    assert product_fidelity(photo, cutout, placement, smaller).score >= DEFAULT_THRESHOLD


def test_as_dict_and_bad_mode(staged):
    photo, cutout, placement = staged[Path(TEST_ROWS[0]["file"]).stem]
    result = composite(photo, cutout, placement, SCENES[0]).image
    fidelity = product_fidelity(photo, cutout, placement, result)
    assert isinstance(fidelity, ProductFidelity)
    assert set(fidelity.as_dict()) == {"score", "masked_ssim", "colour_delta", "edge_agreement"}
    assert 0 <= fidelity.score <= 1 and np.isfinite(fidelity.colour_delta)
    with pytest.raises(ValueError, match="mode"):
        product_fidelity(photo, cutout, placement, result, mode="redraw")
