"""x4 upscaler against bicubic and Lanczos on held-out renders, one run.

    python benchmarks/upscaler.py [--weights generation/weights/upscaler] [--count 60] [--json out.json]

Inputs are the renderer's 64x64 pictures of the test split's (shape, persona,
seed) triples (render seeds never used in training); the truth is the same
triple rendered at 256x256. Every method returns 8-bit images; PSNR and SSIM
(Gaussian window 11/1.5, generation.model.metrics) are averaged over images.
ms/image: ours in batches of 16 after a warm-up, PIL resizes one image at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.model.metrics import psnr, ssim  # noqa: E402
from generation.upscaling.data import HIGH_SIZE, load_split  # noqa: E402
from generation.upscaling.inference import DEFAULT_WEIGHTS_DIR, images_to_tensor, load_upscaler, upscale_with  # noqa: E402

Upscaler = Callable[[list[Image.Image]], list[Image.Image]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    parser.add_argument("--count", type=int, default=60, help="test renders")
    parser.add_argument("--cache-dir", default="var/upscaler_cache")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    parser.add_argument("--json", default=None)
    return parser.parse_args()


def pil_resize(resample: Image.Resampling) -> Upscaler:
    def resize(images: list[Image.Image]) -> list[Image.Image]:
        return [image.resize((HIGH_SIZE, HIGH_SIZE), resample) for image in images]

    return resize


def timed(method: Upscaler, images: list[Image.Image]) -> tuple[list[Image.Image], float]:
    method(images[:2])  # warm-up: first-call allocations are not per-image cost
    started = time.perf_counter()
    outputs = method(images)
    return outputs, 1000 * (time.perf_counter() - started) / len(images)


def score(outputs: list[Image.Image], truth: torch.Tensor) -> tuple[float, float]:
    prediction = images_to_tensor(outputs)
    return float(psnr(prediction, truth).mean()), float(ssim(prediction, truth).mean())


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    pairs = load_split("test", args.count, args.cache_dir)
    inputs = [Image.fromarray(image) for image in pairs.low]
    truth = images_to_tensor([Image.fromarray(image) for image in pairs.high])
    model = load_upscaler(args.weights)
    methods: dict[str, Upscaler] = {
        "ESRGAN-lite (ours)": lambda images: upscale_with(model, images),
        "bicubic (PIL)": pil_resize(Image.Resampling.BICUBIC),
        "Lanczos (PIL)": pil_resize(Image.Resampling.LANCZOS),
    }
    rows = {}
    for name, method in methods.items():
        outputs, ms_per_image = timed(method, inputs)
        mean_psnr, mean_ssim = score(outputs, truth)
        rows[name] = {"psnr": round(mean_psnr, 3), "ssim": round(mean_ssim, 4), "ms_per_image": round(ms_per_image, 2)}
    bicubic_psnr = rows["bicubic (PIL)"]["psnr"]
    for row in rows.values():
        row["gain_over_bicubic_db"] = round(row["psnr"] - bicubic_psnr, 3)
    return {"images": len(inputs), "size": "64 -> 256", "threads": args.threads, "weights": str(args.weights), "methods": rows}


def print_table(result: dict) -> None:
    print(f"x4 upscaling, {result['images']} held-out test renders ({result['size']}), {result['threads']} threads")
    print(f"{'method':<20} {'PSNR dB':>8} {'SSIM':>7} {'vs bicubic':>11} {'ms/image':>9}")
    for name, row in result["methods"].items():
        print(f"{name:<20} {row['psnr']:>8.2f} {row['ssim']:>7.4f} {row['gain_over_bicubic_db']:>+10.2f}  {row['ms_per_image']:>9.2f}")


def main() -> None:
    args = parse_args()
    result = run(args)
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
