import numpy as np
import pytest
import torch

from generation.model.controlnet_upcdm import UPCDMControlNet
from generation.model.pipeline_upcdm import UPCDMPipeline, sampling_scheduler, training_scheduler
from generation.model.unet_upcdm import UPCDMUNet
from generation.rendering import persona_vector_from

torch.set_num_threads(1)  # tiny models: extra threads only contend with other processes

TINY = dict(sample_size=16, block_channels=(8, 16), layers_per_block=1)


def tiny_models(norm_type="group", use_cbam=True, persona_dim=13, seed=0):
    torch.manual_seed(seed)
    unet = UPCDMUNet(norm_type=norm_type, use_cbam=use_cbam, **TINY)
    controlnet = UPCDMControlNet.from_unet(unet, persona_dim=persona_dim, conditioning_channels=8)
    return unet, controlnet


def randomise_zero_convs(controlnet, seed=1):
    """Trained branches have non-zero zero-convs; tests of the full path need them non-zero."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in controlnet.named_parameters():
            if "zero_conv" in name or name.startswith("condition_embedding.4"):
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)


@pytest.fixture
def tiny_pipeline():
    unet, controlnet = tiny_models()
    randomise_zero_convs(controlnet)
    pipe = UPCDMPipeline(unet=unet, scheduler=sampling_scheduler("dpmsolver++", training_scheduler()), controlnet=controlnet)
    pipe.set_progress_bar_config(disable=True)
    return pipe.optimize_for_cpu()


@pytest.fixture
def persona():
    return persona_vector_from({"L2": 0.6, "L1": 0.4}, sentiment=0.5, kansei={"simple": 0.8, "warm": 0.2})


@pytest.fixture
def other_persona():
    return persona_vector_from({"L3": 1.0}, sentiment=-0.2, kansei={"fashionable": 0.9, "light": 0.9})


@pytest.fixture
def rng():
    return np.random.default_rng(0)
