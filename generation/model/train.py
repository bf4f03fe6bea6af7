"""Train a UPCDM variant to stage the persona's scene around a placed product matte. Runs without Django:

    python -m generation.model.train --variant groupnorm --steps 4000 --output checkpoints/groupnorm \
        --init-weights generation/weights

``--init-weights DIR`` starts from earlier weights of the same architecture (every tensor whose
shape matches, in the UNet and the control branch): the previous task's weights already know how
a persona maps to palette, motif and density, so the scene task converges in far fewer steps.

Trains the base UNet and the control branch jointly from the start: with a
90-minute CPU budget a separate unconditional stage would spend half of it on
a denoiser that cannot know the persona's style, and the zero convolutions still
make the branch start as an exact no-op on the base (eq. 14). The paper's
two-stage recipe is available: ``--base-weights DIR --freeze-base`` trains only
the branch on a locked, pre-trained base.

x0 ("sample") prediction, AdamW with warm-up and cosine decay, EMA weights,
bf16 autocast, periodic validation PSNR/SSIM (20 DPM-Solver++ steps on
held-out validation pairs), checkpoints every N steps and ``--resume``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from generation.model.dataset import PairSet, load_split
from generation.model.metrics import psnr, quantize, ssim
from generation.model.pipeline_upcdm import UPCDMPipeline, bf16_autocast_helps, sampling_scheduler, training_scheduler
from generation.model.unet_upcdm import UPCDMUNet
from generation.model.variants import VARIANTS, build_models

LOSS_WEIGHTINGS = ("uniform", "min-snr-5", "max-snr-1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``python -m generation.model.train`` and ``manage.py train_generator``."""
    parser.add_argument("--variant", default="groupnorm", choices=list(VARIANTS))
    parser.add_argument("--output", required=True, help="run directory: checkpoint.pt, weights/, train_log.json")
    parser.add_argument("--steps", type=int, default=4000, help="optimiser steps (also the LR schedule length)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--ema-decay", type=float, default=0.999)
    parser.add_argument("--prediction-type", default="sample", choices=["sample", "v_prediction", "epsilon"])
    parser.add_argument("--loss-weighting", default="uniform", choices=LOSS_WEIGHTINGS)
    parser.add_argument("--block-channels", default="32,64,128")
    parser.add_argument("--layers-per-block", type=int, default=1)
    parser.add_argument("--samples-per-pair", type=int, default=10, help="mattes per training persona")
    parser.add_argument("--cache-dir", default="checkpoints/data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--validate-every", type=int, default=500)
    parser.add_argument("--validation-size", type=int, default=32)
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this much training time")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="stop (and save) after this many steps, the learning rate still following --steps: "
                             "an ablation trained exactly as far along a longer run as one of its validations")
    parser.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint.pt")
    parser.add_argument("--init-weights", default=None,
                        help="initialise UNet and control branch from DIR/unet and DIR/controlnet (tensors of matching shape)")
    parser.add_argument("--snapshot-at", type=int, action="append", default=[],
                        help="also save the EMA weights at this step to OUTPUT/weights_step<N> (repeatable), "
                             "so an ablation can be compared at a matched step")
    parser.add_argument("--base-weights", default=None, help="initialise the UNet from DIR/unet (two-stage recipe)")
    parser.add_argument("--freeze-base", action="store_true", help="train only the control branch")
    parser.add_argument("--no-bf16", action="store_true")
    parser.add_argument("--style-pretrain-steps", type=int, default=3000,
                        help="steps that train a variant's style head alone before the diffusion steps")
    parser.add_argument("--style-personas", type=int, default=100_000,
                        help="labelled random personas the style head learns from (drawn once, seed --seed)")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser.parse_args(argv)


def batch_tensors(pairs: PairSet, indices: np.ndarray):
    """(x0 in [-1, 1], control in [0, 1], persona) float32 tensors."""
    targets = torch.from_numpy(pairs.targets[indices]).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    controls = torch.from_numpy(pairs.controls[indices].astype(np.float32))
    personas = torch.from_numpy(pairs.personas[indices].astype(np.float32))
    return targets, controls, personas


class EMA:
    """Exponential moving average of the parameters; buffers (BatchNorm statistics) are copied."""

    def __init__(self, models: list[torch.nn.Module], decay: float):
        self.decay = decay
        self.models = [copy.deepcopy(m).eval().requires_grad_(False) if m is not None else None for m in models]

    @torch.no_grad()
    def update(self, models, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        for ema_model, model in zip(self.models, models):
            if model is None:
                continue
            for ema_p, p in zip(ema_model.parameters(), model.parameters()):
                ema_p.lerp_(p.detach(), 1 - decay)
            for ema_b, b in zip(ema_model.buffers(), model.buffers()):
                ema_b.copy_(b)


def learning_rate(step: int, args) -> float:
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = min(1.0, (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps))
    return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def loss_weights(scheduler, timesteps: torch.Tensor, weighting: str) -> torch.Tensor:
    alphas = scheduler.alphas_cumprod[timesteps]
    snr = alphas / (1 - alphas)
    if weighting == "min-snr-5":
        return snr.clamp(max=5.0)
    if weighting == "max-snr-1":
        return snr.clamp(min=1.0)
    return torch.ones_like(snr)


def training_loss(pipe, scheduler, batch, args, generator, use_bf16: bool) -> torch.Tensor:
    x0, controls, personas = batch
    noise = torch.randn(x0.shape, generator=generator)
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (x0.shape[0],), generator=generator)
    noisy = scheduler.add_noise(x0, noise, timesteps)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
        prediction = pipe.predict(noisy, timesteps, controls * 2 - 1, personas).float()
    if args.prediction_type == "sample":
        target = x0
    elif args.prediction_type == "v_prediction":
        target = scheduler.get_velocity(x0, noise, timesteps)
    else:
        target = noise
    per_example = ((prediction - target) ** 2).mean(dim=(1, 2, 3))
    weights = loss_weights(scheduler, timesteps, args.loss_weighting)
    return (per_example * weights).sum() / weights.sum()


def labelled_personas(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random personas (count, 13) and their scene style as indices (count, 5), by the renderer's rule."""
    from generation.model.condition import random_persona_vector
    from generation.rendering.scenes import scene_style_indices

    rng = np.random.default_rng(seed)
    personas = np.stack([random_persona_vector(rng) for _ in range(count)])
    labels = torch.tensor([scene_style_indices(vector) for vector in personas])
    return torch.from_numpy(personas.astype(np.float32)), labels


class StyleHeadTrainer:
    """Trains a control branch's style head on random personas labelled by the renderer's style rule.

    Its own optimiser and loss: the head's decision enters the model detached, so this
    cross-entropy is the only thing that moves the head, and the diffusion loss never does."""

    BATCH = 256

    def __init__(self, controlnet, count: int, seed: int, lr: float = 1e-3):
        self.controlnet = controlnet
        self.personas, self.labels = labelled_personas(count, seed + 99_991)  # not the dataset's persona seeds
        self.rng = np.random.default_rng(seed)
        self.optimizer = torch.optim.Adam(controlnet.style_classifier.parameters(), lr=lr)

    def loss(self, indices) -> torch.Tensor:
        logits = self.controlnet.style_logits(self.personas[indices])
        return sum(F.cross_entropy(choice.float(), self.labels[indices, i]) for i, choice in enumerate(logits))

    def step(self) -> float:
        loss = self.loss(self.rng.integers(0, len(self.personas), size=self.BATCH))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def pretrain(self, steps: int) -> None:
        for _ in tqdm(range(steps), desc="style head"):
            self.step()
        tqdm.write(f"style head accuracy on held-out personas: {self.accuracy():.3f} (all five choices right)")

    @torch.no_grad()
    def accuracy(self, count: int = 5000) -> float:
        personas, labels = labelled_personas(count, 123_457)
        logits = self.controlnet.style_logits(personas)
        predicted = torch.stack([choice.argmax(dim=1) for choice in logits], dim=1)
        return float((predicted == labels).all(dim=1).float().mean())


@torch.no_grad()
def evaluate_pairs(pipe: UPCDMPipeline, pairs: PairSet, steps: int = 20, batch_size: int = 16, seed: int = 1234, progress: bool = False):
    """Sample every pair with a fixed generator; return per-image PSNR and SSIM arrays and the images."""
    generator = torch.Generator().manual_seed(seed)
    psnrs, ssims, images = [], [], []
    starts = range(0, len(pairs), batch_size)
    for start in tqdm(starts, desc="evaluate", disable=not progress):
        indices = np.arange(start, min(start + batch_size, len(pairs)))
        targets, controls, personas = batch_tensors(pairs, indices)
        generated = quantize(pipe.denoise(controls, personas, steps, generator))
        truth = (targets + 1) / 2
        psnrs.append(psnr(generated, truth))
        ssims.append(ssim(generated, truth))
        images.append(generated)
    return torch.cat(psnrs).numpy(), torch.cat(ssims).numpy(), torch.cat(images)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def stop_reason(step: int, elapsed_seconds: float, args) -> str | None:
    """Why training stops before ``args.steps`` (None: it goes on)."""
    if args.max_minutes is not None and elapsed_seconds >= args.max_minutes * 60:
        return f"time budget of {args.max_minutes} minutes reached at step {step}"
    if args.stop_after is not None and step >= args.stop_after:
        return f"stopped after step {step} of a {args.steps}-step schedule (--stop-after)"
    return None


def precision_name(use_bf16: bool) -> str:
    return "bf16 autocast" if use_bf16 else "fp32"


def describe_machine() -> str:
    """The CPU the run trained on, for the model card (speeds differ several-fold between our machines)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"a {os.cpu_count()}-core CPU"
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    amx = "with AMX" if "amx_bf16" in cpuinfo else "without AMX"
    return f"{names[0] if names else 'a CPU'}, {os.cpu_count()} cores, {amx}"


def _models(args):
    unet, controlnet = build_models(
        args.variant,
        block_channels=[int(c) for c in args.block_channels.split(",")],
        layers_per_block=args.layers_per_block,
    )
    if args.init_weights:
        _initialise_from(Path(args.init_weights), unet, controlnet)
    if args.base_weights:
        base = UPCDMUNet.from_pretrained(Path(args.base_weights) / "unet")
        unet.load_state_dict(base.state_dict())
        if controlnet is not None:
            controlnet.encoder.load_state_dict(unet.encoder.state_dict())
            controlnet.time_embedding.load_state_dict(unet.time_embedding.state_dict())
    if args.freeze_base:
        if controlnet is None:
            raise ValueError("--freeze-base needs a variant with a control branch")
        unet.requires_grad_(False)
    return unet, controlnet


def load_matching(model: torch.nn.Module, source: torch.nn.Module) -> tuple[int, int]:
    """Copy every tensor of ``source`` whose name and shape match into ``model``; (copied, total) counts."""
    own = model.state_dict()
    matching = {k: v for k, v in source.state_dict().items() if k in own and own[k].shape == v.shape}
    own.update(matching)
    model.load_state_dict(own)
    return len(matching), len(own)


def _initialise_from(directory: Path, unet, controlnet) -> None:
    from generation.model.controlnet_upcdm import UPCDMControlNet

    copied = load_matching(unet, UPCDMUNet.from_pretrained(directory / "unet"))
    print(f"initialised the UNet from {directory / 'unet'}: {copied[0]} of {copied[1]} tensors")
    if controlnet is not None and (directory / "controlnet").is_dir():
        copied = load_matching(controlnet, UPCDMControlNet.from_pretrained(directory / "controlnet"))
        print(f"initialised the control branch from {directory / 'controlnet'}: {copied[0]} of {copied[1]} tensors")


def _trainable(unet, controlnet):
    """What the diffusion loss trains: everything but a style head (``StyleHeadTrainer`` trains that)."""
    models = [m for m in (unet, controlnet) if m is not None]
    head = set()
    if controlnet is not None and getattr(controlnet, "style_classifier", None) is not None:
        head = {id(p) for p in controlnet.style_classifier.parameters()}
    return [p for m in models for p in m.parameters() if p.requires_grad and id(p) not in head]


def _save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def validation_pipeline(ema: EMA, scheduler) -> UPCDMPipeline:
    unet, controlnet = ema.models
    return UPCDMPipeline(unet=unet, scheduler=sampling_scheduler("dpmsolver++", scheduler), controlnet=controlnet)


def train(args) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    train_pairs = load_split("train", args.samples_per_pair, args.cache_dir)
    validation = load_split("validation", 1, args.cache_dir).subset(np.arange(args.validation_size))
    unet, controlnet = _models(args)
    scheduler = training_scheduler(prediction_type=args.prediction_type)
    pipe = UPCDMPipeline(unet=unet, scheduler=scheduler, controlnet=controlnet)
    use_bf16 = bf16_autocast_helps() and not args.no_bf16
    optimizer = torch.optim.AdamW(_trainable(unet, controlnet), lr=args.lr, weight_decay=1e-4)
    for model in (unet, controlnet):
        if model is not None:
            model.to(memory_format=torch.channels_last)
    ema = EMA([unet, controlnet], args.ema_decay)
    rng = np.random.default_rng(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    step, elapsed, history = 0, 0.0, []

    checkpoint_path = output / "checkpoint.pt"
    if args.resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False)
        unet.load_state_dict(state["unet"])
        if controlnet is not None:
            controlnet.load_state_dict(state["controlnet"])
        for ema_model, ema_state in zip(ema.models, state["ema"]):
            if ema_model is not None:
                ema_model.load_state_dict(ema_state)
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed, history = state["step"], state["elapsed"], state["history"]
        rng.bit_generator.state = state["numpy_rng"]
        generator.set_state(state["torch_rng"])
        print(f"resumed from step {step}")

    style_head = None
    if controlnet is not None and getattr(controlnet, "style_classifier", None) is not None:
        style_head = StyleHeadTrainer(controlnet, args.style_personas, args.seed)
        if step == 0:
            style_head.pretrain(args.style_pretrain_steps)

    def checkpoint():
        _save_checkpoint(checkpoint_path, {
            "unet": unet.state_dict(),
            "controlnet": controlnet.state_dict() if controlnet is not None else None,
            "ema": [m.state_dict() if m is not None else None for m in ema.models],
            "optimizer": optimizer.state_dict(),
            "step": step, "elapsed": elapsed, "history": history, "args": vars(args),
            "numpy_rng": rng.bit_generator.state, "torch_rng": generator.get_state(),
        })

    def validate():
        pipe_eval = validation_pipeline(ema, scheduler)
        psnrs, ssims, _ = evaluate_pairs(pipe_eval, validation)
        record = {"step": step, "minutes": round(elapsed / 60, 2), "val_psnr": float(psnrs.mean()), "val_ssim": float(ssims.mean())}
        history.append(record)
        tqdm.write(json.dumps(record))

    for model in (unet, controlnet):
        if model is not None:
            model.to(memory_format=torch.channels_last).train()
    bar = tqdm(total=args.steps, initial=step, desc=f"train {args.variant}")
    losses = []
    while step < args.steps:
        reason = stop_reason(step, elapsed, args)
        if reason:
            tqdm.write(reason)
            break
        started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args)
        indices = rng.integers(0, len(train_pairs), size=args.batch_size)
        loss = training_loss(pipe, scheduler, batch_tensors(train_pairs, indices), args, generator, use_bf16)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(_trainable(unet, controlnet), 1.0)
        optimizer.step()
        if style_head is not None:
            style_head.step()
        ema.update([unet, controlnet], step)
        step += 1
        elapsed += time.perf_counter() - started
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", lr=f"{learning_rate(step, args):.1e}")
        if step % args.validate_every == 0:
            validate()
        if step in args.snapshot_at:
            validation_pipeline(ema, scheduler).save_weights(output / f"weights_step{step}")
            scheduler.save_pretrained(output / f"weights_step{step}" / "scheduler")
        if step % args.checkpoint_every == 0:
            checkpoint()
    bar.close()
    if not history or history[-1]["step"] != step:
        validate()
    checkpoint()
    validation_pipeline(ema, scheduler).save_weights(output / "weights")
    log = {
        "variant": args.variant, "steps": step, "train_minutes": round(elapsed / 60, 2),
        "final_loss": float(np.mean(losses[-50:])) if losses else None,
        "history": history, "args": vars(args), "commit": git_commit(), "machine": describe_machine(),
        "precision": precision_name(use_bf16),
        "style_head_accuracy": style_head.accuracy() if style_head is not None else None,
    }
    (output / "train_log.json").write_text(json.dumps(log, indent=2))
    # the training scheduler (not the sampler) is what the weights were trained with
    scheduler.save_pretrained(output / "weights" / "scheduler")
    return log


def main(argv=None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()
