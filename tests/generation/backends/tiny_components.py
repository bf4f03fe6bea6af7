"""Tiny randomly initialised SD + ControlNet and BLIP-2 components, saved like real model directories,
and a product placed on a canvas with its matte, as the staging pipeline hands it over."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

PRODUCT_BOX = (16, 12, 48, 52)  # on a 64 px canvas
PRODUCT_RED = (180, 40, 40)


def placed_product(size: int = 64) -> tuple[Image.Image, np.ndarray]:
    """A red product placed on a grey canvas, and its matte (float32, 1 on the product)."""
    photo, matte = Image.new("RGB", (size, size), (200, 200, 200)), Image.new("L", (size, size), 0)
    box = tuple(round(value * size / 64) for value in PRODUCT_BOX)
    ImageDraw.Draw(photo).ellipse(box, fill=PRODUCT_RED)
    ImageDraw.Draw(matte).ellipse(box, fill=255)
    return photo, np.asarray(matte, dtype=np.float32) / 255.0


def byte_level_symbols() -> list[str]:
    """GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest to 256 + n."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    extra = [byte for byte in range(256) if byte not in printable]
    return [chr(byte) for byte in printable] + [chr(256 + index) for index in range(len(extra))]


def write_clip_vocab(directory: Path) -> tuple[Path, Path]:
    symbols = byte_level_symbols()
    tokens = symbols + [symbol + "</w>" for symbol in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    vocab_file, merges_file = directory / "vocab.json", directory / "merges.txt"
    vocab_file.write_text(json.dumps({token: index for index, token in enumerate(tokens)}))
    merges_file.write_text("#version: 0.2\n")
    return vocab_file, merges_file


def write_gpt2_vocab(directory: Path) -> tuple[Path, Path]:
    tokens = byte_level_symbols() + ["</s>", "<pad>", "<image>"]
    vocab_file, merges_file = directory / "vocab.json", directory / "merges.txt"
    vocab_file.write_text(json.dumps({token: index for index, token in enumerate(tokens)}))
    merges_file.write_text("#version: 0.2\n")
    return vocab_file, merges_file


def tiny_unet(in_channels: int = 4):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=in_channels, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16, attention_head_dim=2, norm_num_groups=4,
    )


def tiny_sd_controlnet_components(vocab_dir: Path, *, unet_in_channels: int = 4) -> dict:
    """`unet_in_channels=9` gives an inpainting UNet (latents, mask, masked-image latents); its ControlNet
    still takes the 4 latent channels, as control_v11p_sd15_inpaint beside SD 1.5 inpainting does."""
    from diffusers import AutoencoderKL, ControlNetModel, DDPMScheduler
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    latent_unet = tiny_unet()
    vae = AutoencoderKL(
        block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=4,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"), up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
    )
    vocab_file, merges_file = write_clip_vocab(vocab_dir)
    tokenizer = CLIPTokenizer(vocab=str(vocab_file), merges=str(merges_file), model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    controlnet = ControlNetModel.from_unet(latent_unet, conditioning_embedding_out_channels=(8, 16))
    unet = latent_unet if unet_in_channels == 4 else tiny_unet(unet_in_channels)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, controlnet=controlnet, scheduler=scheduler)


def save_tiny_sd_controlnet(model_dir: Path, vocab_dir: Path) -> Path:
    """Today's layout: a text-to-image StableDiffusionControlNetPipeline."""
    from diffusers import StableDiffusionControlNetPipeline

    pipeline = StableDiffusionControlNetPipeline(
        **tiny_sd_controlnet_components(vocab_dir), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(model_dir)
    return model_dir


def save_tiny_sd_controlnet_inpaint(model_dir: Path, vocab_dir: Path, *, unet_in_channels: int = 9) -> Path:
    """A StableDiffusionControlNetInpaintPipeline, by default with an inpainting UNet."""
    from diffusers import StableDiffusionControlNetInpaintPipeline

    pipeline = StableDiffusionControlNetInpaintPipeline(
        **tiny_sd_controlnet_components(vocab_dir, unet_in_channels=unet_in_channels), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False,
    )
    pipeline.save_pretrained(model_dir)
    return model_dir


def save_tiny_blip2(model_dir: Path, vocab_dir: Path) -> Path:
    from transformers import (Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, BlipImageProcessor,
                              GPT2Tokenizer, OPTConfig)

    vocab_file, merges_file = write_gpt2_vocab(vocab_dir)
    tokenizer = GPT2Tokenizer(vocab=str(vocab_file), merges=str(merges_file), bos_token="</s>", eos_token="</s>",
                              unk_token="</s>", pad_token="<pad>", model_max_length=256)
    num_query_tokens = 4
    processor = Blip2Processor(BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer,
                               num_query_tokens=num_query_tokens)
    config = Blip2Config(
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=16),
        qformer_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                            encoder_hidden_size=16, vocab_size=len(tokenizer)),
        text_config=OPTConfig(vocab_size=len(tokenizer), hidden_size=16, ffn_dim=32, num_hidden_layers=1,
                              num_attention_heads=2, word_embed_proj_dim=16, max_position_embeddings=256,
                              bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                              pad_token_id=tokenizer.pad_token_id).to_dict(),
        num_query_tokens=num_query_tokens,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(0)
    Blip2ForConditionalGeneration(config).save_pretrained(model_dir)
    processor.save_pretrained(model_dir)
    return model_dir
