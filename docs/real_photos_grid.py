#!/usr/bin/env python
"""Draw the README's opening grid: real product photos (rows) staged for six personas (columns).

Each row is one licensed photo of generation/real_photos/ (benchmark split, one category after
another): the photo as uploaded, then its listing image for each persona from the shipped UPCDM
staging model, as a job makes it. A listing is published only once a person has confirmed the
product's cut-out, so the grid shows only photos whose automatic cut-out a person would confirm
(IoU ≥ LOOKS_RIGHT_IOU with the hand-checked mask); the others, and the refused ones, wait for the
owner to correct them (benchmarks/real_photos.py scores all of them).

Run:  .venv/bin/python docs/real_photos_grid.py [--rows 5] [--out docs/real_photos_grid.jpg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CELL = 240
LABEL = 28
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def confirmed_cutout(entry):
    """The photo and its automatic cut-out, or None when a person checking it would not confirm it."""
    from generation.imaging.cutout import NoClearProduct, cut_out
    from generation.imaging.photo_input import load_photo
    from generation.real_photos import LOOKS_RIGHT_IOU, hand_mask, mask_iou

    photo = load_photo(entry.path.read_bytes())
    try:
        cutout = cut_out(photo)
    except NoClearProduct:
        return None
    return (photo, cutout) if mask_iou(cutout.alpha, hand_mask(entry)) >= LOOKS_RIGHT_IOU else None


def staged_row(photo, cutout, category: str, pipeline, personas, seed: int) -> list[Image.Image]:
    import torch

    from generation.imaging.layout import place, placed_matte
    from generation.staging import stage_variants
    from generation.upscaling import upscale

    placement = place(cutout.alpha, category=category, long_side=1024)
    matte = placed_matte(cutout.alpha, placement, pipeline.sample_size)
    scenes = pipeline.stage(np.repeat(matte[None], len(personas), axis=0), personas, num_inference_steps=20,
                            generator=torch.Generator().manual_seed(seed))
    scenes = upscale([scene.convert("RGB") for scene in scenes])
    variants = stage_variants(photo=photo, cutout=cutout, placement=placement, scenes=scenes)
    return [photo.convert("RGB")] + [variant.image for variant in variants]


def cell(image: Image.Image) -> Image.Image:
    framed = Image.new("RGB", (CELL, CELL), (255, 255, 255))
    image = image.copy()
    image.thumbnail((CELL, CELL), Image.LANCZOS)
    framed.paste(image, ((CELL - image.width) // 2, (CELL - image.height) // 2))
    return framed


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "real_photos_grid.jpg")
    args = parser.parse_args(argv)

    from benchmarks.real_photos import distinct_personas
    from generation.model.pipeline_upcdm import UPCDMPipeline
    from generation.real_photos import real_photos
    from generation.rendering.scenes import scene_style_for

    pipeline = UPCDMPipeline.from_weights(ROOT / "generation" / "weights")
    personas = distinct_personas()
    entries = real_photos(split="benchmark")
    by_category: dict[str, list] = {}
    for entry in entries:  # one category after another, so the rows differ
        by_category.setdefault(entry.category, []).append(entry)
    ordered = [group[i] for i in range(len(entries)) for group in by_category.values() if i < len(group)]
    columns = ["photo"] + [scene_style_for(vector).palette.replace("_", " ") for vector in personas]
    grid = Image.new("RGB", (CELL * len(columns), LABEL + CELL * args.rows), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    font = ImageFont.truetype(FONT, 15) if Path(FONT).exists() else ImageFont.load_default()
    for index, name in enumerate(columns):
        draw.text((index * CELL + 8, 5), name, fill=(40, 40, 40), font=font)
    row = 0
    with tqdm(total=args.rows, desc="staging") as bar:
        for entry in ordered:
            if row == args.rows:
                break
            confirmed = confirmed_cutout(entry)
            if confirmed is None:
                continue
            images = staged_row(*confirmed, entry.category, pipeline, personas, seed=row)
            for column, image in enumerate(images):
                grid.paste(cell(image), (column * CELL, LABEL + row * CELL))
            row += 1
            bar.update()
    grid.save(args.out, quality=85, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return args.out


if __name__ == "__main__":
    main()
