"""Draw one product for six personas: the original photo, the renderer's truth and the model's images.

    python -m generation.model.grid --output docs/generator_grid.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from generation.model.dataset import persona_bank
from generation.model.evaluate import SHIPPED_WEIGHTS
from generation.model.pipeline_upcdm import UPCDMPipeline
from generation.rendering import render_array, render_original, style_for

CELL = 128
LABEL_HEIGHT = 30


def six_distinct_personas() -> np.ndarray:
    """Six personas of the bank whose styles differ in palette (and motif where possible)."""
    chosen, palettes = [], set()
    for vector in persona_bank():
        style = style_for(vector)
        if style.palette not in palettes:
            chosen.append(vector)
            palettes.add(style.palette)
        if len(chosen) == 6:
            break
    return np.stack(chosen)


def _cell(image) -> Image.Image:
    return Image.fromarray(np.asarray(image)).resize((CELL, CELL), Image.Resampling.NEAREST)


def draw_grid(pipe: UPCDMPipeline, shape: str, seed: int, steps: int = 20) -> Image.Image:
    personas = six_distinct_personas()
    photo = render_original(shape, seed)
    generated = pipe(photo, personas, num_inference_steps=steps, generator=torch.Generator().manual_seed(0)).images
    truth = [np.round(render_array(shape, p, seed) * 255).astype(np.uint8) for p in personas]
    columns = 1 + len(personas)
    grid = Image.new("RGB", (columns * CELL, 2 * (CELL + LABEL_HEIGHT)), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    grid.paste(_cell(photo), (0, LABEL_HEIGHT))
    draw.text((4, 4), "original photo", fill=(0, 0, 0))
    draw.text((4, CELL + LABEL_HEIGHT + 4), "rows: truth / model", fill=(0, 0, 0))
    for i, vector in enumerate(personas, start=1):
        style = style_for(vector)
        draw.text((i * CELL + 4, 2), style.palette, fill=(0, 0, 0))
        draw.text((i * CELL + 4, 15), f"{style.motif}, {style.density}", fill=(80, 80, 80))
        grid.paste(_cell(truth[i - 1]), (i * CELL, LABEL_HEIGHT))
        grid.paste(_cell(generated[i - 1]), (i * CELL, CELL + 2 * LABEL_HEIGHT))
    return grid


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default=str(SHIPPED_WEIGHTS))
    parser.add_argument("--shape", default="folding_fan")
    parser.add_argument("--seed", type=int, default=2_000_123, help="a geometry from the test range")
    parser.add_argument("--output", default="docs/generator_grid.png")
    args = parser.parse_args(argv)
    grid = draw_grid(UPCDMPipeline.from_weights(args.weights), args.shape, args.seed)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
