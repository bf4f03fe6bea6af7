"""Generation policy: a persona's top products get variants, once, within the shop's budget."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from generation.models import GenerationJob, GenerationSettings
from generation.policy import generation_plan_for_personas, persona_top_products
from profiles.ingestion.services import events_ingest
from profiles.models import Customer, CustomerProfile
from profiles.services import product_upsert
from tests.generation.jobs.conftest import photo_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopping(shop, product, personas):
    fan = product_upsert(shop=shop, external_id="fan-1", title="折扇", image=photo_upload("folding_fan"))[0]
    product_upsert(shop=shop, external_id="bare", title="无图")
    now = datetime.now(timezone.utc).isoformat()
    events = []
    for n in range(6):
        for product_id, times in (("fan-1", 3), ("vase-1", 1), ("bare", 5)):
            events += [{"event_id": f"{n}-{product_id}-{t}", "type": "add_to_cart", "customer_id": f"c{n}",
                        "product_id": product_id, "occurred_at": now} for t in range(times)]
    events_ingest(shop=shop, raw_events=events)
    for customer in Customer.objects.filter(shop=shop):
        CustomerProfile.objects.create(customer=customer, shop=shop, persona=personas[0])
    return fan


def test_top_products_rank_by_carts_and_purchases_and_skip_products_without_images(shop, personas, shopping):
    assert [p.external_id for p in persona_top_products(shop=shop, persona=personas[0])] == ["fan-1", "vase-1"]
    assert persona_top_products(shop=shop, persona=personas[1]) == []


def test_the_plan_creates_jobs_once_and_respects_the_budget(shop, personas, shopping):
    assert generation_plan_for_personas(shop=shop, persona_ids=[p.id for p in personas]) == 2
    assert generation_plan_for_personas(shop=shop, persona_ids=[p.id for p in personas]) == 0
    personas[0].version += 1  # the persona changed materially: its variants are redrawn
    personas[0].save()
    GenerationSettings.objects.filter(shop=shop).update(daily_job_budget=3)
    assert generation_plan_for_personas(shop=shop, persona_ids=[personas[0].id]) == 1  # budget: 3 a day
    assert GenerationJob.objects.filter(shop=shop).count() == 3
