"""Stage one product for six personas: its matte, the renderer's scene, the model's scene, the product pasted over it.

    python -m generation.model.grid --output docs/generator_grid.png

The product is a renderer photo (cut out by its silhouette) placed as a listing layout places a
standing product; the model draws each persona's scene around its matte at 64 px; the last row
pastes the product's own pixels over the (resized) scene, as the compositor does at full size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from generation.model.control import control_image
from generation.model.dataset import persona_bank
from generation.model.evaluate import SHIPPED_WEIGHTS
from generation.model.pipeline_upcdm import UPCDMPipeline
from generation.rendering import render_array
from generation.rendering.scenes import render_scene, scene_style_for

CELL = 128
LABEL_HEIGHT = 30
ROWS = ("renderer's scene (truth)", "model's scene", "model's scene + product")


def six_distinct_personas() -> np.ndarray:
    """Six personas of the bank whose scene styles differ in palette."""
    chosen, palettes = [], set()
    for vector in persona_bank():
        style = scene_style_for(vector)
        if style.palette not in palettes:
            chosen.append(vector)
            palettes.add(style.palette)
        if len(chosen) == 6:
            break
    return np.stack(chosen)


def placed_product(shape: str, seed: int, size: int, long_side: float = 0.6, base: float = 0.86):
    """A renderer product's pixels and matte, its bounding box scaled to ``long_side`` and standing on ``base``."""
    photo = render_array(shape, None, seed, 256)
    alpha = control_image(photo)[0]
    ys, xs = np.nonzero(alpha > 0.5)
    crop = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    height, width = ys.max() + 1 - ys.min(), xs.max() + 1 - xs.min()
    scale = long_side * size / max(height, width)
    box = (max(1, round(width * scale)), max(1, round(height * scale)))
    pixels = np.asarray(Image.fromarray(np.round(photo[crop] * 255).astype(np.uint8)).resize(box, Image.Resampling.LANCZOS))
    matte = np.asarray(Image.fromarray(alpha[crop].astype(np.float32)).resize(box, Image.Resampling.BOX))
    left, top = (size - box[0]) // 2, round(base * size) - box[1]
    canvas_pixels = np.zeros((size, size, 3), np.float32)
    canvas_matte = np.zeros((size, size), np.float32)
    canvas_pixels[top : top + box[1], left : left + box[0]] = pixels / 255.0
    canvas_matte[top : top + box[1], left : left + box[0]] = np.clip(matte, 0, 1)
    return canvas_pixels, canvas_matte


def _cell(image) -> Image.Image:
    return Image.fromarray(np.asarray(image)).resize((CELL, CELL), Image.Resampling.BICUBIC)


def _pasted(scene: Image.Image, pixels: np.ndarray, matte: np.ndarray) -> Image.Image:
    background = np.asarray(scene.resize((CELL, CELL), Image.Resampling.BICUBIC), np.float32) / 255.0
    composite = background * (1 - matte[..., None]) + pixels * matte[..., None]
    return Image.fromarray(np.round(composite * 255).astype(np.uint8))


def draw_grid(pipe: UPCDMPipeline, shape: str, seed: int, steps: int = 20) -> Image.Image:
    personas = six_distinct_personas()
    size = pipe.sample_size
    _, matte = placed_product(shape, seed, size)
    pixels, big_matte = placed_product(shape, seed, CELL)
    mattes = np.repeat(matte[None], len(personas), axis=0)
    scenes = pipe.stage(mattes, personas, num_inference_steps=steps, generator=torch.Generator().manual_seed(0))
    truth = [np.round(render_scene(matte, p, 0, size) * 255).astype(np.uint8) for p in personas]
    columns = 1 + len(personas)
    row_height = CELL + LABEL_HEIGHT
    grid = Image.new("RGB", (columns * CELL, LABEL_HEIGHT + len(ROWS) * row_height), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    draw.text((4, 4), "persona's scene style:", fill=(0, 0, 0))
    for row, label in enumerate(ROWS):
        draw.text((CELL + 4, LABEL_HEIGHT + row * row_height + 9), label, fill=(0, 0, 0))
    draw.text((4, LABEL_HEIGHT + 9), "placed matte (64 px)", fill=(0, 0, 0))
    grid.paste(_cell(np.round(matte * 255).astype(np.uint8)), (0, 2 * LABEL_HEIGHT))
    for i, vector in enumerate(personas, start=1):
        style = scene_style_for(vector)
        draw.text((i * CELL + 4, 2), style.palette, fill=(0, 0, 0))
        draw.text((i * CELL + 4, 15), f"{style.motif}, {style.set}, {style.light}", fill=(80, 80, 80))
        cells = (_cell(truth[i - 1]), _cell(scenes[i - 1]), _pasted(scenes[i - 1], pixels, big_matte))
        for row, cell in enumerate(cells):
            grid.paste(cell, (i * CELL, 2 * LABEL_HEIGHT + row * row_height))
    return grid


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default=str(SHIPPED_WEIGHTS))
    parser.add_argument("--shape", default="vase")
    parser.add_argument("--seed", type=int, default=2_000_123, help="a geometry from the test range")
    parser.add_argument("--output", default="docs/generator_grid.png")
    args = parser.parse_args(argv)
    grid = draw_grid(UPCDMPipeline.from_weights(args.weights), args.shape, args.seed)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
