"""Fine-tune the local SD model on one product (DreamBooth with prior preservation); run on a GPU worker."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from PIL import Image

from generation.backends.captioner import base_caption, load_captioner
from generation.backends.dreambooth import DreamBoothSettings, finetune_subject

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def _images_in(folder: str) -> list[Image.Image]:
    paths = sorted(path for path in Path(folder).glob("*") if path.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise CommandError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return [Image.open(path).convert("RGB") for path in paths]


class Command(BaseCommand):
    help = "DreamBooth subject fine-tuning with prior preservation (seed 001) of the local SD + ControlNet model"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--model-dir", required=True, help="the GENERATION_MODEL_DIR to start from")
        parser.add_argument("--output-dir", required=True)
        parser.add_argument("--instance-dir", required=True, help="photos of the product (seed 001: 5-7)")
        parser.add_argument("--class-dir", required=True, help="images of the product class for the prior loss")
        parser.add_argument("--product-class", required=True, help='e.g. "fan"')
        parser.add_argument("--token", default="sks")
        parser.add_argument("--captioner-dir", default="", help="local BLIP-2 directory; empty: no captions")
        parser.add_argument("--steps", type=int, default=1500)
        parser.add_argument("--text-encoder-steps", type=int, default=200)
        parser.add_argument("--resolution", type=int, default=512)
        parser.add_argument("--device", default="cuda")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options) -> None:
        instance_images = _images_in(options["instance_dir"])
        captioner = load_captioner(options["captioner_dir"])
        captions = None if captioner is None else [
            base_caption(image, product_class=options["product_class"], title="", captioner=captioner)
            for image in instance_images
        ]
        settings = DreamBoothSettings(
            product_class=options["product_class"], product_token=options["token"], max_steps=options["steps"],
            text_encoder_steps=options["text_encoder_steps"], resolution=options["resolution"], seed=options["seed"],
        )
        try:
            result = finetune_subject(
                model_dir=options["model_dir"], output_dir=options["output_dir"], instance_images=instance_images,
                class_images=_images_in(options["class_dir"]), settings=settings, instance_captions=captions,
                device=options["device"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"fine-tuned model in {result.output_dir}; final loss {result.losses[-1]:.4f}")
