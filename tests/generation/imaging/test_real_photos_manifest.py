"""The labelled real photos (generation/real_photos) are complete, small and attributed.

The cut-out and fidelity benchmarks score against these masks, so a missing file, a mask of the
wrong size or a photo without a named source and licence must fail here, not in a benchmark.
"""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REAL_PHOTOS = Path(__file__).resolve().parents[3] / "generation" / "real_photos"
MANIFEST = REAL_PHOTOS / "manifest.csv"
COLUMNS = ["file", "category", "background", "split", "source", "author", "licence"]
CATEGORIES = {"ceramics", "fan", "scarf", "jewellery", "paper_cut", "wood_lacquer", "tea_ware", "other"}
BACKGROUNDS = {"studio", "table", "outdoor", "other"}
SPLITS = {"test", "benchmark", "reject"}
MAX_TOTAL_BYTES = 15 * 1024 * 1024
MAX_LONG_SIDE = 1024


def _rows():
    with MANIFEST.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _labelled(rows):
    return [row for row in rows if row["split"] != "reject"]


def _mask_path(row):
    return REAL_PHOTOS / "masks" / (Path(row["file"]).stem + ".png")


def test_manifest_has_the_agreed_columns():
    with MANIFEST.open(newline="", encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == COLUMNS


def test_every_row_names_a_known_category_background_and_split():
    for row in _rows():
        assert row["category"] in CATEGORIES, row
        assert row["background"] in BACKGROUNDS, row
        assert row["split"] in SPLITS, row


def test_every_row_has_a_source_author_and_licence():
    for row in _rows():
        assert row["source"].startswith(("http://", "https://", "debian:", "pypi:")), row
        assert row["author"].strip(), row
        assert row["licence"].strip(), row


def test_file_names_are_unique():
    names = [row["file"] for row in _rows()]
    assert len(names) == len(set(names))


def test_every_photo_exists_and_is_a_small_rgb_jpeg():
    for row in _rows():
        path = REAL_PHOTOS / "photos" / row["file"]
        assert path.is_file(), path
        with Image.open(path) as photo:
            assert photo.format == "JPEG", path
            assert photo.mode == "RGB", path
            assert max(photo.size) <= MAX_LONG_SIDE, (path, photo.size)


def test_every_labelled_photo_has_a_binary_mask_of_its_size():
    for row in _labelled(_rows()):
        mask_path = _mask_path(row)
        assert mask_path.is_file(), mask_path
        with Image.open(REAL_PHOTOS / "photos" / row["file"]) as photo, Image.open(mask_path) as mask:
            assert mask.mode == "L", mask_path
            assert mask.size == photo.size, (mask_path, mask.size, photo.size)
            values = np.unique(np.asarray(mask))
        assert set(values.tolist()) <= {0, 255}, (mask_path, values)
        assert set(values.tolist()) == {0, 255}, f"{mask_path} is all product or all background"


def test_products_are_neither_specks_nor_the_whole_frame():
    for row in _labelled(_rows()):
        with Image.open(_mask_path(row)) as mask:
            product_share = (np.asarray(mask) == 255).mean()
        assert 0.02 < product_share < 0.97, (row["file"], product_share)


def test_reject_photos_have_no_mask():
    for row in _rows():
        if row["split"] == "reject":
            assert not _mask_path(row).exists(), row["file"]


def test_the_set_fits_the_size_budget():
    total = sum(path.stat().st_size for path in REAL_PHOTOS.rglob("*") if path.is_file())
    assert total <= MAX_TOTAL_BYTES, total


@pytest.mark.parametrize(("split", "minimum"), [("benchmark", 23), ("test", 6)])
def test_enough_photos_per_split(split, minimum):
    assert sum(row["split"] == split for row in _rows()) >= minimum


def test_at_least_thirty_labelled_photos_across_backgrounds():
    labelled = _labelled(_rows())
    assert len(labelled) >= 30
    backgrounds = {row["background"] for row in labelled}
    assert {"studio", "table", "outdoor"} <= backgrounds
    test_backgrounds = {row["background"] for row in labelled if row["split"] == "test"}
    assert "studio" in test_backgrounds and test_backgrounds & {"outdoor", "other"}


def test_readme_lists_every_photo():
    readme = (REAL_PHOTOS / "README.md").read_text(encoding="utf-8")
    for row in _rows():
        assert row["file"] in readme, row["file"]


def test_a_redrawn_mask_is_rebuilt_from_its_outline_by_the_labelling_tool():
    from generation.real_photos.draw_mask import build_mask, load_outlines, load_photo

    stem = "pottery_rat_figurine_studio"  # redrawn after the label audit, small enough to rebuild fast
    outline = load_outlines()[stem]
    assert outline.get("redrawn")
    with Image.open(REAL_PHOTOS / "masks" / f"{stem}.png") as committed_image:
        committed = np.asarray(committed_image.convert("L")) > 127
    rebuilt = build_mask(load_photo(stem), outline)
    assert (rebuilt != committed).sum() <= 0.001 * committed.sum()


def test_every_redrawn_outline_names_its_band():
    from generation.real_photos.draw_mask import load_outlines

    for stem, outline in load_outlines().items():
        if outline.get("redrawn"):
            assert 1 <= outline["band_px"] <= 8, stem
