"""Evaluate staging weights on the held-out (matte, persona) test pairs against seed 000's Tables 1 and 2.

    python -m generation.model.evaluate                      # shipped weights + any ablation runs found
    python -m generation.model.evaluate --model "M3=checkpoints/ablation_m3/weights" --json out.json

PSNR and SSIM of the model's 64x64 scene against the renderer's scene (``render_scene``) are always
measured (20 DPM-Solver++ steps, 8-bit images). LPIPS and FID need pretrained backbones (AlexNet/VGG, Inception) that
are not on this machine and cannot be downloaded here, so those columns say
"n/a" rather than disappearing.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

from generation.model.dataset import load_split
from generation.model.palette_reader import palette_reader
from generation.model.pipeline_upcdm import UPCDMPipeline
from generation.model.train import evaluate_pairs
from generation.rendering.scenes import scene_style_for

SHIPPED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
PAPER_TABLE_1 = [  # method, PSNR, SSIM, LPIPS, FID (seed 000, Table 1)
    ("SAMGAN", 16.19, 0.814, 0.262, 5.09),
    ("CTRANS", 19.02, 0.842, 0.239, 4.85),
    ("CNNDIF", 20.97, 0.851, 0.218, 4.43),
    ("BCDIF", 22.05, 0.885, 0.174, 4.25),
    ("SADIF", 26.41, 0.908, 0.151, 3.91),
    ("UPCDM", 28.39, 0.942, 0.127, 3.58),
]
PAPER_TABLE_2 = [  # seed 000, Table 2
    ("UPCDM/M1", 26.59, 0.920, 0.151, 3.92),
    ("UPCDM/M2", 24.31, 0.893, 0.176, 4.16),
    ("UPCDM/M3", 21.07, 0.845, 0.236, 4.41),
    ("UPCDM", 28.39, 0.942, 0.127, 3.58),
]
ABLATION_RUNS = [  # label, run directory under checkpoints/
    ("UPCDM (paper: BatchNorm, CBAM)", "ablation_upcdm"),
    ("UPCDM with GroupNorm", "ablation_groupnorm"),
    ("UPCDM/M1 (plain ResBlock)", "ablation_m1"),
    ("UPCDM/M2 (no CBAM)", "ablation_m2"),
    ("UPCDM/M3 (no profile control)", "ablation_m3"),
    ("GroupNorm UPCDM/M2 (no CBAM)", "ablation_m2_groupnorm"),
    ("GroupNorm UPCDM/M3 (no profile)", "ablation_m3_groupnorm"),
    ("Baseline UNet2DModel (concat)", "ablation_baseline"),
]
LPIPS_FID_BACKBONES = ("alexnet-owt-7be5be79.pth", "vgg16-397923af.pth", "pt_inception-2015-12-05-6726825d.pth")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], metavar="LABEL=DIR", help="weights to evaluate (repeatable)")
    parser.add_argument("--checkpoints", default="checkpoints", help="where ablation runs are looked for by default")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N test pairs")
    parser.add_argument("--cache-dir", default="checkpoints/data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the measured rows to this file")
    parser.add_argument("--include-json", action="append", default=[], metavar="PATH",
                        help="also print rows measured earlier by --json (not re-measured)")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser.parse_args(argv)


def backbones_available() -> bool:
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    return all((torch_home / name).is_file() for name in LPIPS_FID_BACKBONES)


def models_to_evaluate(args) -> list[tuple[str, Path]]:
    if args.model:
        pairs = [spec.split("=", 1) for spec in args.model]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("--model takes LABEL=DIR")
        return [(label, Path(directory)) for label, directory in pairs]
    found = [("Shipped model (generation/weights)", SHIPPED_WEIGHTS)] if SHIPPED_WEIGHTS.is_dir() else []
    for label, run in ABLATION_RUNS:
        weights = Path(args.checkpoints) / run / "weights"
        if weights.is_dir():
            found.append((label, weights))
    return found


def training_budget(weights: Path) -> str:
    log = weights.parent / "train_log.json"
    if not log.is_file():
        card = weights / "training.json"
        log = card if card.is_file() else None
    if log is None:
        return "?"
    data = json.loads(log.read_text())
    return f"{data['steps']} steps x {data['args']['batch_size']}, {data['train_minutes']:.0f} min"


def evaluate_models(args) -> list[dict]:
    torch.set_num_threads(args.threads)
    test = load_split("test", 2, args.cache_dir)
    if args.limit:
        test = test.subset(np.arange(min(args.limit, len(test))))
    rows = []
    for label, directory in models_to_evaluate(args):
        pipe = UPCDMPipeline.from_weights(directory)
        psnrs, ssims, images = evaluate_pairs(pipe, test, steps=args.steps, progress=True)
        rows.append({
            "method": label, "weights": str(directory), "budget": training_budget(directory),
            "psnr": float(psnrs.mean()), "ssim": float(ssims.mean()), "pairs": len(test),
            "palette_right": palette_right_share(images, test.personas),
        })
    return rows


def palette_right_share(images: torch.Tensor, personas: np.ndarray) -> float:
    """Share of scenes (B, 3, H, W) in [0, 1] that show their persona's palette, read by `palette_reader`."""
    read = palette_reader()
    drawn = [read(image) for image in images.permute(0, 2, 3, 1).numpy()]
    return float(np.mean([palette == scene_style_for(vector).palette for palette, vector in zip(drawn, personas)]))


def _fmt(value, digits):
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_tables(rows: list[dict], lpips_fid_note: str) -> str:
    lines = ["Seed 000, Table 1 (paper, CultureCreative-10K, 512x512) and Table 2 (ablations):", ""]
    header = f"{'method':<34} {'PSNR':>7} {'SSIM':>7} {'LPIPS':>7} {'FID':>6}"
    lines += [header, "-" * len(header)]
    for name, *values in PAPER_TABLE_1 + PAPER_TABLE_2[:3]:
        lines.append(f"{'paper ' + name:<34} {values[0]:>7.2f} {values[1]:>7.3f} {values[2]:>7.3f} {values[3]:>6.2f}")
    lines += ["", f"Ours, scene task, held-out (matte, persona) test pairs ({rows[0]['pairs'] if rows else 0} scenes, "
              "64x64, 20 DPM-Solver++ steps):", ""]
    header = f"{'method':<34} {'PSNR':>7} {'SSIM':>7} {'LPIPS':>7} {'FID':>6} {'palette':>8}  training budget"
    lines += [header, "-" * len(header)]
    for row in rows:
        palette = row.get("palette_right")
        palette = "n/a" if palette is None else f"{palette:.1%}"
        lines.append(f"{row['method']:<34} {row['psnr']:>7.2f} {row['ssim']:>7.3f} {'n/a':>7} {'n/a':>6} {palette:>8}  "
                     f"{row['budget']}")
    lines += ["", f"LPIPS/FID: {lpips_fid_note}",
              "palette: share of scenes showing their persona's palette (generation.model.palette_reader).",
              "Targets: PSNR >= 28.39, SSIM >= 0.942; M3 >= 3 dB below the full model."]
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    args = parse_args(argv) if not isinstance(argv, argparse.Namespace) else argv
    rows = evaluate_models(args)
    for path in args.include_json:
        rows += json.loads(Path(path).read_text())["rows"]
    if backbones_available():
        note = "backbone weights exist locally, but no LPIPS/FID package is installed in this project; not measured."
    else:
        note = "n/a: their pretrained backbones (AlexNet/VGG for LPIPS, Inception for FID) are not on this machine."
    print(format_tables(rows, note))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "lpips_fid": note}, indent=2))
    return rows


if __name__ == "__main__":
    main()
