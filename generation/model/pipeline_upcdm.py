"""UPCDMPipeline: placed product matte + persona vector -> the persona's scene around the product.

    pipe = UPCDMPipeline.from_weights("generation/weights")
    scenes = pipe.stage(mattes, personas, num_inference_steps=20,
                        generator=torch.Generator().manual_seed(0))     # list of 64 px PIL scenes
    scenes = pipe(photo, [persona_a, persona_b]).images                  # one photo's silhouette, many personas

The control image is ``control_from_matte`` (the matte and its edges). The product's pixels never
go through the model: a compositor pastes the real product over the scene. ``__call__`` takes a
product photo, takes its silhouette (distance from the border colour) as the matte and stages a
scene per persona. Sampling is DPM-Solver++ (thresholding, pixel space) by default, under bf16
autocast on CPUs that support it. It also drives the concat-conditioned ``UNet2DModel`` baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DiffusionPipeline, DPMSolverMultistepScheduler, UNet2DModel
from diffusers.utils import BaseOutput
from PIL import Image

from generation.model.condition import validate_persona_batch
from generation.model.control import control_from_matte, control_image, load_product_image
from generation.model.controlnet_upcdm import UPCDMControlNet
from generation.model.unet_upcdm import UPCDMUNet

UNET_CLASSES = {"UPCDMUNet": UPCDMUNet, "UNet2DModel": UNet2DModel}
SAMPLERS = ("dpmsolver++", "ddim", "ddpm")
WEIGHTS_FILE = "diffusion_pytorch_model.safetensors"


def training_scheduler(num_train_timesteps: int = 1000, prediction_type: str = "sample") -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=num_train_timesteps,
        beta_schedule="squaredcos_cap_v2",
        prediction_type=prediction_type,
        clip_sample=True,
    )


def sampling_scheduler(name: str, train_scheduler) -> object:
    """A sampler sharing the training noise schedule: 'dpmsolver++', 'ddim' or 'ddpm'."""
    config = train_scheduler.config
    common = dict(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule=config.beta_schedule,
        prediction_type=config.prediction_type,
    )
    if name == "dpmsolver++":
        return DPMSolverMultistepScheduler(
            **common, algorithm_type="dpmsolver++", solver_order=2, thresholding=True, sample_max_value=1.0
        )
    if name == "ddim":
        return DDIMScheduler(**common, clip_sample=True)
    if name == "ddpm":
        return DDPMScheduler(**common, clip_sample=True)
    raise ValueError(f"sampler must be one of {SAMPLERS}, got {name!r}")


def bf16_autocast_helps() -> bool:
    """bf16 matmuls are fast on CPUs with AMX or AVX512-BF16; elsewhere they are emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


class SamplingCancelled(Exception):
    """Raised when a step callback asks sampling to stop."""


@dataclass
class UPCDMPipelineOutput(BaseOutput):
    images: list[Image.Image] | np.ndarray


class UPCDMPipeline(DiffusionPipeline):
    def __init__(self, unet, scheduler, controlnet=None):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler, controlnet=controlnet)
        self.use_bf16 = bf16_autocast_helps()

    @property
    def sample_size(self) -> int:
        return int(self.unet.config.sample_size)

    @property
    def model_dtype(self) -> torch.dtype:
        return next(self.unet.parameters()).dtype

    def predict(self, sample, timestep, control, persona, condition_cache=None) -> torch.Tensor:
        """One network evaluation. ``control`` is in [-1, 1], (B, 2, H, W); ``persona`` (B, 13)."""
        dtype = self.model_dtype
        sample = sample.to(dtype).contiguous(memory_format=torch.channels_last)
        control = control.to(dtype).contiguous(memory_format=torch.channels_last)
        if self.controlnet is not None:
            persona_in = persona if self.controlnet.config.persona_dim else None
            if condition_cache is None:
                condition_cache = self.controlnet.embed_condition(control, persona_in)
            down, mid = self.controlnet(sample, timestep, control, persona_in, condition_cache, return_dict=False)
            return self.unet(sample, timestep, down, mid, return_dict=False, persona_temb=condition_cache[1])[0]
        if isinstance(self.unet, UNet2DModel):
            batch, _, height, width = sample.shape
            persona_map = persona[:, :, None, None].expand(batch, -1, height, width).to(dtype)
            return self.unet(torch.cat([sample, control, persona_map], dim=1), timestep).sample
        return self.unet(sample, timestep, return_dict=False)[0]

    def _condition_cache(self, control, personas):
        if self.controlnet is None:
            return None
        persona_in = personas if self.controlnet.config.persona_dim else None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._autocast):
            return self.controlnet.embed_condition(control.contiguous(memory_format=torch.channels_last), persona_in)

    @property
    def _autocast(self) -> bool:
        """Autocast when bf16 helps and the weights are still float32 (``optimize_for_cpu`` casts them)."""
        return self.use_bf16 and self.model_dtype == torch.float32

    @torch.no_grad()
    def denoise(self, controls: torch.Tensor, personas: torch.Tensor, num_inference_steps: int = 20, generator=None, show_progress: bool = False, callback=None) -> torch.Tensor:
        """Batch sampling from prepared inputs (controls in [0, 1]); returns images (B, 3, H, W) in [0, 1].

        ``callback(step, total)`` runs after every step; returning False stops sampling with
        ``SamplingCancelled`` (how a cancelled job stops at the next step)."""
        if num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be >= 1, got {num_inference_steps}")
        batch, _, height, width = controls.shape
        control = controls.float() * 2 - 1
        personas = personas.float()
        sample = torch.randn((batch, 3, height, width), generator=generator, dtype=torch.float32)
        self.scheduler.set_timesteps(num_inference_steps)
        sample = sample * self.scheduler.init_noise_sigma
        cache = self._condition_cache(control.to(self.model_dtype), personas)
        timesteps = self.scheduler.timesteps
        for step, t in enumerate(self.progress_bar(timesteps) if show_progress else timesteps):
            model_input = self.scheduler.scale_model_input(sample, t)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._autocast):
                prediction = self.predict(model_input, t, control, personas, cache)
            sample = self.scheduler.step(prediction.float(), t, sample, generator=generator).prev_sample
            if callback is not None and callback(step + 1, len(timesteps)) is False:
                raise SamplingCancelled(f"stopped by the caller after step {step + 1} of {len(timesteps)}")
        return ((sample.clamp(-1, 1) + 1) / 2).float()

    @torch.no_grad()
    def stage(self, mattes, persona_vectors, *, num_inference_steps: int = 20, generator=None, callback=None) -> list[Image.Image]:
        """The persona's scene around each placed matte: ``mattes`` (N, H, W) in [0, 1] at the model's size,
        ``persona_vectors`` (N, 13); returns N RGB scenes of the model's size (64 px)."""
        mattes = np.asarray(mattes, dtype=np.float32)
        size = self.sample_size
        if mattes.ndim == 2:
            mattes = mattes[None]
        if mattes.ndim != 3 or mattes.shape[1:] != (size, size):
            raise ValueError(f"mattes must be (N, {size}, {size}) at the model's size, got {mattes.shape}: "
                             f"use generation.imaging.layout.placed_matte(alpha, placement, {size})")
        personas = validate_persona_batch(persona_vectors)
        if len(personas) != len(mattes):
            raise ValueError(f"got {len(mattes)} mattes but {len(personas)} persona vectors: give one persona per matte")
        controls = torch.from_numpy(np.stack([control_from_matte(matte) for matte in mattes]))
        images = self.denoise(controls, torch.from_numpy(personas), num_inference_steps, generator, callback=callback)
        return [Image.fromarray(image) for image in to_uint8(images)]

    @torch.no_grad()
    def __call__(
        self,
        product_image,
        persona_vectors,
        num_inference_steps: int = 20,
        generator: torch.Generator | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        callback=None,
    ):
        """Stage one product photo's scene for each persona vector (one (13,) vector or an (n, 13) batch).

        The photo's silhouette (distance from its border colour) is the matte, at the model's size."""
        if output_type not in ("pil", "np"):
            raise ValueError(f"output_type must be 'pil' or 'np', got {output_type!r}")
        personas = torch.from_numpy(validate_persona_batch(persona_vectors))
        rgb = load_product_image(product_image, size=self.sample_size)
        matte = control_image(rgb)[0]
        control = torch.from_numpy(control_from_matte(matte))[None].expand(len(personas), -1, -1, -1)
        images = self.denoise(control, personas, num_inference_steps, generator, show_progress=True,
                              callback=callback)
        array = images.permute(0, 2, 3, 1).numpy()
        if output_type == "pil":
            array = [Image.fromarray(np.round(image * 255).astype(np.uint8)) for image in array]
        return UPCDMPipelineOutput(images=array) if return_dict else (array,)

    def optimize_for_cpu(self) -> "UPCDMPipeline":
        """Inference mode, channels_last memory layout, and bf16 weights where bf16 is fast."""
        for model in (self.unet, self.controlnet):
            if model is not None:
                model.eval().to(memory_format=torch.channels_last)
                if self.use_bf16:
                    model.to(torch.bfloat16)
        return self

    def save_weights(self, directory: str | Path) -> None:
        directory = Path(directory)
        self.unet.save_pretrained(directory / "unet")
        if self.controlnet is not None:
            self.controlnet.save_pretrained(directory / "controlnet")
        self.scheduler.save_pretrained(directory / "scheduler")

    @classmethod
    def from_weights(cls, directory: str | Path, sampler: str = "dpmsolver++") -> "UPCDMPipeline":
        """Load ``unet/``, optional ``controlnet/`` and ``scheduler/`` saved by ``save_weights``."""
        directory = Path(directory)
        if not directory.is_dir():
            raise ValueError(f"weights directory not found: {directory}")
        unet = _load_model(directory / "unet", UNET_CLASSES)
        controlnet = None
        if (directory / "controlnet").exists():
            controlnet = _load_model(directory / "controlnet", {"UPCDMControlNet": UPCDMControlNet})
            _check_pair(unet, controlnet)
        scheduler_dir = directory / "scheduler"
        if not (scheduler_dir / "scheduler_config.json").is_file():
            raise ValueError(f"scheduler config missing: {scheduler_dir / 'scheduler_config.json'}")
        train_scheduler = DDPMScheduler.from_pretrained(scheduler_dir)
        pipe = cls(unet=unet, scheduler=sampling_scheduler(sampler, train_scheduler), controlnet=controlnet)
        return pipe.optimize_for_cpu()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [0, 1] -> (B, H, W, 3) uint8."""
    return np.round(images.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)


def _load_model(path: Path, classes: dict):
    config_path, weights_path = path / "config.json", path / WEIGHTS_FILE
    if not config_path.is_file():
        raise ValueError(f"model config missing: {config_path}")
    if not weights_path.is_file():
        raise ValueError(f"model weights missing: {weights_path}")
    class_name = json.loads(config_path.read_text()).get("_class_name")
    if class_name not in classes:
        raise ValueError(f"{config_path} names model class {class_name!r}, expected one of {list(classes)}")
    try:
        return classes[class_name].from_pretrained(path, low_cpu_mem_usage=False)
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        raise ValueError(f"weights in {weights_path} do not match {config_path}: {str(error)[:400]}") from None


def _check_pair(unet, controlnet) -> None:
    keys = ("block_channels", "layers_per_block", "sample_size")
    for key in keys:
        if list(np.atleast_1d(unet.config.get(key))) != list(np.atleast_1d(controlnet.config.get(key))):
            raise ValueError(f"controlnet {key}={controlnet.config.get(key)} does not match unet {key}={unet.config.get(key)}")
