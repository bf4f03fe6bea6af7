"""Subject fine-tuning: DreamBooth with prior preservation (seed 001 phase 2), for a GPU worker.

Instance images of one product are paired with their captions carrying the unique token
("a fan sks with cloud scrolls"); class images of the same product class, paired with the
plain class prompt ("a fan"), keep the prior through the prior-preservation loss.
The UNet is trained for every step, the text encoder only for the first `text_encoder_steps`
(seed 001: ~1500 UNet steps at 2e-6, 200 text-encoder steps at 1e-6).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from generation.backends.sd_controlnet import caption_with_token

REQUIRED_SUBFOLDERS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


@dataclass(frozen=True)
class DreamBoothSettings:
    product_class: str
    product_token: str = "sks"
    max_steps: int = 1500
    text_encoder_steps: int = 200
    unet_learning_rate: float = 2e-6
    text_encoder_learning_rate: float = 1e-6
    prior_loss_weight: float = 1.0
    resolution: int = 512
    batch_size: int = 1
    seed: int = 0


@dataclass
class DreamBoothResult:
    output_dir: Path
    losses: list[float] = field(default_factory=list)


@dataclass
class _Components:
    unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoder: torch.nn.Module
    tokenizer: object
    noise_scheduler: object


def _load_components(model_dir: Path) -> _Components:
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    missing = [name for name in REQUIRED_SUBFOLDERS if not (model_dir / name).is_dir()]
    if missing:
        raise ValueError(f"{model_dir} lacks {', '.join(missing)}; expected a Stable Diffusion directory saved "
                         f"with save_pretrained (folders {', '.join(REQUIRED_SUBFOLDERS)})")
    return _Components(
        unet=UNet2DConditionModel.from_pretrained(model_dir / "unet", local_files_only=True),
        vae=AutoencoderKL.from_pretrained(model_dir / "vae", local_files_only=True),
        text_encoder=CLIPTextModel.from_pretrained(model_dir / "text_encoder", local_files_only=True),
        tokenizer=CLIPTokenizer.from_pretrained(model_dir / "tokenizer", local_files_only=True),
        noise_scheduler=DDPMScheduler.from_pretrained(model_dir / "scheduler", local_files_only=True),
    )


def instance_prompts(captions: list[str] | None, count: int, settings: DreamBoothSettings) -> list[str]:
    if captions is None:
        captions = [""] * count
    if len(captions) != count:
        raise ValueError(f"{len(captions)} instance captions for {count} instance images")
    return [caption_with_token(caption, settings.product_class, settings.product_token) for caption in captions]


def _pixels(images: list[Image.Image], resolution: int) -> torch.Tensor:
    arrays = [np.asarray(image.convert("RGB").resize((resolution, resolution), Image.BICUBIC), dtype=np.float32)
              for image in images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 127.5 - 1.0


def _token_ids(tokenizer, prompts: list[str]) -> torch.Tensor:
    return tokenizer(prompts, padding="max_length", truncation=True, max_length=tokenizer.model_max_length,
                     return_tensors="pt").input_ids


def _diffusion_loss(parts: _Components, pixels: torch.Tensor, token_ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per-sample MSE of the UNet's prediction (epsilon or v, as the scheduler says)."""
    with torch.no_grad():
        latents = parts.vae.encode(pixels).latent_dist.sample(generator) * parts.vae.config.scaling_factor
    noise = torch.randn(latents.shape, generator=generator)
    steps = torch.randint(0, parts.noise_scheduler.config.num_train_timesteps, (latents.shape[0],), generator=generator)
    noisy = parts.noise_scheduler.add_noise(latents, noise, steps)
    prediction = parts.unet(noisy, steps, parts.text_encoder(token_ids)[0]).sample
    if parts.noise_scheduler.config.prediction_type == "v_prediction":
        target = parts.noise_scheduler.get_velocity(latents, noise, steps)
    else:
        target = noise
    return F.mse_loss(prediction.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))


def _check_inputs(instance_images: list[Image.Image], class_images: list[Image.Image], settings: DreamBoothSettings) -> None:
    if not instance_images:
        raise ValueError("DreamBooth needs at least one instance image of the product")
    if not class_images:
        raise ValueError("prior preservation needs class images of the product class (e.g. drawn by the base model)")
    if settings.max_steps < 1 or settings.resolution % 8:
        raise ValueError("max_steps must be ≥ 1 and resolution a multiple of 8")


def finetune_subject(
    *,
    model_dir: str | Path,
    output_dir: str | Path,
    instance_images: list[Image.Image],
    class_images: list[Image.Image],
    settings: DreamBoothSettings,
    instance_captions: list[str] | None = None,
    device: str = "cpu",
) -> DreamBoothResult:
    """Fine-tune UNet (+ text encoder early on) on one product; write a full model directory to output_dir."""
    model_dir, output_dir = Path(model_dir), Path(output_dir)
    _check_inputs(instance_images, class_images, settings)
    parts = _load_components(model_dir)
    for module in (parts.unet, parts.vae, parts.text_encoder):
        module.to(device)
    parts.vae.requires_grad_(False)
    prompts = instance_prompts(instance_captions, len(instance_images), settings)
    instance_ids = _token_ids(parts.tokenizer, prompts)
    class_ids = _token_ids(parts.tokenizer, [f"a {settings.product_class}"])
    instance_pixels = _pixels(instance_images, settings.resolution)
    class_pixels = _pixels(class_images, settings.resolution)
    unet_optimizer = torch.optim.AdamW(parts.unet.parameters(), lr=settings.unet_learning_rate)
    text_optimizer = torch.optim.AdamW(parts.text_encoder.parameters(), lr=settings.text_encoder_learning_rate)
    generator = torch.Generator().manual_seed(settings.seed)
    result = DreamBoothResult(output_dir=output_dir)
    parts.unet.train()
    for step in tqdm(range(settings.max_steps), desc="dreambooth", unit="step"):
        train_text = step < settings.text_encoder_steps
        parts.text_encoder.train(train_text)
        parts.text_encoder.requires_grad_(train_text)
        rows = torch.randint(0, len(instance_images), (settings.batch_size,), generator=generator)
        class_rows = torch.randint(0, len(class_images), (settings.batch_size,), generator=generator)
        pixels = torch.cat([instance_pixels[rows], class_pixels[class_rows]]).to(device)
        token_ids = torch.cat([instance_ids[rows], class_ids.expand(settings.batch_size, -1)]).to(device)
        losses = _diffusion_loss(parts, pixels, token_ids, generator)
        instance_loss, prior_loss = losses[: settings.batch_size].mean(), losses[settings.batch_size:].mean()
        loss = instance_loss + settings.prior_loss_weight * prior_loss
        if not torch.isfinite(loss):
            raise ValueError(f"DreamBooth loss became {loss.item()} at step {step}; lower the learning rate")
        unet_optimizer.zero_grad()
        text_optimizer.zero_grad()
        loss.backward()
        unet_optimizer.step()
        if train_text:
            text_optimizer.step()
        result.losses.append(loss.item())
    _save(parts, model_dir, output_dir)
    return result


def _save(parts: _Components, model_dir: Path, output_dir: Path) -> None:
    # The output is a complete model directory (ControlNet and all) so the backend loads it like the original.
    if output_dir.resolve() != model_dir.resolve():
        shutil.copytree(model_dir, output_dir, dirs_exist_ok=True)
    parts.unet.save_pretrained(output_dir / "unet")
    parts.text_encoder.save_pretrained(output_dir / "text_encoder")
