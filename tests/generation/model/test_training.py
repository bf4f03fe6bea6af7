import argparse

import numpy as np
import torch

from generation.model.dataset import TRAIN_PERSONA_SEED, PairSet, build_split, persona_bank, split_pairs
from generation.model.pipeline_upcdm import UPCDMPipeline, training_scheduler
from generation.model.train import EMA, batch_tensors, learning_rate, load_matching, stop_reason, training_loss
from generation.model.variants import build_models
from generation.rendering import random_persona_vector
from generation.rendering.scenes import MATTE_KINDS, random_placed_matte, render_scene
from generation.model.control import control_from_matte

from .conftest import tiny_models


def _tiny_pairs(count=8, size=16):
    rng = np.random.default_rng(0)
    targets, controls, personas = [], [], []
    for i in range(count):
        persona = random_persona_vector(rng)
        matte = random_placed_matte(i, size)
        targets.append(np.round(render_scene(matte, persona, i, size) * 255).astype(np.uint8))
        controls.append(control_from_matte(matte).astype(np.float16))
        personas.append(persona)
    return PairSet(np.stack(targets), np.stack(controls), np.stack(personas), np.array([""] * count), np.arange(count))


def test_a_few_training_steps_reduce_the_loss():
    torch.manual_seed(0)
    unet, controlnet = tiny_models()
    scheduler = training_scheduler()
    pipe = UPCDMPipeline(unet=unet, scheduler=scheduler, controlnet=controlnet)
    args = argparse.Namespace(prediction_type="sample", loss_weighting="uniform")
    batch = batch_tensors(_tiny_pairs(), np.arange(8))
    params = list(unet.parameters()) + list(controlnet.parameters())
    optimizer = torch.optim.AdamW(params, lr=3e-3)

    def fixed_loss():
        with torch.no_grad():
            return training_loss(pipe, scheduler, batch, args, torch.Generator().manual_seed(99), use_bf16=False).item()

    before = fixed_loss()
    generator = torch.Generator().manual_seed(0)
    for _ in range(30):
        loss = training_loss(pipe, scheduler, batch, args, generator, use_bf16=False)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert fixed_loss() < 0.7 * before


def test_test_pairs_are_new_on_both_sides():
    pairs = split_pairs()
    assert not set(pairs["test"]) & set(pairs["validation"])
    assert len(pairs["test"]) == 60 and {kind for kind, _ in pairs["test"]} <= set(MATTE_KINDS)
    # training personas come from their own seed, never from the bank the test pairs use
    train_rng = np.random.default_rng(TRAIN_PERSONA_SEED)
    train_personas = np.stack([random_persona_vector(train_rng) for _ in range(200)])
    distances = np.abs(train_personas[:, None] - persona_bank()[None]).sum(axis=-1)
    assert distances.min() > 0.05
    test = build_split("test", 1, workers=1)
    assert len(test) == 60 and test.seeds.min() >= 2_000_000  # matte seeds from the test range only
    assert test.targets.shape == (60, 64, 64, 3) and test.controls.shape == (60, 2, 64, 64)
    assert np.array_equal(test.mattes[0], test.controls[0, 0].astype(np.float32))


def test_init_weights_copy_every_tensor_of_matching_shape():
    full_unet, full_controlnet = build_models("groupnorm", block_channels=(8, 16))
    m3_unet, m3_controlnet = build_models("m3_groupnorm", block_channels=(8, 16))
    copied, total = load_matching(m3_controlnet, full_controlnet)
    assert copied == total - 1  # all but the condition embedding's first conv: it takes no persona channels
    for name, parameter in m3_controlnet.named_parameters():
        other = dict(full_controlnet.named_parameters())[name]
        if other.shape == parameter.shape:
            assert torch.equal(parameter, other), name
    assert load_matching(m3_unet, full_unet) == (len(m3_unet.state_dict()),) * 2


def test_learning_rate_warms_up_then_decays():
    args = argparse.Namespace(lr=1e-3, warmup_steps=10, steps=100)
    assert learning_rate(0, args) < learning_rate(9, args) == 1e-3
    assert learning_rate(99, args) < 0.1 * 1e-3


def test_training_stops_at_the_time_budget_or_after_the_given_step():
    args = argparse.Namespace(steps=6300, max_minutes=88.0, stop_after=None)
    assert stop_reason(5000, 87 * 60, args) is None
    assert "88.0 minutes" in stop_reason(5000, 88 * 60, args)
    args = argparse.Namespace(steps=6300, max_minutes=None, stop_after=1000)
    assert stop_reason(999, 0, args) is None
    assert "after step 1000 of a 6300-step schedule" in stop_reason(1000, 0, args)


def test_ema_moves_towards_the_model():
    unet, controlnet = tiny_models()
    ema = EMA([unet, None], decay=0.5)
    with torch.no_grad():
        for p in unet.parameters():
            p.add_(1.0)
    ema.update([unet, None], step=1000)
    first = next(ema.models[0].parameters())
    model_first = next(unet.parameters())
    assert torch.allclose(first, model_first - 0.5)


def test_the_model_card_names_the_machine_precision_and_threads_from_the_run_log():
    from generation.model.release import model_card

    log = {"variant": "groupnorm", "steps": 10, "train_minutes": 1.0, "commit": "abc", "history": [],
           "machine": "Some CPU, 2 cores, with AMX", "precision": "fp32",
           "args": {"variant": "groupnorm", "seed": 3, "batch_size": 4, "threads": 1, "stop_after": 5}}
    card = model_card(log, evaluation=None, speed=None, slice_psnr=20.0)
    assert "on Some CPU, 2 cores, with AMX, fp32, 1 thread(s)." in card
    assert "--stop-after 5" in card  # a run stopped early is described as it was run
