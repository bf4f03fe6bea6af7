"""Rebuild a true mask from its hand outline in mask_polygons.json, and draw overlays to check it by eye.

A labelling tool, not part of the product: it never runs the product's segmenter. The outline is
rasterised at the photo's size; OpenCV GrabCut may then move its edge only inside a band of `band_px`
(narrower inside any `band_override` rectangle); the shapes in `drawn_without_grabcut` are filled as
drawn afterwards. The README beside this file says how the masks were made and checked.

    python -m generation.real_photos.draw_mask STEM [STEM ...] [--overlays DIR] [--dry-run]
        [--drafts DIR]   # take STEM's outline from DIR/STEM.json while it is being redrawn; without
                         # --dry-run the draft is written into mask_polygons.json beside its mask
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from generation.real_photos import REAL_PHOTOS, mask_iou

OUTLINES = REAL_PHOTOS / "mask_polygons.json"


def load_outlines() -> dict:
    return json.loads(OUTLINES.read_text(encoding="utf-8"))


def save_outline(stem: str, outline: dict) -> None:
    outlines = load_outlines()
    outlines[stem] = outline
    OUTLINES.write_text(json.dumps(outlines, ensure_ascii=False, indent=1), encoding="utf-8")


def load_photo(stem: str) -> np.ndarray:
    with Image.open(REAL_PHOTOS / "photos" / f"{stem}.jpg") as image:
        return np.asarray(image.convert("RGB"))


def _scale(outline: dict) -> tuple[float, float]:
    (source_w, source_h), (photo_w, photo_h) = outline["source_size"], outline["photo_size"]
    return photo_w / source_w, photo_h / source_h


def _fill(shapes: list, size: tuple[int, int], scale: tuple[float, float]) -> np.ndarray:
    """Shapes (polygons of [x, y] or {"ellipse": [cx, cy, rx, ry]}) in source pixels, filled at photo size."""
    width, height = size
    canvas = np.zeros((height, width), np.uint8)
    for shape in shapes:
        if isinstance(shape, dict):
            cx, cy, rx, ry = shape["ellipse"]
            centre = (round(cx * scale[0]), round(cy * scale[1]))
            axes = (max(1, round(rx * scale[0])), max(1, round(ry * scale[1])))
            cv2.ellipse(canvas, centre, axes, 0, 0, 360, 255, thickness=-1)
        else:
            points = np.round(np.asarray(shape, float) * scale).astype(np.int32)
            cv2.fillPoly(canvas, [points], 255)
    return canvas > 0


def outline_mask(outline: dict) -> np.ndarray:
    """The hand outline as drawn (product minus holes), at photo size."""
    size, scale = tuple(outline["photo_size"]), _scale(outline)
    return _fill(outline["product"], size, scale) & ~_fill(outline.get("holes", []), size, scale)


def _band_map(outline: dict) -> np.ndarray:
    """GrabCut band width at each pixel, in photo pixels."""
    width, height = outline["photo_size"]
    scale_x, scale_y = _scale(outline)
    band = np.full((height, width), outline["band_px"] * scale_x, float)
    for override in outline.get("band_override", []):
        x0, y0, x1, y1 = override["rect_x0y0x1y1"]
        rows = slice(round(y0 * scale_y), round(y1 * scale_y))
        cols = slice(round(x0 * scale_x), round(x1 * scale_x))
        band[rows, cols] = override["band_px"] * scale_x
    return band


def refine(photo: np.ndarray, drawn: np.ndarray, band: np.ndarray) -> np.ndarray:
    """GrabCut decides only the pixels within `band` of the drawn edge; the rest is fixed as drawn."""
    inside = cv2.distanceTransform(drawn.astype(np.uint8), cv2.DIST_L2, 5)
    outside = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5)
    labels = np.where(drawn, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[drawn & (inside > band)] = cv2.GC_FGD
    labels[~drawn & (outside > band)] = cv2.GC_BGD
    if not (labels == cv2.GC_FGD).any():
        return drawn
    cv2.setRNGSeed(0)
    background, foreground = np.zeros((1, 65), float), np.zeros((1, 65), float)
    cv2.grabCut(cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), labels, None, background, foreground, 5,
                cv2.GC_INIT_WITH_MASK)
    product = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    return _connected_to(product, labels == cv2.GC_FGD)


def _connected_to(product: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    count, components = cv2.connectedComponents(product.astype(np.uint8), connectivity=8)
    kept = np.unique(components[anchor & product])
    return np.isin(components, kept[kept > 0])


def build_mask(photo: np.ndarray, outline: dict) -> np.ndarray:
    if photo.shape[1::-1] != tuple(outline["photo_size"]):
        raise ValueError(f"the photo is {photo.shape[1::-1]} px but the outline's photo_size is {outline['photo_size']}")
    size, scale = tuple(outline["photo_size"]), _scale(outline)
    holes = _fill(outline.get("holes", []), size, scale)
    drawn = _fill(outline["product"], size, scale) & ~holes
    mask = refine(photo, drawn, _band_map(outline))
    return mask | (_fill(outline.get("drawn_without_grabcut", []), size, scale) & ~holes)


def _edge(mask: np.ndarray) -> np.ndarray:
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0


def draw_overlays(stem: str, photo: np.ndarray, mask: np.ndarray, outline: dict, folder: Path) -> list[Path]:
    """The whole photo with the mask's edge in red, the outline in cyan and the background tinted
    magenta, plus 2x crops in a 3x3 grid for walking the edge."""
    overlay = photo.astype(float)
    overlay[~mask] = overlay[~mask] * 0.6 + np.array([255, 0, 255]) * 0.4
    overlay = overlay.astype(np.uint8)
    overlay[_edge(outline_mask(outline))] = (0, 255, 255)
    overlay[_edge(mask)] = (255, 0, 0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}_overlay.png"]
    Image.fromarray(overlay).save(paths[0])
    height, width = mask.shape
    for row in range(3):
        for col in range(3):
            crop = overlay[row * height // 3:(row + 1) * height // 3, col * width // 3:(col + 1) * width // 3]
            path = folder / f"{stem}_crop_r{row}c{col}.png"
            Image.fromarray(crop).resize((crop.shape[1] * 2, crop.shape[0] * 2), Image.NEAREST).save(path)
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stems", nargs="+")
    parser.add_argument("--overlays", type=Path, help="write overlays to check the mask by eye here")
    parser.add_argument("--dry-run", action="store_true", help="compare with the committed mask, write nothing")
    parser.add_argument("--drafts", type=Path, help="a folder of draft outlines, STEM.json, used instead of "
                                                    "the committed ones")
    args = parser.parse_args(argv)
    outlines = load_outlines()
    drafts = {path.stem: json.loads(path.read_text(encoding="utf-8"))
              for path in (args.drafts.glob("*.json") if args.drafts else []) if path.stem in args.stems}
    outlines.update(drafts)
    for stem in args.stems:
        if stem not in outlines:
            print(f"{stem}: no outline in {OUTLINES.name}" + (f" or {args.drafts}" if args.drafts else ""),
                  file=sys.stderr)
            return 2
        photo = load_photo(stem)
        try:
            mask = build_mask(photo, outlines[stem])
        except ValueError as error:
            print(f"{stem}: {error}", file=sys.stderr)
            return 2
        committed_path = REAL_PHOTOS / "masks" / f"{stem}.png"
        if committed_path.exists():
            with Image.open(committed_path) as committed_image:
                committed = np.asarray(committed_image.convert("L")) > 127
            print(f"{stem}: {mask.sum()} px, IoU with the committed mask {mask_iou(mask, committed):.4f}")
        if not args.dry_run:
            Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(committed_path)
            if stem in drafts:  # the mask and the outline it was made from stay together
                save_outline(stem, drafts[stem])
        if args.overlays:
            draw_overlays(stem, photo, mask, outlines[stem], args.overlays)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
