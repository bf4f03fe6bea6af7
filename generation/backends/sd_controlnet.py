"""Stable Diffusion + ControlNet inpainting backend loaded from a local directory (DESIGN §5.2, issue 19 item 6).

The product is kept by its placed matte; only the scene around it is drawn. diffusers'
`StableDiffusionControlNetInpaintPipeline` gets the placed photo as the image, everything outside the
matte as the mask to repaint, and a control image made from the matte. It works with either UNet
diffusers supports there:

- a text-to-image UNet (4 input channels, e.g. SD 1.5): after every step the product's latents are put
  back (noised to the next step), so the product region is the photo's, up to the VAE's round trip;
- an inpainting UNet (9 input channels: latents, mask, masked-image latents, e.g. SD 1.5 inpainting):
  the UNet sees the kept product and was trained to leave it (nothing forces it; see below).

Either way `stage` pastes the placed photo back over its matte afterwards (the usual inpainting overlay),
so the product's pixels are never the model's.

Prompt template (seed 001's caption with a unique token, DreamBooth style; the persona chooses the staging):

    prompt   = "{caption with token}, on {surface}, {backdrop}, {palette}, {light},
                backdrop motifs of {top keywords}, {emotion words} mood, {demand-type styles},
                product photography, soft depth of field, high detail"
    negative = "blurry, low quality, extra {product class}, duplicate objects, deformed {product class},
                people, hands, text, watermark, cluttered background"

The caption starts with "a {product class}"; the token is put right after that phrase
("a fan sks with cloud scrolls ..."), as seed 001 does with "a sneaker <mysneaker> ...".
Chinese keywords in the glossary are mapped to English craft/motif terms, others are kept.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from generation.model.pipeline_upcdm import SamplingCancelled

REQUIRED_ENTRIES = ("model_index.json", "unet", "vae", "text_encoder", "tokenizer", "scheduler", "controlnet")
EXPECTED_LAYOUT = (
    "a diffusers StableDiffusionControlNetPipeline (or StableDiffusionControlNetInpaintPipeline) saved with "
    "save_pretrained: model_index.json and the folders unet/, vae/, text_encoder/, tokenizer/, scheduler/, "
    "controlnet/; the UNet a text-to-image one (4 input channels) or an inpainting one (9)"
)
TEXT_TO_IMAGE_UNET_CHANNELS, INPAINTING_UNET_CHANNELS = 4, 9
MAX_KEYWORDS_IN_PROMPT = 5

CONTROL_MODES = {
    "edges": "the matte's outline as white Canny edges on black (a Canny ControlNet, as today's folders hold)",
    "matte": "the matte as a white silhouette on black (a ControlNet trained on masks or segmentations)",
    "inpaint": "the photo with the scene set to -1 (lllyasviel/control_v11p_sd15_inpaint's format)",
}

CRAFT_GLOSSARY = {
    "祥云": "auspicious cloud scrolls", "剪纸": "paper-cut", "折扇": "folding fan", "团扇": "round silk fan",
    "景泰蓝": "cloisonne", "青花": "blue-and-white porcelain", "水墨": "ink wash", "山水": "ink mountains",
    "莲花": "lotus", "荷花": "lotus", "梅花": "plum blossom", "牡丹": "peony", "竹": "bamboo", "鹤": "crane",
    "龙": "dragon", "凤": "phoenix", "海浪": "waves", "刺绣": "embroidery", "丝绸": "silk", "故宫": "palace style",
    "国潮": "guochao", "复古": "retro", "传统": "traditional", "古风": "ancient style", "木偶": "hand puppet",
    "耳环": "earrings", "书签": "bookmark", "花瓶": "vase", "茶具": "tea set", "围巾": "scarf", "红色": "red",
}
DEMAND_TYPE_STYLES = {
    "L0": "practical everyday design", "L1": "warm emotional mood", "L2": "rich traditional cultural motifs",
    "L3": "elegant gift presentation", "L4": "collectible fine craftsmanship", "L5": "natural eco-friendly materials",
}
# The strongest demand type sets the stage: (surface the product stands on, backdrop behind it).
DEMAND_TYPE_STAGING = {
    "L0": ("a plain light wooden tabletop", "clean neutral kitchen backdrop"),
    "L1": ("a soft linen cloth", "cosy home interior backdrop"),
    "L2": ("a carved rosewood stand", "backdrop of traditional Chinese lattice screens"),
    "L3": ("a silk-lined gift box", "elegant backdrop with satin ribbons"),
    "L4": ("a museum plinth", "dark gallery backdrop"),
    "L5": ("a raw stone slab among green leaves", "natural garden backdrop"),
}
DEFAULT_STAGING = ("a plain tabletop", "soft neutral studio backdrop")
EMOTION_PALETTES = {
    "warm": "warm amber and terracotta palette", "heartfelt": "soft rose and cream palette",
    "minimal": "white and pale grey palette", "light": "airy pastel palette",
    "stylish": "bold contrasting palette", "effortless": "muted natural palette",
    "elegant": "ivory and gold palette", "calm": "cool blue-grey palette",
}
DEFAULT_PALETTE = "harmonious muted palette"
NEGATIVE_TEMPLATE = ("blurry, low quality, extra {product_class}, duplicate objects, deformed {product_class}, "
                     "people, hands, text, watermark, cluttered background")


@dataclass(frozen=True)
class PersonaPrompt:
    """The persona fields a prompt is made of; weights need not be normalised."""

    keywords: dict[str, float] = field(default_factory=dict)
    emotion_words: tuple[str, ...] = ()
    demand_types: dict[str, float] = field(default_factory=dict)
    sentiment: float = 0.0  # -1 (negative) … +1 (positive)


def english_term(keyword: str) -> str:
    return CRAFT_GLOSSARY.get(keyword, keyword)


def caption_with_token(caption: str, product_class: str, product_token: str) -> str:
    subject = f"a {product_class}"
    caption = caption.strip()
    if caption.lower().startswith(subject.lower()):
        return f"{subject} {product_token}{caption[len(subject):]}"
    return f"{subject} {product_token}, {caption}" if caption else f"{subject} {product_token}"


def top_keywords(keywords: dict[str, float], limit: int = MAX_KEYWORDS_IN_PROMPT) -> list[str]:
    ranked = sorted(keywords.items(), key=lambda item: (-item[1], item[0]))
    return [english_term(word) for word, _ in ranked[:limit]]


def demand_styles(demand_types: dict[str, float], min_share: float = 0.2) -> list[str]:
    total = sum(demand_types.values()) or 1.0
    ranked = sorted(demand_types.items(), key=lambda item: -item[1])
    return [DEMAND_TYPE_STYLES[key] for key, weight in ranked if key in DEMAND_TYPE_STYLES and weight / total >= min_share]


def staging(demand_types: dict[str, float]) -> tuple[str, str]:
    """(surface, backdrop) of the persona's strongest known demand type."""
    known = [(weight, key) for key, weight in demand_types.items() if key in DEMAND_TYPE_STAGING and weight > 0]
    return DEMAND_TYPE_STAGING[max(known)[1]] if known else DEFAULT_STAGING


def palette(emotion_words: tuple[str, ...]) -> str:
    return next((EMOTION_PALETTES[word] for word in emotion_words if word in EMOTION_PALETTES), DEFAULT_PALETTE)


def scene_light(sentiment: float) -> str:
    """The persona's sentiment as the colour and mood of the light."""
    if sentiment >= 0.3:
        return "bright warm sunlight"
    if sentiment <= -0.3:
        return "soft muted diffuse light"
    return "soft even daylight"


def scene_prompt(
    persona: PersonaPrompt, *, product_class: str, product_token: str, base_caption: str
) -> tuple[str, str]:
    """Return (prompt, negative prompt) staging one product for one persona; see the module docstring."""
    if not product_class.strip() or not product_token.strip():
        raise ValueError("product_class and product_token must be non-empty")
    surface, backdrop = staging(persona.demand_types)
    parts = [caption_with_token(base_caption, product_class, product_token), f"on {surface}", backdrop,
             palette(persona.emotion_words), scene_light(persona.sentiment)]
    motifs = top_keywords(persona.keywords)
    if motifs:
        parts.append(f"backdrop motifs of {', '.join(motifs)}")
    parts += [f"{english_term(word)} mood" for word in persona.emotion_words]
    parts += demand_styles(persona.demand_types)
    parts += ["product photography", "soft depth of field", "high detail"]
    return ", ".join(parts), NEGATIVE_TEMPLATE.format(product_class=product_class)


def canny_edges(image: Image.Image, low: float = 0.1, high: float = 0.2, sigma: float = 1.0) -> Image.Image:
    """Canny edges (Gaussian, Sobel, non-maximum suppression, hysteresis) as a white-on-black RGB image."""
    gray = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    smooth = ndimage.gaussian_filter(gray, sigma)
    gx, gy = ndimage.sobel(smooth, axis=1), ndimage.sobel(smooth, axis=0)
    magnitude = np.hypot(gx, gy)
    magnitude /= magnitude.max() or 1.0
    thin = magnitude * _is_local_maximum(magnitude, np.arctan2(gy, gx))
    edges = _hysteresis(thin, low, high)
    return Image.fromarray((edges * 255).astype(np.uint8)).convert("RGB")


def _is_local_maximum(magnitude: np.ndarray, angle: np.ndarray) -> np.ndarray:
    # Quantise the gradient direction to 0/45/90/135 degrees and compare with both neighbours across the edge.
    sector = (np.round(angle / (np.pi / 4)) % 4).astype(int)
    offsets = {0: (0, 1), 1: (1, 1), 2: (1, 0), 3: (1, -1)}
    padded = np.pad(magnitude, 1)
    height, width = magnitude.shape
    keep = np.zeros_like(magnitude, dtype=bool)
    for index, (dy, dx) in offsets.items():
        forward = padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width]
        backward = padded[1 - dy:1 - dy + height, 1 - dx:1 - dx + width]
        keep |= (sector == index) & (magnitude >= forward) & (magnitude >= backward)
    return keep


def _hysteresis(magnitude: np.ndarray, low: float, high: float) -> np.ndarray:
    weak = magnitude >= low
    labels, _ = ndimage.label(weak, structure=np.ones((3, 3)))
    strong_labels = np.unique(labels[magnitude >= high])
    return np.isin(labels, strong_labels[strong_labels > 0])


def matte_array(matte: np.ndarray | Image.Image, size: tuple[int, int]) -> np.ndarray:
    """The placed matte as (H, W) float32 in [0, 1]; `size` is the placed photo's (width, height)."""
    values = np.asarray(matte.convert("L") if isinstance(matte, Image.Image) else matte)
    if values.ndim != 2:
        raise ValueError(f"the placed matte must be one channel (H, W); got shape {values.shape}")
    if values.shape != (size[1], size[0]):
        raise ValueError(f"the placed matte is {values.shape[1]}x{values.shape[0]} but the placed photo is "
                         f"{size[0]}x{size[1]}; place both on the same canvas")
    values = values.astype(np.float32) / 255.0 if values.dtype == np.uint8 else values.astype(np.float32)
    if not np.isfinite(values).all() or values.min() < 0.0 or values.max() > 1.0:
        raise ValueError("the placed matte must hold values in [0, 1] (float) or 0-255 (uint8)")
    if values.max() < 0.5:
        raise ValueError("the placed matte holds no product (no value >= 0.5); check the cut-out")
    if values.min() >= 0.5:
        raise ValueError("the placed matte covers the whole canvas, leaving no scene to draw; check the layout")
    return values


def scene_mask(matte: np.ndarray) -> Image.Image:
    """diffusers' mask_image: white where the scene is drawn, black where the product is kept."""
    return Image.fromarray(np.where(matte < 0.5, 255, 0).astype(np.uint8))


def control_image(mode: str, photo: Image.Image, matte: np.ndarray) -> Image.Image | torch.Tensor:
    if mode == "edges":
        return canny_edges(Image.fromarray((matte * 255).round().astype(np.uint8)))
    if mode == "matte":
        return Image.fromarray((matte * 255).round().astype(np.uint8)).convert("RGB")
    pixels = np.asarray(photo, dtype=np.float32) / 255.0
    pixels[matte < 0.5] = -1.0
    return torch.from_numpy(pixels).permute(2, 0, 1)[None]


def keep_product(photo: Image.Image, matte: np.ndarray, scene: Image.Image) -> Image.Image:
    """The placed photo over the drawn scene by its matte."""
    alpha = matte[..., None]
    blended = alpha * np.asarray(photo, dtype=np.float32) + (1 - alpha) * np.asarray(scene, dtype=np.float32)
    return Image.fromarray(blended.round().clip(0, 255).astype(np.uint8))


def product_on_white(photo: Image.Image, matte: np.ndarray) -> Image.Image:
    """The product alone, for a caption of the product rather than of the backdrop it will lose."""
    return keep_product(photo, matte, Image.new("RGB", photo.size, "white"))


def _check_model_dir(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise ValueError(f"GENERATION_MODEL_DIR {model_dir} is not a directory; expected {EXPECTED_LAYOUT}")
    missing = [entry for entry in REQUIRED_ENTRIES if not (model_dir / entry).exists()]
    if missing:
        raise ValueError(f"{model_dir} lacks {', '.join(missing)}; expected {EXPECTED_LAYOUT}")


def _check_channels(pipeline, model_dir: Path) -> None:
    unet_channels = pipeline.unet.config.in_channels
    if unet_channels not in (TEXT_TO_IMAGE_UNET_CHANNELS, INPAINTING_UNET_CHANNELS):
        raise ValueError(f"{model_dir / 'unet'} has {unet_channels} input channels; the inpainting pipeline takes "
                         f"a text-to-image UNet ({TEXT_TO_IMAGE_UNET_CHANNELS}) or an inpainting UNet "
                         f"({INPAINTING_UNET_CHANNELS})")
    latent_channels = pipeline.vae.config.latent_channels
    for net in getattr(pipeline.controlnet, "nets", [pipeline.controlnet]):
        if net.config.in_channels != latent_channels:
            raise ValueError(f"{model_dir / 'controlnet'} takes {net.config.in_channels} input channels but the "
                             f"latents have {latent_channels}; a ControlNet made from an inpainting UNet must be "
                             f"built with in_channels={latent_channels}")


class SDInpaintBackend:
    """Persona staging around a kept product with a local SD + ControlNet inpainting pipeline."""

    def __init__(self, pipeline, *, product_token: str = "sks", control: str = "edges") -> None:
        if control not in CONTROL_MODES:
            raise ValueError(f"control must be one of {', '.join(CONTROL_MODES)}; got {control!r}")
        self.pipeline = pipeline
        self.product_token = product_token
        self.control = control

    @property
    def inpainting_unet(self) -> bool:
        return self.pipeline.unet.config.in_channels == INPAINTING_UNET_CHANNELS

    @classmethod
    def from_directory(cls, model_dir: str | Path, *, product_token: str = "sks", device: str = "cpu",
                       control: str = "edges") -> "SDInpaintBackend":
        """`control` names the control image the folder's ControlNet was trained on (see CONTROL_MODES)."""
        from diffusers import ControlNetModel, DPMSolverMultistepScheduler, StableDiffusionControlNetInpaintPipeline

        model_dir = Path(model_dir)
        _check_model_dir(model_dir)
        try:
            controlnet = ControlNetModel.from_pretrained(model_dir / "controlnet", local_files_only=True)
            pipeline = StableDiffusionControlNetInpaintPipeline.from_pretrained(
                model_dir, controlnet=controlnet, safety_checker=None, feature_extractor=None,
                requires_safety_checker=False, local_files_only=True,
            )
        except RuntimeError as exc:  # torch's "size mismatch" when a config.json does not fit its weights
            # torch's own advice (ignore_mismatched_sizes) would load random weights; leave it out.
            details = " ".join(line.strip() for line in str(exc).splitlines() if "ignore_mismatched" not in line)
            raise ValueError(f"{model_dir} holds weights that do not fit their config.json ({details}); "
                             f"expected {EXPECTED_LAYOUT}") from exc
        _check_channels(pipeline, model_dir)
        pipeline.scheduler = DPMSolverMultistepScheduler.from_config(pipeline.scheduler.config)
        pipeline.set_progress_bar_config(disable=True)
        return cls(pipeline.to(device), product_token=product_token, control=control)

    def stage(
        self,
        placed_photo: Image.Image,
        placed_matte: np.ndarray | Image.Image,
        prompts: list[PersonaPrompt],
        *,
        product_class: str,
        base_caption: str,
        seed: int,
        num_inference_steps: int = 20,
        on_step: Callable[[int, int], bool] | None = None,
        keep_product_pixels: bool = True,
    ) -> list[Image.Image]:
        """One scene per persona around the kept product, all personas in one batch, at the photo's size.

        `placed_photo` is the product on the listing canvas at the model's working size, `placed_matte`
        its matte there (float in [0, 1] or an L image). `on_step(step, total)` runs after every step;
        returning False stops sampling with `SamplingCancelled`, as the UPCDM pipeline does.
        `keep_product_pixels=False` returns the pipeline's own output, product region included."""
        if not prompts:
            raise ValueError("stage needs at least one persona prompt")
        photo = placed_photo.convert("RGB")
        matte = matte_array(placed_matte, photo.size)
        width, height = _pipeline_size(photo.size, self.pipeline.vae_scale_factor)
        working_photo, working_matte = _resized(photo, matte, (width, height))
        texts = [scene_prompt(p, product_class=product_class, product_token=self.product_token,
                              base_caption=base_caption) for p in prompts]
        result = self.pipeline(
            prompt=[prompt for prompt, _ in texts], negative_prompt=[negative for _, negative in texts],
            image=working_photo, mask_image=scene_mask(working_matte),
            control_image=control_image(self.control, working_photo, working_matte),
            height=height, width=width, strength=1.0, num_inference_steps=num_inference_steps,
            generator=torch.Generator(device="cpu").manual_seed(seed), output_type="pil",
            callback_on_step_end=_stopping_callback(on_step) if on_step else None,
        )
        scenes = [image if image.size == photo.size else image.resize(photo.size, Image.BICUBIC)
                  for image in result.images]
        return [keep_product(photo, matte, scene) for scene in scenes] if keep_product_pixels else scenes


def _resized(photo: Image.Image, matte: np.ndarray, size: tuple[int, int]) -> tuple[Image.Image, np.ndarray]:
    if photo.size == size:
        return photo, matte
    matte_image = Image.fromarray(matte.astype(np.float32)).resize(size, Image.BILINEAR)
    return photo.resize(size, Image.BICUBIC), np.clip(np.asarray(matte_image), 0.0, 1.0)


def _stopping_callback(on_step: Callable[[int, int], bool]):
    """diffusers' `callback_on_step_end` around our `on_step(step, total) -> keep going?`."""

    def callback(pipeline, step_index: int, timestep, callback_kwargs: dict) -> dict:
        step, total = step_index + 1, pipeline.num_timesteps
        if on_step(step, total) is False:
            # Raising rather than setting `pipeline._interrupt`: an interrupted pipeline still
            # decodes and returns images, and a cancelled job must store none.
            raise SamplingCancelled(f"stopped by the caller after step {step} of {total}")
        return callback_kwargs

    return callback


def _pipeline_size(size: tuple[int, int], vae_scale_factor: int) -> tuple[int, int]:
    # The UNet needs sides divisible by the VAE factor times its own downsampling; 8× the VAE factor is safe.
    multiple = 8 * vae_scale_factor
    return tuple(max(multiple, side // multiple * multiple) for side in size)
