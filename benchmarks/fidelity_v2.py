#!/usr/bin/env python
"""Fidelity v2 (generation/imaging/fidelity.py) on real photos: the compositor's own output against
the product redrawn by the UPCDM model shipped until December 2026 (fixtures in
tests/generation/imaging/fixtures/, made by make_redraws.py there).

Per photo of the chosen split: the segmenter's cut-out, the category's layout, then
  - composite: our compositor over four plain and textured scenes (must pass);
  - redraw-listing: the old listing, the 256 px redraw scaled to the canvas (must fail);
  - redraw-in-place: the redraw mapped back onto the photo and composited by our compositor with
    the same cut-out, so the redrawn product sits exactly where ours would (must fail);
  - photo-64px: the photo reduced to 64 px and enlarged again, detail lost but nothing redrawn
    (reported, for scale).

Run:  nice -n 10 .venv/bin/python benchmarks/fidelity_v2.py [--split test] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import io  # noqa: E402

from generation.imaging.composite import composite, composite_print, encode_listing  # noqa: E402
from generation.imaging.cutout import NoClearProduct, cut_out, cutout_from_mask  # noqa: E402
from generation.imaging.fidelity import DEFAULT_THRESHOLD, product_fidelity  # noqa: E402
from generation.imaging.layout import place  # noqa: E402
from generation.imaging.photo_input import load_photo  # noqa: E402

REAL_PHOTOS = ROOT / "generation" / "real_photos"
FIXTURES = ROOT / "tests" / "generation" / "imaging" / "fixtures"
MUST_PASS = {"composite", "composite-webp", "print (print mode)"}
MUST_FAIL = {"redraw-listing", "redraw-in-place", "redraw-listing (print mode)"}


def scene_set(size: int = 256) -> list[Image.Image]:
    """Plain and textured backdrops with a surface: warm, cool, dark, pale."""
    rng = np.random.default_rng(19)
    scenes = []
    for wall, table in (((236, 206, 160), (120, 86, 58)), ((150, 180, 215), (70, 80, 100)),
                        ((40, 36, 44), (90, 60, 40)), ((245, 244, 240), (200, 196, 190))):
        scene = np.empty((size, size, 3), np.float32)
        scene[:] = wall
        scene[int(0.7 * size):] = table
        scene += rng.normal(0, 10, scene.shape)
        scenes.append(Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8)))
    return scenes


def redraw_on_photo(redraw: Image.Image, photo: Image.Image) -> Image.Image:
    """The old pipeline's redraw (of the photo padded to a square) mapped back to the photo's frame."""
    side = max(photo.size)
    square = redraw.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
    left, top = (side - photo.width) // 2, (side - photo.height) // 2
    return square.crop((left, top, left + photo.width, top + photo.height))


def variants(photo: Image.Image, cutout, placement, stem: str):
    scenes = scene_set()
    for index, scene in enumerate(scenes):
        yield "composite", f"scene {index}", composite(photo, cutout, placement, scene).image
    for path in sorted(FIXTURES.glob(f"{stem}-redraw-*.png")):
        redraw = Image.open(path)
        yield "redraw-listing", path.name, redraw.convert("RGB").resize(placement.canvas, Image.Resampling.BICUBIC)
        yield "redraw-in-place", path.name, composite(redraw_on_photo(redraw, photo), cutout, placement, scenes[0]).image
    data, _ = encode_listing(composite(photo, cutout, placement, scenes[1]).image)
    yield "composite-webp", f"{len(data) // 1024} KB", Image.open(io.BytesIO(data)).convert("RGB")
    blurred = photo.convert("RGB").resize((64, 64), Image.Resampling.LANCZOS).resize(photo.size, Image.Resampling.BICUBIC)
    yield "photo-64px", "", composite(blurred, cutout, placement, scenes[0]).image


def motif(size: int = 256) -> Image.Image:
    """A persona-like print: coloured waves."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    wave = (np.sin(xs / 9 + 3 * np.sin(ys / 23)) > 0)[..., None]
    return Image.fromarray(np.where(wave, (200, 60, 70), (250, 225, 170)).astype(np.uint8))


def print_variants(photo: Image.Image, cutout, placement, stem: str):
    scene = scene_set()[0]
    yield "print (print mode)", "", composite_print(photo, cutout, placement, scene, motif()).image
    for path in sorted(FIXTURES.glob(f"{stem}-redraw-*.png")):
        redraw = Image.open(path)
        yield "redraw-listing (print mode)", path.name, redraw.convert("RGB").resize(placement.canvas, Image.Resampling.BICUBIC)


def photo_cutout(photo: Image.Image, row: dict):
    try:
        return cut_out(photo)
    except NoClearProduct:
        return cutout_from_mask(photo, Image.open(REAL_PHOTOS / "masks" / f"{Path(row['file']).stem}.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Fidelity v2 on real photos: compositor output vs redraws")
    parser.add_argument("--split", default="test")
    parser.add_argument("--json", help="write the figures here too")
    parser.add_argument("--photos", type=Path, default=REAL_PHOTOS, help="a real_photos folder (default: the repo's)")
    args = parser.parse_args()
    globals()["REAL_PHOTOS"] = args.photos
    with open(REAL_PHOTOS / "manifest.csv", newline="") as manifest:
        rows = [row for row in csv.DictReader(manifest) if row["split"] == args.split]
    results = []
    for row in tqdm(rows, desc="photos"):
        stem = Path(row["file"]).stem
        photo = load_photo((REAL_PHOTOS / "photos" / row["file"]).read_bytes())
        cutout = photo_cutout(photo, row)
        placement = place(cutout.alpha, category=row["category"])
        for kind, detail, result in variants(photo, cutout, placement, stem):
            fidelity = product_fidelity(photo, cutout, placement, result)
            results.append({"photo": stem, "kind": kind, "detail": detail, **fidelity.as_dict()})
        for kind, detail, result in print_variants(photo, cutout, placement, stem):
            fidelity = product_fidelity(photo, cutout, placement, result, mode="print")
            results.append({"photo": stem, "kind": kind, "detail": detail, **fidelity.as_dict()})
    print(f"{'photo':30s} {'variant':28s} {'detail':34s} {'score':>6s} {'ssim':>6s} {'ΔE':>6s} {'edges':>6s}")
    for item in results:
        print(f"{item['photo']:30s} {item['kind']:28s} {item['detail']:34s} {item['score']:6.3f} "
              f"{item['masked_ssim']:6.3f} {item['colour_delta']:6.2f} {item['edge_agreement']:6.3f}")
    summary = {}
    for kind in dict.fromkeys(item["kind"] for item in results):
        scores = [item["score"] for item in results if item["kind"] == kind]
        passed = sum(score >= DEFAULT_THRESHOLD for score in scores)
        summary[kind] = {"n": len(scores), "min": min(scores), "max": max(scores), "passed": passed}
    print(f"\nthreshold {DEFAULT_THRESHOLD}")
    for kind, figures in summary.items():
        expectation = "must pass" if kind in MUST_PASS else "must fail" if kind in MUST_FAIL else "for scale"
        print(f"{kind:28s} n={figures['n']:3d} min {figures['min']:.3f} max {figures['max']:.3f} "
              f"passed {figures['passed']}/{figures['n']} ({expectation})")
    if args.json:
        Path(args.json).write_text(json.dumps({"split": args.split, "threshold": DEFAULT_THRESHOLD,
                                               "summary": summary, "results": results}, indent=2))


if __name__ == "__main__":
    main()
