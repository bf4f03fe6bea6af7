import pytest
import torch

from generation.model.controlnet_upcdm import UPCDMControlNet
from generation.model.unet_upcdm import UPCDMUNet
from generation.model.variants import VARIANTS, build_models

from .conftest import TINY, randomise_zero_convs, tiny_models


def _inputs(batch=2, size=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    sample = torch.randn(batch, 3, size, size, generator=generator)
    control = torch.rand(batch, 2, size, size, generator=generator)
    persona = torch.rand(batch, 13, generator=generator)
    return sample, control, persona


@pytest.mark.parametrize("norm_type, use_cbam", [("batch", True), ("group", True), ("none", True), ("batch", False)])
def test_forward_shapes(norm_type, use_cbam):
    unet, controlnet = tiny_models(norm_type=norm_type, use_cbam=use_cbam)
    sample, control, persona = _inputs()
    down, mid = controlnet(sample, torch.tensor([10, 500]), control, persona, return_dict=False)
    assert [d.shape[1] for d in down] == controlnet.encoder.skip_channels
    assert mid.shape == (2, 16, 8, 8)
    out = unet(sample, torch.tensor([10, 500]), down, mid).sample
    assert out.shape == sample.shape


def test_zero_convs_output_exactly_zero_at_init_so_the_base_is_unchanged():
    unet, controlnet = tiny_models()
    unet.eval(), controlnet.eval()
    sample, control, persona = _inputs()
    with torch.no_grad():
        down, mid = controlnet(sample, 100, control, persona, return_dict=False)
        assert all(torch.count_nonzero(d) == 0 for d in down) and torch.count_nonzero(mid) == 0
        base = unet(sample, 100).sample
        controlled = unet(sample, 100, down, mid).sample
    assert torch.equal(base, controlled)  # y_c = y (seed 000 eq. 14)


def test_zero_convs_get_gradients_and_move_off_zero():
    unet, controlnet = tiny_models()
    sample, control, persona = _inputs()
    down, mid = controlnet(sample, 100, control, persona, return_dict=False)
    unet(sample, 100, down, mid).sample.pow(2).mean().backward()
    assert controlnet.mid_zero_conv.weight.grad.abs().sum() > 0  # dy/dw = x != 0 (eq. 15-16)


def test_control_branch_starts_as_a_copy_of_the_encoder():
    unet, controlnet = tiny_models()
    for (name, theirs), mine in zip(unet.encoder.state_dict().items(), controlnet.encoder.state_dict().values()):
        if not name.startswith("conv_in"):
            assert torch.equal(theirs, mine), name


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    unet, controlnet = tiny_models(norm_type="batch")
    randomise_zero_convs(controlnet)
    unet.eval(), controlnet.eval()
    unet.save_pretrained(tmp_path / "unet")
    controlnet.save_pretrained(tmp_path / "controlnet")
    assert (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    unet2 = UPCDMUNet.from_pretrained(tmp_path / "unet").eval()
    controlnet2 = UPCDMControlNet.from_pretrained(tmp_path / "controlnet").eval()
    for before, after in ((unet, unet2), (controlnet, controlnet2)):
        loaded = after.state_dict()
        assert all(torch.equal(tensor, loaded[name]) for name, tensor in before.state_dict().items())
    sample, control, persona = _inputs()
    with torch.no_grad():
        a = unet(sample, 7, *controlnet(sample, 7, control, persona, return_dict=False)).sample
        b = unet2(sample, 7, *controlnet2(sample, 7, control, persona, return_dict=False)).sample
    # Identical weights; oneDNN may still pick a differently vectorised kernel per tensor instance.
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(norm_type="layer"), "norm_type"),
    (dict(block_channels=(8, 12)), "multiples of 8"),
    (dict(block_channels=()), "non-empty"),
    (dict(layers_per_block=0), "layers_per_block"),
    (dict(sample_size=17), "divisible"),
])
def test_bad_unet_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        UPCDMUNet(**(TINY | kwargs))


def test_bad_controlnet_inputs_raise():
    _, controlnet = tiny_models()
    sample, control, persona = _inputs()
    with pytest.raises(ValueError, match="persona must be"):
        controlnet(sample, 1, control, persona[:, :12])
    with pytest.raises(ValueError, match="control image"):
        controlnet(sample, 1, control[:, :1], persona)
    with pytest.raises(ValueError, match="persona_dim"):
        UPCDMControlNet(persona_dim=-1, **TINY)


def test_m3_branch_ignores_the_persona():
    _, controlnet = tiny_models(persona_dim=0)
    randomise_zero_convs(controlnet)
    sample, control, persona = _inputs()
    with torch.no_grad():
        a = controlnet(sample, 5, control, None, return_dict=False)[1]
        b = controlnet(sample, 5, control, persona * 0 + 0.3, return_dict=False)[1]
    assert torch.equal(a, b)


def test_every_variant_builds_with_similar_size():
    sizes = {}
    for variant in VARIANTS:
        unet, controlnet = build_models(variant, sample_size=16, block_channels=(8, 16))
        sizes[variant] = sum(p.numel() for m in (unet, controlnet) if m is not None for p in m.parameters())
    with pytest.raises(ValueError, match="unknown variant"):
        build_models("m4")
    assert max(sizes.values()) < 1.6 * min(sizes.values())
