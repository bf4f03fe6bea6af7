import json

import numpy as np
import pytest
import torch
from PIL import Image

from generation.model.pipeline_upcdm import UPCDMPipeline, sampling_scheduler, training_scheduler
from generation.model.variants import build_models
from generation.rendering import render_original

from .conftest import tiny_models


@pytest.fixture
def photo():
    return render_original("bookmark", seed=4, size=16)


def _run(pipe, photo, personas, seed):
    return pipe(photo, personas, num_inference_steps=3, generator=torch.Generator().manual_seed(seed)).images


def test_batch_of_personas_gives_one_pil_image_each(tiny_pipeline, photo, persona, other_persona):
    images = _run(tiny_pipeline, photo, [persona, other_persona, persona], seed=0)
    assert len(images) == 3 and all(isinstance(i, Image.Image) and i.size == (16, 16) for i in images)


def test_same_seed_same_image_and_other_seed_differs(tiny_pipeline, photo, persona):
    a = np.asarray(_run(tiny_pipeline, photo, persona, seed=42)[0])
    b = np.asarray(_run(tiny_pipeline, photo, persona, seed=42)[0])
    c = np.asarray(_run(tiny_pipeline, photo, persona, seed=43)[0])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_persona_changes_the_output(tiny_pipeline, photo, persona, other_persona):
    a, b = _run(tiny_pipeline, photo, [persona, other_persona], seed=1)
    assert not np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("bad, message", [
    (np.zeros(12), "length 13"),
    (np.full(13, np.nan), "NaN"),
    ([[0.1] * 13, [0.1] * 5], "numeric"),
])
def test_bad_persona_vectors_raise(tiny_pipeline, photo, bad, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline(photo, bad, num_inference_steps=2)


def test_bad_uploads_raise(tiny_pipeline, persona):
    with pytest.raises(ValueError, match="not an image"):
        tiny_pipeline(b"GIF89a-but-not-really", persona, num_inference_steps=2)
    with pytest.raises(ValueError, match="too small"):
        tiny_pipeline(Image.new("RGB", (4, 4)), persona, num_inference_steps=2)


def test_grayscale_and_cmyk_uploads_work(tiny_pipeline, persona, photo):
    for mode in ("L", "CMYK", "RGBA"):
        assert len(_run(tiny_pipeline, photo.convert(mode), persona, seed=0)) == 1


def test_weights_round_trip_through_from_weights(tmp_path, tiny_pipeline, photo, persona):
    tiny_pipeline.save_weights(tmp_path)
    training_scheduler().save_pretrained(tmp_path / "scheduler")
    loaded = UPCDMPipeline.from_weights(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    a = np.asarray(_run(tiny_pipeline, photo, persona, seed=5)[0])
    b = np.asarray(_run(loaded, photo, persona, seed=5)[0])
    assert np.array_equal(a, b)


def test_missing_and_mismatched_weights_raise(tmp_path, tiny_pipeline):
    with pytest.raises(ValueError, match="weights directory not found"):
        UPCDMPipeline.from_weights(tmp_path / "nowhere")
    tiny_pipeline.save_weights(tmp_path)
    (tmp_path / "controlnet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ValueError, match="model weights missing"):
        UPCDMPipeline.from_weights(tmp_path)

    other_unet, _ = tiny_models()
    tiny_pipeline.save_weights(tmp_path)
    config = json.loads((tmp_path / "unet" / "config.json").read_text())
    config["block_channels"] = [16, 32]
    (tmp_path / "unet" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="do not match"):
        UPCDMPipeline.from_weights(tmp_path)

    tiny_pipeline.save_weights(tmp_path)
    (tmp_path / "scheduler" / "scheduler_config.json").unlink()
    with pytest.raises(ValueError, match="scheduler config missing"):
        UPCDMPipeline.from_weights(tmp_path)


def test_baseline_unet2d_runs_through_the_same_pipeline(photo, persona):
    unet, controlnet = build_models("baseline", sample_size=16, block_channels=(8, 16))
    assert controlnet is None
    pipe = UPCDMPipeline(unet=unet, scheduler=sampling_scheduler("ddim", training_scheduler()))
    pipe.set_progress_bar_config(disable=True)
    assert len(_run(pipe, photo, [persona, persona], seed=0)) == 2


def test_unknown_sampler_raises():
    with pytest.raises(ValueError, match="sampler"):
        sampling_scheduler("euler", training_scheduler())


def _mattes(count, size=16):
    from generation.rendering.scenes import random_placed_matte

    return np.stack([random_placed_matte(seed, size) for seed in range(count)])


def test_stage_gives_one_scene_per_matte_and_persona(tiny_pipeline, persona, other_persona):
    steps = []
    scenes = tiny_pipeline.stage(_mattes(3), [persona, other_persona, persona], num_inference_steps=3,
                                 generator=torch.Generator().manual_seed(0), callback=lambda i, n: steps.append(i))
    assert len(scenes) == 3 and all(isinstance(s, Image.Image) and s.size == (16, 16) and s.mode == "RGB" for s in scenes)
    assert steps == [1, 2, 3]
    again = tiny_pipeline.stage(_mattes(3), [persona, other_persona, persona], num_inference_steps=3,
                                generator=torch.Generator().manual_seed(0))
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(scenes, again))
    # the control matters: the same persona and noise around another matte give another scene
    moved = tiny_pipeline.stage(_mattes(3)[::-1].copy(), [persona, other_persona, persona], num_inference_steps=3,
                                generator=torch.Generator().manual_seed(0))
    assert not np.array_equal(np.asarray(scenes[0]), np.asarray(moved[0]))


def test_stage_takes_one_matte_for_one_persona(tiny_pipeline, persona):
    assert len(tiny_pipeline.stage(_mattes(1)[0], persona, num_inference_steps=2)) == 1


def test_a_cancelled_stage_stops_at_the_next_step(tiny_pipeline, persona):
    from generation.model.pipeline_upcdm import SamplingCancelled

    with pytest.raises(SamplingCancelled, match="after step 1 of 3"):
        tiny_pipeline.stage(_mattes(1), persona, num_inference_steps=3, callback=lambda i, n: False)


@pytest.mark.parametrize("mattes, personas, message", [
    (np.zeros((2, 32, 32)), 2, "placed_matte"),
    (np.zeros((2, 16)), 2, "placed_matte"),
    (np.zeros((2, 16, 16)), 3, "one persona per matte"),
])
def test_stage_rejects_mattes_of_the_wrong_size_or_count(tiny_pipeline, persona, mattes, personas, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline.stage(mattes, np.stack([persona] * personas), num_inference_steps=2)
