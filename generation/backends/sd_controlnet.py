"""Stable Diffusion + ControlNet backend loaded from a local directory (DESIGN §5.2, issue 5 item 6).

Prompt template (seed 001: a caption carrying a unique product token, DreamBooth style):

    prompt   = "{caption with token}, {emotion words}, {top keywords}, {demand-type styles},
                {sentiment mood}, product photo, high detail"
    negative = "blurry, low quality, deformed {product class}, distorted shape, text, watermark,
                cropped, extra objects"

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
    "a diffusers StableDiffusionControlNetPipeline saved with save_pretrained: model_index.json and "
    "the folders unet/, vae/, text_encoder/, tokenizer/, scheduler/, controlnet/"
)
MAX_KEYWORDS_IN_PROMPT = 5

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
NEGATIVE_TEMPLATE = "blurry, low quality, deformed {product_class}, distorted shape, text, watermark, cropped, extra objects"


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


def sentiment_mood(sentiment: float) -> str:
    if sentiment >= 0.3:
        return "bright joyful atmosphere"
    if sentiment <= -0.3:
        return "calm restrained atmosphere"
    return "balanced atmosphere"


def persona_prompt(
    persona: PersonaPrompt, *, product_class: str, product_token: str, base_caption: str
) -> tuple[str, str]:
    """Return (prompt, negative prompt) for one persona and product; see the module docstring."""
    if not product_class.strip() or not product_token.strip():
        raise ValueError("product_class and product_token must be non-empty")
    parts = [caption_with_token(base_caption, product_class, product_token)]
    parts += [english_term(word) for word in persona.emotion_words]
    parts += top_keywords(persona.keywords)
    parts += demand_styles(persona.demand_types)
    parts += [sentiment_mood(persona.sentiment), "product photo", "high detail"]
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


def _check_model_dir(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise ValueError(f"GENERATION_MODEL_DIR {model_dir} is not a directory; expected {EXPECTED_LAYOUT}")
    missing = [entry for entry in REQUIRED_ENTRIES if not (model_dir / entry).exists()]
    if missing:
        raise ValueError(f"{model_dir} lacks {', '.join(missing)}; expected {EXPECTED_LAYOUT}")


class SDControlNetBackend:
    """Persona-conditioned redrawing of a product photo with a local SD + ControlNet pipeline."""

    def __init__(self, pipeline, *, product_token: str = "sks") -> None:
        self.pipeline = pipeline
        self.product_token = product_token

    @classmethod
    def from_directory(cls, model_dir: str | Path, *, product_token: str = "sks", device: str = "cpu") -> "SDControlNetBackend":
        from diffusers import ControlNetModel, DPMSolverMultistepScheduler, StableDiffusionControlNetPipeline

        model_dir = Path(model_dir)
        _check_model_dir(model_dir)
        controlnet = ControlNetModel.from_pretrained(model_dir / "controlnet", local_files_only=True)
        pipeline = StableDiffusionControlNetPipeline.from_pretrained(
            model_dir, controlnet=controlnet, safety_checker=None, feature_extractor=None,
            requires_safety_checker=False, local_files_only=True,
        )
        pipeline.scheduler = DPMSolverMultistepScheduler.from_config(pipeline.scheduler.config)
        pipeline.set_progress_bar_config(disable=True)
        return cls(pipeline.to(device), product_token=product_token)

    def generate(
        self,
        product_image: Image.Image,
        personas: list[PersonaPrompt],
        *,
        product_class: str,
        base_caption: str,
        seed: int,
        num_inference_steps: int = 20,
        on_step: Callable[[int, int], bool] | None = None,
    ) -> list[Image.Image]:
        """One image per persona, all personas of the product in one batch, at the photo's size.

        ``on_step(step, total)`` runs after every step; returning False stops sampling with
        ``SamplingCancelled``, as the UPCDM pipeline does."""
        if not personas:
            raise ValueError("generate needs at least one persona")
        width, height = _pipeline_size(product_image.size, self.pipeline.vae_scale_factor)
        control = canny_edges(product_image.convert("RGB").resize((width, height)))
        prompts = [persona_prompt(p, product_class=product_class, product_token=self.product_token,
                                  base_caption=base_caption) for p in personas]
        generator = torch.Generator(device="cpu").manual_seed(seed)
        result = self.pipeline(
            prompt=[prompt for prompt, _ in prompts], negative_prompt=[negative for _, negative in prompts],
            image=control, height=height, width=width, num_inference_steps=num_inference_steps,
            generator=generator, output_type="pil",
            callback_on_step_end=_stopping_callback(on_step) if on_step else None,
        )
        return list(result.images)


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
