"""ESRGAN-lite x4 upscaler as a diffusers model (``ModelMixin`` + ``ConfigMixin``).

Layout (Wang et al. 2018, shrunk for 2 CPU cores): a first conv, a trunk of
residual-in-residual dense blocks (no BatchNorm, residual scaling 0.2), a trunk
conv with a long skip, two x2 pixel-shuffle stages, two conv layers at the high
resolution, and a global residual over a bicubic upsample of the input, so the
network only has to learn the detail bicubic misses. The last conv starts at
0.1x its default init, so an untrained model is close to bicubic.

Tensors are (B, 3, H, W) in [0, 1]; the output is (B, 3, 4H, 4W), not clamped.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F

SCALE = 4
RESIDUAL_SCALING = 0.2


def _conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)


def _activation() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.2, inplace=True)


class DenseBlock(nn.Module):
    """Each conv sees the block input and every earlier conv's output."""

    def __init__(self, channels: int, growth: int, layers: int):
        super().__init__()
        self.growing = nn.ModuleList(_conv(channels + i * growth, growth) for i in range(layers - 1))
        self.fuse = _conv(channels + (layers - 1) * growth, channels)
        self.activation = _activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in self.growing:
            features.append(self.activation(conv(torch.cat(features, dim=1))))
        return x + RESIDUAL_SCALING * self.fuse(torch.cat(features, dim=1))


class ResidualInResidualDenseBlock(nn.Module):
    def __init__(self, channels: int, growth: int, dense_blocks: int, dense_layers: int):
        super().__init__()
        self.blocks = nn.Sequential(*(DenseBlock(channels, growth, dense_layers) for _ in range(dense_blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALING * self.blocks(x)


class PixelShuffleUpsample(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(_conv(in_channels, 4 * out_channels), nn.PixelShuffle(2), _activation())


class ESRGANLite(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        channels: int = 32,
        growth: int = 16,
        num_blocks: int = 3,
        dense_blocks: int = 2,
        dense_layers: int = 4,
        tail_channels: int = 16,
    ):
        super().__init__()
        if min(channels, growth, num_blocks, dense_blocks, tail_channels) < 1 or dense_layers < 2:
            raise ValueError("channel counts and block counts must be >= 1, dense_layers >= 2")
        self.first = _conv(3, channels)
        self.trunk = nn.Sequential(
            *(ResidualInResidualDenseBlock(channels, growth, dense_blocks, dense_layers) for _ in range(num_blocks))
        )
        self.trunk_out = _conv(channels, channels)
        # the x4 stage runs on 16x the pixels, so it gets fewer channels (most of the cost otherwise)
        self.upsample = nn.Sequential(
            PixelShuffleUpsample(channels, channels), PixelShuffleUpsample(channels, tail_channels)
        )
        self.high_res = nn.Sequential(_conv(tail_channels, tail_channels), _activation())
        self.last = _conv(tail_channels, 3)
        # ESRGAN's trick: a small (not zero) last layer, so the start is near bicubic but every layer gets gradient
        with torch.no_grad():
            self.last.weight.mul_(0.1)
            self.last.bias.zero_()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) images, got shape {tuple(images.shape)}")
        features = self.first(images)
        features = features + self.trunk_out(self.trunk(features))
        detail = self.last(self.high_res(self.upsample(features)))
        return bicubic_upsample(images) + detail


def bicubic_upsample(images: torch.Tensor) -> torch.Tensor:
    return F.interpolate(images, scale_factor=SCALE, mode="bicubic", align_corners=False)
