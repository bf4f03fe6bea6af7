"""The persona's two extra paths in the shipped variant: the style head and the UNet's own persona shift."""

import numpy as np
import pytest
import torch

from generation.model.condition import random_persona_vector
from generation.model.controlnet_upcdm import UPCDMControlNet
from generation.model.pipeline_upcdm import UPCDMPipeline, training_scheduler
from generation.model.train import StyleHeadTrainer, _trainable
from generation.model.unet_upcdm import UPCDMUNet
from generation.model.variants import build_models
from generation.rendering.scenes import SCENE_STYLE_CHOICES, scene_style_for, scene_style_indices

from .conftest import TINY

STYLE_CLASSES = tuple(len(choices) for choices in SCENE_STYLE_CHOICES.values())


def _tiny_pair(seed=0):
    torch.manual_seed(seed)
    unet = UPCDMUNet(persona_temb_channels=4 * TINY["block_channels"][0], **TINY)
    controlnet = UPCDMControlNet.from_unet(unet, conditioning_channels=8, style_classes=STYLE_CLASSES)
    return unet, controlnet


def _personas(count, seed):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(np.stack([random_persona_vector(rng) for _ in range(count)]).astype(np.float32))


def test_style_indices_name_the_scene_style():
    vector = _personas(1, 3)[0].numpy()
    style = scene_style_for(vector)
    indices = scene_style_indices(vector)
    assert [choices[i] for choices, i in zip(SCENE_STYLE_CHOICES.values(), indices)] == [
        style.palette, style.motif, style.density, style.set, style.light]


def test_shipped_variant_has_both_persona_paths_and_its_ablation_m3_has_neither():
    unet, controlnet = build_models("groupnorm")
    assert unet.persona_projection is not None and controlnet.config.style_classes == STYLE_CLASSES
    unet, controlnet = build_models("m3_groupnorm")
    assert unet.persona_projection is None and controlnet.style_classifier is None


def test_new_paths_start_as_exact_no_ops_so_earlier_weights_keep_their_outputs():
    unet, controlnet = _tiny_pair()
    unet.eval(), controlnet.eval()
    plain_unet = UPCDMUNet(**TINY)
    plain_unet.load_state_dict({k: v for k, v in unet.state_dict().items() if not k.startswith("persona_projection")})
    sample, persona = torch.randn(2, 3, 16, 16), _personas(2, 1)
    with torch.no_grad():
        shift = controlnet.persona_shift(persona)
        assert torch.equal(shift, controlnet.persona_embedding(persona))
        assert torch.equal(unet(sample, 50, persona_temb=shift).sample, plain_unet(sample, 50).sample)


def test_unet_with_a_persona_path_refuses_to_run_without_the_persona():
    unet, _ = _tiny_pair()
    with pytest.raises(ValueError, match="persona_temb"):
        unet(torch.randn(1, 3, 16, 16), 10)


def test_pipeline_passes_the_persona_to_the_unet_once_the_projection_has_learnt():
    unet, controlnet = _tiny_pair()
    with torch.no_grad():
        unet.persona_projection.weight.normal_(0, 0.5)
    pipe = UPCDMPipeline(unet=unet, scheduler=training_scheduler(), controlnet=controlnet)
    sample, control = torch.randn(2, 3, 16, 16), torch.zeros(2, 2, 16, 16)
    with torch.no_grad():
        a = pipe.predict(sample, torch.tensor([500, 500]), control, _personas(2, 1))
        b = pipe.predict(sample, torch.tensor([500, 500]), control, _personas(2, 2))
    assert not torch.allclose(a, b)  # the control branch's residuals are still zero: only the UNet path differs


def test_style_head_learns_the_style_rule_and_the_diffusion_loss_never_trains_it():
    unet, controlnet = _tiny_pair()
    head = StyleHeadTrainer(controlnet, count=4000, seed=0, lr=3e-3)
    before = head.accuracy(count=500)
    head.pretrain(400)
    after = head.accuracy(count=500)
    assert before < 0.1 and after > 0.5, (before, after)
    trained_by_diffusion = {id(p) for p in _trainable(unet, controlnet)}
    assert not any(id(p) in trained_by_diffusion for p in controlnet.style_classifier.parameters())
    personas = _personas(3, 5)
    decision = controlnet.style_decision(personas)
    assert not decision.requires_grad
    parts = torch.split(decision, list(STYLE_CLASSES), dim=1)
    assert all(torch.equal(part.sum(dim=1), torch.ones(3)) for part in parts)  # one choice each, taken as certain
    chosen = [part.argmax(dim=1) for part in parts]
    expected = [logits.argmax(dim=1) for logits in controlnet.style_logits(personas)]
    assert all(torch.equal(a, b) for a, b in zip(chosen, expected))


def test_a_style_head_without_the_persona_is_refused():
    with pytest.raises(ValueError, match="style head"):
        UPCDMControlNet(persona_dim=0, style_classes=STYLE_CLASSES, **TINY)


def test_the_palette_reader_reads_the_renderers_own_scenes_right_and_is_not_constant():
    from generation.model.dataset import persona_bank
    from generation.model.palette_reader import palette_reader
    from generation.rendering.scenes import random_placed_matte, render_scene

    read = palette_reader()
    bank = persona_bank()
    scenes = [render_scene(random_placed_matte(2_000_000 + i, 64), vector, seed=i, size=64)
              for i, vector in enumerate(bank[:20])]
    assert all(read(scene) == scene_style_for(vector).palette for scene, vector in zip(scenes, bank[:20]))
    assert len({read(scene) for scene in scenes}) >= 4  # not a constant answer that happens to fit
