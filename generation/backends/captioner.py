"""A product's base caption: a local BLIP-2 answer to seed 001's question, or the product's title."""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

# Seed 001 phase 1: "Question: Based on the image, describe the context starting with 'a sneaker'?"
QUESTION_TEMPLATE = "Question: Based on the image, describe the context starting with 'a {product_class}'? Answer:"
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")  # newer / older transformers
EXPECTED_LAYOUT = (
    "a BLIP-2 model and processor saved with save_pretrained in one folder: config.json, "
    "model weights, processor_config.json (or preprocessor_config.json) and the tokenizer files"
)


def caption_question(product_class: str) -> str:
    return QUESTION_TEMPLATE.format(product_class=product_class)


def _check_captioner_dir(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise ValueError(f"BLIP-2 captioner directory {model_dir} does not exist; expected {EXPECTED_LAYOUT}")
    missing = [] if (model_dir / "config.json").is_file() else ["config.json"]
    if not any((model_dir / name).is_file() for name in PROCESSOR_FILES):
        missing.append(" or ".join(PROCESSOR_FILES))
    if missing:
        raise ValueError(f"{model_dir} lacks {', '.join(missing)}; expected {EXPECTED_LAYOUT}")


class Blip2Captioner:
    def __init__(self, processor, model, *, max_new_tokens: int = 30) -> None:
        self.processor = processor
        self.model = model.eval()
        self.max_new_tokens = max_new_tokens

    @classmethod
    def from_directory(cls, model_dir: str | Path, *, max_new_tokens: int = 30) -> "Blip2Captioner":
        from transformers import Blip2ForConditionalGeneration, Blip2Processor

        model_dir = Path(model_dir)
        _check_captioner_dir(model_dir)
        processor = Blip2Processor.from_pretrained(model_dir, local_files_only=True)
        model = Blip2ForConditionalGeneration.from_pretrained(model_dir, local_files_only=True)
        return cls(processor, model, max_new_tokens=max_new_tokens)

    @torch.no_grad()
    def caption(self, image: Image.Image, product_class: str) -> str:
        """The caption, always starting with "a {product_class}" as the question asks."""
        inputs = self.processor(images=image.convert("RGB"), text=caption_question(product_class), return_tensors="pt")
        output_ids = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        answer = self.processor.batch_decode(output_ids[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)[0]
        return _starting_with_subject(answer, product_class)


def _starting_with_subject(answer: str, product_class: str) -> str:
    subject = f"a {product_class}"
    answer = " ".join(answer.split())
    if answer.lower().startswith(subject.lower()):
        return answer
    return f"{subject} {answer}".strip()


def load_captioner(model_dir: str | Path | None) -> Blip2Captioner | None:
    """None when no directory is configured (empty setting), else the loaded captioner."""
    if model_dir is None or not str(model_dir).strip():
        return None
    return Blip2Captioner.from_directory(model_dir)


def base_caption(
    image: Image.Image | None, *, product_class: str, title: str, captioner: Blip2Captioner | None
) -> str:
    """BLIP-2's caption when a captioner and an image are there, else the product's own title."""
    if captioner is None or image is None:
        if not title.strip():
            raise ValueError("a product without a captioner needs a non-empty title for its base caption")
        return title.strip()
    return captioner.caption(image, product_class)
