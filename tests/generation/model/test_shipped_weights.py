import json
from pathlib import Path

import numpy as np
import pytest

from generation.model.dataset import build_split
from generation.model.pipeline_upcdm import UPCDMPipeline
from generation.model.release import TEST_SLICE
from generation.model.train import evaluate_pairs

WEIGHTS = Path(__file__).resolve().parents[3] / "generation" / "weights"


@pytest.mark.slow
def test_shipped_weights_reproduce_the_model_card_psnr():
    card = json.loads((WEIGHTS / "training.json").read_text())
    test = build_split("test", samples_per_pair=2).subset(np.arange(TEST_SLICE))
    psnrs, ssims, _ = evaluate_pairs(UPCDMPipeline.from_weights(WEIGHTS), test)
    assert abs(float(psnrs.mean()) - card["test_slice_psnr"]) <= 1.0
    assert float(ssims.mean()) > 0.5


@pytest.mark.slow
def test_shipped_weights_fit_the_size_budget():
    ours = [WEIGHTS / "unet", WEIGHTS / "controlnet", WEIGHTS / "scheduler"]
    total = sum(f.stat().st_size for d in ours for f in d.rglob("*") if f.is_file())
    assert total <= 20 * 1024 * 1024
