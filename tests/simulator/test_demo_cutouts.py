"""The demo's owner looks at the rendered catalogue's cut-outs the worker made: one that matches the
renderer's own mask of the product is confirmed (publishing its waiting listings), one that doesn't
waits for a check."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.files.base import ContentFile

from generation.models import GenerationSettings, Listing, ProductStaging
from generation.product_staging import product_cutout_get, product_photo_load
from generation.real_photos import mask_iou
from generation.rendering import render_original
from generation.rendering.render import render_mask
from profiles.services import product_upsert
from shop_ai.management.commands.demo import DEMO_USER, LOOKS_RIGHT_IOU, Command
from tests.dashboard.factories import job_for, owner_of, persona_for

pytestmark = pytest.mark.django_db
SIZE = 256


def rendered_product(shop, external_id: str, shape: str, seed: int):
    buffer = io.BytesIO()
    render_original(shape, seed=seed, size=SIZE).save(buffer, format="PNG")
    product = product_upsert(shop=shop, external_id=external_id, title=shape, category=shape,
                             image=ContentFile(buffer.getvalue(), name=f"{external_id}.png"))[0]
    return product, product_cutout_get(product=product, photo=product_photo_load(product=product))


def test_render_mask_is_where_the_renderer_drew_the_product():
    mask = render_mask("vase", seed=3, size=SIZE)
    assert mask.shape == (SIZE, SIZE) and mask.min() == 0 and mask.max() == 1
    photo = np.asarray(render_original("vase", seed=3, size=SIZE), dtype=float)
    inside, outside = photo[mask > 0.99].mean(axis=0), photo[mask < 0.01].mean(axis=0)
    assert abs(inside - outside).sum() > 60  # the product's colours differ from the backdrop's


def test_the_demo_confirms_the_rendered_cut_outs_that_match_the_renderers_mask(shop, tmp_path):
    owner_of(shop, username=DEMO_USER)
    GenerationSettings.objects.create(shop=shop, auto_approve_threshold=0.8)
    persona = persona_for(shop)
    vase, vase_cut = rendered_product(shop, "sim-p00001", "vase", 3)
    earrings, earrings_cut = rendered_product(shop, "sim-p00002", "earrings", 6)
    assert mask_iou(vase_cut.alpha, render_mask("vase", 3, SIZE)) >= LOOKS_RIGHT_IOU
    assert mask_iou(earrings_cut.alpha, render_mask("earrings", 6, SIZE)) < LOOKS_RIGHT_IOU  # one of the two
    vase_job, earrings_job = job_for(shop, vase, persona), job_for(shop, earrings, persona)  # drafts, fidelity 0.81
    truth = tmp_path / "demo-truth.json"
    truth.write_text(json.dumps({"products": {"sim-p00001": {"shape": "vase", "seed": 3},
                                              "sim-p00002": {"shape": "earrings", "seed": 6}}}))
    out = io.StringIO()
    Command(stdout=out)._confirm_catalogue_cutouts(shop, truth)

    assert "confirmed 1 of 2 rendered products' cut-outs" in out.getvalue()
    confirmed = ProductStaging.objects.get(product=vase)
    assert confirmed.cutout_confirmed and confirmed.confirmed_actor == f"user:{DEMO_USER}"
    assert confirmed.confirmed_by.username == DEMO_USER
    assert not ProductStaging.objects.get(product=earrings).cutout_confirmed
    assert Listing.objects.get(job=vase_job).status == "published"
    assert Listing.objects.get(job=earrings_job).status == "draft"
