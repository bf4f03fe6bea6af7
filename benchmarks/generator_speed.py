"""Generator speed: 20 DPM-Solver++ steps against 1000 DDPM steps, same model, same images, one run.

    python benchmarks/generator_speed.py [--weights generation/weights] [--json out.json]

One held-out test matte staged for 6 personas (one batch, as a job stages one product for a
shop's personas) at 64x64. DPM-Solver++ is timed over ``--repeats`` runs after a warm-up
(median); DDPM over one run. PSNR/SSIM are against the renderer's scenes for those 6
(matte, persona) pairs (test personas, a test matte).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.model.dataset import load_split, persona_bank, split_pairs  # noqa: E402
from generation.model.metrics import psnr, quantize, ssim  # noqa: E402
from generation.model.pipeline_upcdm import UPCDMPipeline  # noqa: E402

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "generation" / "weights"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--batch", type=int, default=6)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--ddpm-steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    parser.add_argument("--cache-dir", default="checkpoints/data")
    parser.add_argument("--json", default=None)
    return parser.parse_args()


def one_product_many_personas(batch: int, cache_dir: str):
    """The first test matte, staged for ``batch`` personas of the bank (truth rendered fresh)."""
    from generation.model.control import control_from_matte
    from generation.rendering.scenes import render_scene

    test = load_split("test", 2, cache_dir)
    matte, kind, seed = test.mattes[0], str(test.kinds[0]), int(test.seeds[0])
    test_personas = [p for _, p in split_pairs()["test"]]
    personas = persona_bank()[test_personas[:batch]]
    control = torch.from_numpy(control_from_matte(matte))[None].expand(batch, -1, -1, -1)
    truth = torch.from_numpy(np.stack([render_scene(matte, p, seed) for p in personas])).permute(0, 3, 1, 2)
    return kind, seed, control, torch.from_numpy(personas), quantize(truth)


def run(pipe, control, personas, steps, seed=0):
    started = time.perf_counter()
    images = pipe.denoise(control, personas, steps, torch.Generator().manual_seed(seed))
    return time.perf_counter() - started, quantize(images)


def measure(sampler, steps, args, inputs, repeats):
    pipe = UPCDMPipeline.from_weights(args.weights, sampler=sampler)
    _, _, control, personas, truth = inputs
    if repeats > 1:
        run(pipe, control, personas, steps)  # warm-up
    timings, images = [], None
    for _ in range(repeats):
        seconds, images = run(pipe, control, personas, steps)
        timings.append(seconds)
    seconds = statistics.median(timings)
    return {
        "sampler": sampler, "steps": steps, "batch": len(control), "seconds": seconds,
        "images_per_second": len(control) / seconds,
        "psnr": float(psnr(images, truth).mean()), "ssim": float(ssim(images, truth).mean()),
    }


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    inputs = one_product_many_personas(args.batch, args.cache_dir)
    ours = measure("dpmsolver++", args.steps, args, inputs, args.repeats)
    baseline = measure("ddpm", args.ddpm_steps, args, inputs, 1)
    result = {
        "matte": {"kind": inputs[0], "seed": inputs[1]}, "threads": args.threads,
        "rows": [ours, baseline],
        "speedup": baseline["seconds"] / ours["seconds"],
        "psnr_difference_db": ours["psnr"] - baseline["psnr"],
        "torch": torch.__version__, "bf16_autocast": UPCDMPipeline.from_weights(args.weights).use_bf16,
    }
    print(f"Stager speed, 64x64 scenes, batch {args.batch}, {args.threads} thread(s), test matte {inputs[0]} seed {inputs[1]}")
    print(f"{'sampler':<22} {'steps':>5} {'seconds':>8} {'scenes/s':>9} {'PSNR':>7} {'SSIM':>6}")
    for row in result["rows"]:
        name = "ours: DPM-Solver++" if row["sampler"] == "dpmsolver++" else "baseline: DDPM"
        print(f"{name:<22} {row['steps']:>5} {row['seconds']:>8.2f} {row['images_per_second']:>9.2f} {row['psnr']:>7.2f} {row['ssim']:>6.3f}")
    print(f"speed-up {result['speedup']:.1f}x, PSNR difference {result['psnr_difference_db']:+.2f} dB (ours - DDPM)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
