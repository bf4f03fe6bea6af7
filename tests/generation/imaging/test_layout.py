"""Layout: where the product goes in the square listing frame, per category."""

import numpy as np
import pytest

from generation.imaging.layout import LAYOUTS, layout_for, place, placed_matte


def _matte(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    alpha = np.zeros((height, width), np.float32)
    x0, y0, x1, y1 = box
    alpha[y0:y1, x0:x1] = 1
    return alpha


@pytest.mark.parametrize("category", sorted(LAYOUTS))
@pytest.mark.parametrize("shape", [(100, 400), (400, 100), (300, 300)])
def test_box_keeps_aspect_ratio_and_margin(category, shape):
    width, height = shape
    alpha = _matte(1000, 800, (200, 150, 200 + width, 150 + height))
    placement = place(alpha, category=category, long_side=1024)
    x0, y0, x1, y1 = placement.box
    rule = LAYOUTS[category]
    assert placement.canvas == (1024, 1024)
    assert (x1 - x0) / (y1 - y0) == pytest.approx(width / height, rel=0.02)
    margin = rule.margin * 1024 - 1
    assert x0 >= margin and y0 >= margin and x1 <= 1024 - margin and y1 <= 1024 - margin
    assert max(x1 - x0, y1 - y0) <= rule.size * 1024 + 1
    assert (x0 + x1) / 2 == pytest.approx(512, abs=1)


def test_standing_products_rest_on_a_surface_line_and_flat_ones_are_centred():
    alpha = _matte(800, 800, (300, 200, 500, 600))
    vase = place(alpha, category="ceramics").box
    fan = place(alpha, category="fan").box
    assert vase[3] == round(LAYOUTS["ceramics"].base * 1024)
    assert (fan[1] + fan[3]) / 2 == pytest.approx(512, abs=1)


def test_free_text_categories_are_matched_and_unknown_ones_are_other():
    assert layout_for("Blue porcelain vase") is LAYOUTS["ceramics"]
    assert layout_for("剪纸") is LAYOUTS["paper_cut"]
    assert layout_for("") is LAYOUTS["other"] and layout_for("kites") is LAYOUTS["other"]


def test_long_side_bounds_and_an_empty_matte_are_refused():
    alpha = _matte(500, 500, (100, 100, 300, 300))
    assert place(alpha, category="fan", long_side=2048).canvas == (2048, 2048)
    with pytest.raises(ValueError, match="1024-2048"):
        place(alpha, category="fan", long_side=512)
    with pytest.raises(ValueError, match="empty"):
        place(np.zeros((50, 50), np.float32), category="fan")


def test_placed_matte_is_the_product_where_the_box_is_at_model_size():
    alpha = _matte(600, 400, (100, 50, 300, 350))
    placement = place(alpha, category="ceramics")
    matte = placed_matte(alpha, placement, 64)
    assert matte.shape == (64, 64) and matte.dtype == np.float32
    x0, y0, x1, y1 = (round(value * 64 / 1024) for value in placement.box)
    assert matte[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1].min() == pytest.approx(1)
    assert matte.sum() == pytest.approx((x1 - x0) * (y1 - y0), rel=0.1)
    assert matte[:, : x0 - 1].max() == 0 and matte[: y0 - 1].max() == 0
