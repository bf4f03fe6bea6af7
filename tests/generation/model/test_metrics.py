import math

import pytest
import torch

from generation.model.metrics import psnr, quantize, ssim


def test_psnr_of_a_known_error():
    a = torch.zeros(2, 3, 8, 8)
    b = torch.full((2, 3, 8, 8), 0.1)
    assert psnr(a, b) == pytest.approx(torch.tensor([20.0, 20.0], dtype=torch.float64))
    assert psnr(a, a)[0] > 100


def test_ssim_is_one_for_identical_images_and_drops_with_noise():
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 32, 32, generator=generator)
    noisy = (image + 0.2 * torch.randn(image.shape, generator=generator)).clamp(0, 1)
    assert ssim(image, image).item() == pytest.approx(1.0)
    assert ssim(image, noisy).item() < 0.9
    assert ssim(image, noisy).item() < ssim(image, (image * 0.9 + noisy * 0.1)).item()


def test_shapes_must_match_and_quantize_rounds():
    with pytest.raises(ValueError):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    assert quantize(torch.tensor([0.5 / 255 + 1e-4, 2.0])).tolist() == pytest.approx([1 / 255, 1.0])
    assert not math.isnan(ssim(torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 16, 16)).item())
