"""Building blocks shared by the UPCDM UNet and its control branch.

- ``ResBlock``: conv-norm residual block with a timestep projection. ``norm_type``
  "batch" is seed 000's improved ResBlock (BatchNorm in the block, §4.2),
  "group" the usual diffusion GroupNorm, "none" the plain ResBlock (ablation M1).
- ``CBAM``: channel attention then spatial attention (seed 000 eq. 11-12).
- ``fourier_coordinates``: sin/cos of the pixel position at periods 1, 1/2, 1/4,
  1/8 of the image, so convolutions know where in the image they are.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

NORM_TYPES = ("batch", "group", "none")
COORDINATE_PERIODS = (1.0, 1 / 2, 1 / 4, 1 / 8)
COORDINATE_CHANNELS = 4 * len(COORDINATE_PERIODS)


def make_norm(norm_type: str, channels: int) -> nn.Module:
    if norm_type == "batch":
        return nn.BatchNorm2d(channels)
    if norm_type == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if norm_type == "none":
        return nn.Identity()
    raise ValueError(f"norm_type must be one of {NORM_TYPES}, got {norm_type!r}")


def validate_block_channels(block_channels, layers_per_block: int, norm_type: str) -> None:
    if not block_channels or any(int(c) <= 0 or int(c) % 8 for c in block_channels):
        raise ValueError(f"block_channels must be a non-empty list of positive multiples of 8, got {block_channels!r}")
    if layers_per_block < 1:
        raise ValueError(f"layers_per_block must be >= 1, got {layers_per_block}")
    if norm_type not in NORM_TYPES:
        raise ValueError(f"norm_type must be one of {NORM_TYPES}, got {norm_type!r}")


def timestep_embedding(timesteps: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, device=timesteps.device) / half)
    angles = timesteps.float()[:, None] * frequencies[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def broadcast_timesteps(timestep, batch: int, device) -> torch.Tensor:
    timesteps = torch.as_tensor(timestep, device=device)
    if timesteps.ndim == 0:
        timesteps = timesteps[None]
    return timesteps.expand(batch)


class TimeEmbedding(nn.Module):
    def __init__(self, base_channels: int, embed_dim: int):
        super().__init__()
        self.base_channels = base_channels
        self.mlp = nn.Sequential(nn.Linear(base_channels, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))

    def forward(self, timesteps: torch.Tensor) -> torch.Tensor:
        return self.mlp(timestep_embedding(timesteps, self.base_channels).to(self.mlp[0].weight.dtype))


def fourier_coordinates(size: int, batch: int, device, dtype=torch.float32) -> torch.Tensor:
    axis = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    features = []
    for period in COORDINATE_PERIODS:
        for coordinate in (x, y):
            angle = 2 * math.pi * coordinate / period
            features += [torch.sin(angle), torch.cos(angle)]
    return torch.stack(features)[None].expand(batch, -1, -1, -1).to(dtype)


class ResBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, norm_type: str):
        super().__init__()
        self.norm1 = make_norm(norm_type, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_proj = nn.Linear(temb_channels, out_channels)
        self.norm2 = make_norm(norm_type, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class CBAM(nn.Module):
    """F' = M_c(F) * F, then F'' = M_s(F') * F' (seed 000 eq. 11-12)."""

    def __init__(self, channels: int, reduction: int = 4, spatial_kernel: int = 7):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.channel_mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, channels, 1))
        self.spatial_conv = nn.Conv2d(2, 1, spatial_kernel, padding=spatial_kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.channel_mlp(x.mean(dim=(2, 3), keepdim=True))
        peak = self.channel_mlp(x.amax(dim=(2, 3), keepdim=True))
        x = x * torch.sigmoid(avg + peak)
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial_conv(pooled))


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    """conv_in, then per level ResBlocks (+CBAM at the lowest level) and a Downsample; then the mid block.

    Returns the skip features (one per ResBlock/Downsample plus conv_in) and the
    mid-block output. The UNet and the control branch build the same encoder,
    which is what lets the branch start as a copy of the base (seed 000 §4.3).
    """

    def __init__(self, in_channels, block_channels, layers_per_block, temb_channels, norm_type, use_cbam):
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, block_channels[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        self.down_attentions = nn.ModuleList()
        self.downsamplers = nn.ModuleList()
        channels = block_channels[0]
        last = len(block_channels) - 1
        for level, out_channels in enumerate(block_channels):
            for _ in range(layers_per_block):
                self.down_blocks.append(ResBlock(channels, out_channels, temb_channels, norm_type))
                self.down_attentions.append(CBAM(out_channels) if use_cbam and level == last else nn.Identity())
                channels = out_channels
            self.downsamplers.append(Downsample(channels) if level < last else nn.Identity())
        self.mid_block1 = ResBlock(channels, channels, temb_channels, norm_type)
        self.mid_attention = CBAM(channels) if use_cbam else nn.Identity()
        self.mid_block2 = ResBlock(channels, channels, temb_channels, norm_type)
        self.layers_per_block = layers_per_block
        self.skip_channels = self._skip_channels(block_channels, layers_per_block)

    @staticmethod
    def _skip_channels(block_channels, layers_per_block):
        channels = [block_channels[0]]
        for level, out_channels in enumerate(block_channels):
            channels += [out_channels] * layers_per_block
            if level < len(block_channels) - 1:
                channels.append(out_channels)
        return channels

    def forward(self, h: torch.Tensor, temb: torch.Tensor, input_residual: torch.Tensor | None = None):
        h = self.conv_in(h)
        if input_residual is not None:
            h = h + input_residual
        skips = [h]
        blocks = iter(zip(self.down_blocks, self.down_attentions))
        for level, downsampler in enumerate(self.downsamplers):
            for _ in range(self.layers_per_block):
                block, attention = next(blocks)
                h = attention(block(h, temb))
                skips.append(h)
            if level < len(self.downsamplers) - 1:
                h = downsampler(h)
                skips.append(h)
        h = self.mid_block2(self.mid_attention(self.mid_block1(h, temb)), temb)
        return skips, h
