"""Copy a training run's EMA weights into ``generation/weights`` and write its model card.

    python -m generation.model.release --run checkpoints/main_groupnorm \
        --evaluation /tmp/eval.json --speed /tmp/speed.json

Writes ``training.json`` (the run's log plus the PSNR on a fixed 16-pair slice of
the test split, which the slow test re-measures) and ``MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from generation.model.dataset import load_split
from generation.model.evaluate import SHIPPED_WEIGHTS, format_tables
from generation.model.pipeline_upcdm import UPCDMPipeline, bf16_autocast_helps
from generation.model.train import describe_machine, evaluate_pairs, precision_name

TEST_SLICE = 16


def test_slice_psnr(weights: Path, cache_dir: str) -> float:
    """PSNR on the first TEST_SLICE test pairs, which the slow test re-measures."""
    test = load_split("test", 2, cache_dir).subset(np.arange(TEST_SLICE))
    psnrs, _, _ = evaluate_pairs(UPCDMPipeline.from_weights(weights), test)
    return float(psnrs.mean())


def copy_weights(run: Path, output: Path) -> None:
    for part in ("unet", "controlnet", "scheduler"):
        source = run / "weights" / part
        if output.joinpath(part).exists():
            shutil.rmtree(output / part)
        if source.exists():
            shutil.copytree(source, output / part)


def training_command(args: dict) -> str:
    skip = {"resume", "base_weights", "freeze_base", "no_bf16", "cache_dir"}
    parts = ["python -m generation.model.train"]
    for key, value in args.items():
        if key in skip or value is None or value == []:
            continue
        for item in value if isinstance(value, list) else [value]:
            parts.append(f"--{key.replace('_', '-')} {item}")
    return " \\\n    ".join(parts)


def model_card(log: dict, evaluation: dict | None, speed: dict | None, slice_psnr: float) -> str:
    history = "\n".join(
        f"| {h['step']} | {h['minutes']:.1f} | {h['val_psnr']:.2f} | {h['val_ssim']:.3f} |" for h in log["history"]
    )
    lines = [
        "# UPCDM scene stager: shipped weights",
        "",
        f"Variant `{log['variant']}` (see `generation/model/variants.py`): UPCDMUNet + UPCDMControlNet, "
        "pixel space 64x64, x0 prediction, cosine noise schedule (1000 steps), sampled with 20 DPM-Solver++ steps.",
        "Task: draw the persona's scene (backdrop, plinth or table or arch niche, motif, palette, light) around a "
        "placed product. Inputs: the control image `control_from_matte(matte)` (the placed matte and its edges) and "
        "the 13-value persona vector (`generation/model/condition.py`); `UPCDMPipeline.stage(mattes, personas)`. "
        "The product's pixels never go through the model. Data: `generation/rendering/scenes.py`, splits in "
        "`generation/model/dataset.py` (test personas and test mattes never seen in training).",
        "",
        "## Resolution of each stage",
        "",
        "| stage | works at | what it does |",
        "|---|---|---|",
        "| layout + placed matte | 64 px (the model's size) | `generation.imaging.layout.placed_matte` |",
        "| this model (`stage`) | **64 px** scene | the persona's backdrop, set, motif, palette and light around the matte |",
        "| x4 upscaler (`generation/upscaling`) | 64 -> 256 px | sharpens the scene's edges and motif |",
        "| depth-of-field blur + resize (`generation.imaging.composite`) | 256 -> >= 1024 px | the backdrop behind a product is out of focus; the blur keeps it honest |",
        "| composite | full size (>= 1024 px) | the product's own pixels pasted over the scene, contact shadow, light match |",
        "",
        "## How it was made",
        "",
        "```",
        training_command(log["args"]),
        "```",
        "",
        f"- seed {log['args']['seed']}, commit `{log['commit']}` (the code at that commit; weights committed after it)",
        f"- {log['steps']} optimiser steps of batch {log['args']['batch_size']}, {log['train_minutes']:.1f} min of training "
        f"time on {log['machine']}, {log['precision']}, "
        f"{log['args']['threads']} thread(s).",
        f"- PSNR on the fixed {TEST_SLICE}-pair test slice (checked by the slow test, +-1 dB): **{slice_psnr:.2f} dB**",
        *([f"- style head: all five scene-style choices right for {log['style_head_accuracy']:.1%} of 5,000 "
           "held-out random personas"] if log.get("style_head_accuracy") is not None else []),
        "",
        "Validation during training (32 validation pairs, EMA weights):",
        "",
        "| step | minutes | PSNR | SSIM |",
        "|---:|---:|---:|---:|",
        history,
    ]
    if evaluation:
        lines += ["", "## Evaluation (`python -m generation.model.evaluate`)", "", "```", format_tables(evaluation["rows"], evaluation["lpips_fid"]), "```"]
    if speed:
        lines += ["", "## Speed (`python benchmarks/generator_speed.py`)", "", "| sampler | steps | batch | seconds | images/s | PSNR | SSIM |", "|---|---:|---:|---:|---:|---:|---:|"]
        for row in speed["rows"]:
            lines.append(f"| {row['sampler']} | {row['steps']} | {row['batch']} | {row['seconds']:.2f} | {row['images_per_second']:.2f} | {row['psnr']:.2f} | {row['ssim']:.3f} |")
        lines += ["", f"Speed-up {speed['speedup']:.1f}x, PSNR difference {speed['psnr_difference_db']:+.2f} dB, {speed['threads']} thread(s)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True)
    parser.add_argument("--output", default=str(SHIPPED_WEIGHTS))
    parser.add_argument("--evaluation", default=None)
    parser.add_argument("--speed", default=None)
    parser.add_argument("--cache-dir", default="checkpoints/data")
    parser.add_argument("--notes", default=None, help="a markdown file appended to the card")
    args = parser.parse_args(argv)
    run, output = Path(args.run), Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    copy_weights(run, output)
    log = json.loads((run / "train_log.json").read_text())
    # runs logged before the machine and precision were recorded: released on the machine that trained them
    log.setdefault("machine", describe_machine())
    log.setdefault("precision", precision_name(bf16_autocast_helps() and not log["args"].get("no_bf16")))
    log["test_slice_psnr"] = test_slice_psnr(output, args.cache_dir)
    log["test_slice_pairs"] = TEST_SLICE
    (output / "training.json").write_text(json.dumps(log, indent=2))
    evaluation = json.loads(Path(args.evaluation).read_text()) if args.evaluation else None
    speed = json.loads(Path(args.speed).read_text()) if args.speed else None
    card = model_card(log, evaluation, speed, log["test_slice_psnr"])
    if args.notes:
        card += "\n" + Path(args.notes).read_text()
    (output / "MODEL_CARD.md").write_text(card)
    print(f"released {run} -> {output} (test-slice PSNR {log['test_slice_psnr']:.2f} dB)")


if __name__ == "__main__":
    main()
