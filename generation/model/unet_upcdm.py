"""UPCDMUNet: seed 000's improved noise-estimation network (§4.2), a diffusers model.

A pixel-space UNet whose ResBlocks carry BatchNorm (``norm_type="batch"``, the
paper's new ResBlock; "group" and "none" are the alternatives, "none" being
ablation M1), with CBAM in the middle layers (``use_cbam``; off = ablation M2).
It accepts the additive residuals of ``UPCDMControlNet`` on every skip
connection and on the mid block (seed 000 eq. 14).

``persona_temb_channels`` (0 = off, as in the paper) lets the persona's timestep-embedding shift,
computed once by the control branch, reach every ResBlock of this UNet too, through a
zero-initialised projection (so weights trained without it start unchanged). Through the control
branch alone the persona reaches the decoder only as skip residuals, and the staging model drew
the wrong palette in about a fifth of held-out scenes although its persona embedding separates
the palettes linearly at 98 %: the decoder, which paints the backdrop, needs the persona directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from torch import nn
from torch.nn import functional as F

from generation.model.blocks import (
    CBAM,
    COORDINATE_CHANNELS,
    Encoder,
    ResBlock,
    TimeEmbedding,
    Upsample,
    broadcast_timesteps,
    fourier_coordinates,
    make_norm,
    validate_block_channels,
)


@dataclass
class UPCDMUNetOutput(BaseOutput):
    sample: torch.Tensor


class UPCDMUNet(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        sample_size: int = 64,
        block_channels: tuple[int, ...] = (32, 64, 128),
        layers_per_block: int = 1,
        norm_type: str = "group",
        use_cbam: bool = True,
        use_coordinates: bool = True,
        persona_temb_channels: int = 0,
    ):
        super().__init__()
        block_channels = tuple(int(c) for c in block_channels)
        validate_block_channels(block_channels, layers_per_block, norm_type)
        if in_channels < 1 or out_channels < 1:
            raise ValueError("in_channels and out_channels must be >= 1")
        if sample_size % (2 ** (len(block_channels) - 1)):
            raise ValueError(f"sample_size {sample_size} must be divisible by 2**(levels-1)")
        temb_channels = 4 * block_channels[0]
        self.time_embedding = TimeEmbedding(block_channels[0], temb_channels)
        self.persona_projection = None
        if persona_temb_channels:
            self.persona_projection = nn.Linear(persona_temb_channels, temb_channels)
            nn.init.zeros_(self.persona_projection.weight)
            nn.init.zeros_(self.persona_projection.bias)
        encoder_in = in_channels + (COORDINATE_CHANNELS if use_coordinates else 0)
        self.encoder = Encoder(encoder_in, block_channels, layers_per_block, temb_channels, norm_type, use_cbam)
        self.up_blocks, self.up_attentions, self.upsamplers = self._build_decoder(
            block_channels, layers_per_block, temb_channels, norm_type, use_cbam
        )
        self.norm_out = make_norm(norm_type, block_channels[0])
        self.conv_out = nn.Conv2d(block_channels[0], out_channels, 3, padding=1)

    def _build_decoder(self, block_channels, layers_per_block, temb_channels, norm_type, use_cbam):
        skip_channels = list(self.encoder.skip_channels)
        up_blocks, up_attentions, upsamplers = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        channels = block_channels[-1]
        last = len(block_channels) - 1
        for level in reversed(range(len(block_channels))):
            out_channels = block_channels[level]
            for _ in range(layers_per_block + 1):
                up_blocks.append(ResBlock(channels + skip_channels.pop(), out_channels, temb_channels, norm_type))
                up_attentions.append(CBAM(out_channels) if use_cbam and level == last else nn.Identity())
                channels = out_channels
            upsamplers.append(Upsample(channels) if level > 0 else nn.Identity())
        return up_blocks, up_attentions, upsamplers

    def encoder_input(self, sample: torch.Tensor) -> torch.Tensor:
        if not self.config.use_coordinates:
            return sample
        coordinates = fourier_coordinates(sample.shape[-1], sample.shape[0], sample.device, sample.dtype)
        return torch.cat([sample, coordinates], dim=1)

    def forward(
        self,
        sample: torch.Tensor,
        timestep,
        down_block_additional_residuals: list[torch.Tensor] | None = None,
        mid_block_additional_residual: torch.Tensor | None = None,
        return_dict: bool = True,
        persona_temb: torch.Tensor | None = None,
    ):
        if sample.ndim != 4 or sample.shape[1] != self.config.in_channels:
            raise ValueError(f"sample must be (batch, {self.config.in_channels}, H, W), got {tuple(sample.shape)}")
        temb = self.time_embedding(broadcast_timesteps(timestep, sample.shape[0], sample.device))
        if self.persona_projection is not None:
            if persona_temb is None:
                raise ValueError("this UNet takes the persona's embedding (persona_temb) from its control branch")
            temb = temb + self.persona_projection(persona_temb.to(temb.dtype))
        skips, h = self.encoder(self.encoder_input(sample), temb)
        if down_block_additional_residuals is not None:
            if len(down_block_additional_residuals) != len(skips):
                raise ValueError(f"expected {len(skips)} control residuals, got {len(down_block_additional_residuals)}")
            skips = [skip + residual for skip, residual in zip(skips, down_block_additional_residuals)]
        if mid_block_additional_residual is not None:
            h = h + mid_block_additional_residual
        h = self._decode(h, skips, temb)
        out = self.conv_out(F.silu(self.norm_out(h)))
        return UPCDMUNetOutput(sample=out) if return_dict else (out,)

    def _decode(self, h, skips, temb):
        blocks = iter(zip(self.up_blocks, self.up_attentions))
        per_level = self.config.layers_per_block + 1
        for upsampler in self.upsamplers:
            for _ in range(per_level):
                block, attention = next(blocks)
                h = attention(block(torch.cat([h, skips.pop()], dim=1), temb))
            h = upsampler(h)
        return h
