"""PSNR and SSIM for images in [0, 1], shape (B, C, H, W), written here (no extra package).

SSIM follows Wang et al. (2004): an 11x11 Gaussian window with sigma 1.5,
K1 = 0.01, K2 = 0.03, per channel, averaged over the valid window positions.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def _check(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"images must both be (B, C, H, W) of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def psnr(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB (data range 1)."""
    _check(prediction, target)
    mse = ((prediction.double() - target.double()) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-12)
    return 10 * torch.log10(1.0 / mse)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    axis = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-(axis**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    return kernel[:, None] * kernel[None, :]


def ssim(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (data range 1)."""
    _check(prediction, target)
    x, y = prediction.double(), target.double()
    channels = x.shape[1]
    window = _gaussian_window().to(x.device)[None, None].repeat(channels, 1, 1, 1)

    def blur(image):
        return F.conv2d(image, window, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.mean(dim=(1, 2, 3))


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels, as the images a shop would publish."""
    return torch.round(images.clamp(0, 1) * 255) / 255
