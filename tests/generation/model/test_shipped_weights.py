import json
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.model.dataset import build_split
from generation.model.pipeline_upcdm import UPCDMPipeline
from generation.model.release import TEST_SLICE
from generation.model.train import evaluate_pairs
from generation.rendering.scenes import scene_style_for

WEIGHTS = Path(__file__).resolve().parents[3] / "generation" / "weights"
PSNR_FLOOR = 20.0  # dB on these four held-out pairs (measured 23.64 dB at release; the card has the test set)


@pytest.fixture(scope="module")
def shipped():
    pipe = UPCDMPipeline.from_weights(WEIGHTS)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def held_out():
    return build_split("test", samples_per_pair=1, workers=1).subset(np.arange(4))


def test_shipped_weights_stage_held_out_scenes_close_to_the_renderers_truth(shipped, held_out):
    psnrs, ssims, _ = evaluate_pairs(shipped, held_out, steps=20)
    assert float(psnrs.mean()) > PSNR_FLOOR
    assert float(ssims.mean()) > 0.6  # measured 0.777


def test_shipped_weights_draw_other_scenes_for_other_personas(shipped, held_out):
    personas = held_out.personas[:4]
    assert len({scene_style_for(p).palette for p in personas}) > 1
    mattes = np.repeat(held_out.mattes[:1], 4, axis=0)
    scenes = shipped.stage(mattes, personas, generator=torch.Generator().manual_seed(0))
    arrays = [np.asarray(scene, np.float32) for scene in scenes]
    differences = [np.abs(a - b).mean() for i, a in enumerate(arrays) for b in arrays[i + 1 :]]
    assert np.mean(differences) > 6  # of 255: the "differ visibly" bar


@pytest.mark.slow
def test_shipped_weights_reproduce_the_model_card_psnr():
    card = json.loads((WEIGHTS / "training.json").read_text())
    test = build_split("test", samples_per_pair=2).subset(np.arange(TEST_SLICE))
    psnrs, ssims, _ = evaluate_pairs(UPCDMPipeline.from_weights(WEIGHTS), test)
    assert abs(float(psnrs.mean()) - card["test_slice_psnr"]) <= 1.0
    assert float(ssims.mean()) > 0.5


def test_shipped_weights_fit_the_size_budget():
    ours = [WEIGHTS / "unet", WEIGHTS / "controlnet", WEIGHTS / "scheduler"]
    total = sum(f.stat().st_size for d in ours for f in d.rglob("*") if f.is_file())
    assert total <= 20 * 1024 * 1024
    assert all((d / "diffusion_pytorch_model.safetensors").is_file() for d in ours[:2])
