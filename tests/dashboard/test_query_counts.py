"""No N+1: each page runs as many queries with 30 rows as with 3."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generation.models import GeneratedImage, GenerationSettings, ProductStaging, WebhookDelivery, WebhookEndpoint
from profiles.models import InboundWebhook
from profiles.services import api_key_create
from tests.dashboard.factories import customer_for, days_ago, events_for, job_for, persona_for, product_for

pytestmark = pytest.mark.django_db


def queries_of(client, url: str) -> int:
    client.get(url)  # warm-up: one-off lookups (content types, first session touch) are not per-row costs
    cache.clear()  # cached persona charts would hide their queries on the second call
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(captured.captured_queries)


def add_personas(shop, numbers):
    for n in numbers:
        persona_for(shop, f"persona {n}")


def add_jobs(shop, numbers):
    persona = shop.personas.first() or persona_for(shop)
    for n in numbers:
        job_for(shop, product_for(shop, f"p{n}"), persona, listing_status="published" if n % 2 else "draft")


def add_api_keys(shop, numbers):
    for n in numbers:
        api_key_create(shop=shop, label=f"key {n}")


def add_settings_rows(shop, numbers):
    """API keys, outbound endpoints with deliveries, and received webhooks: the settings page's tables."""
    add_api_keys(shop, numbers)
    for n in numbers:
        endpoint = WebhookEndpoint.objects.create(shop=shop, url=f"https://store.example.com/hooks/{n}", secret="s")
        WebhookDelivery.objects.create(shop=shop, endpoint=endpoint, delivery_id=f"whd_{n}", topic="listing.retired",
                                       payload={})
        InboundWebhook.objects.create(shop=shop, source="generic", webhook_id=f"wh-{n}", received_at=days_ago(0))


def add_activity(shop, numbers):
    persona = shop.personas.first() or persona_for(shop)
    for n in numbers:
        customer = customer_for(shop, f"c{n}", persona, keywords={"青花": 1.0, f"词{n % 3}": 0.5})
        events_for(shop, customer, product_for(shop, f"p{n}"), [days_ago(n % 29), days_ago(n % 7, hours=2)])


def add_cutouts_waiting(shop, numbers):
    """Draft listings of products whose automatic cut-out nobody has confirmed: the overview lists them."""
    add_activity(shop, numbers)
    persona = shop.personas.first()
    for n in numbers:
        product = product_for(shop, f"w{n}")
        job_for(shop, product, persona)
        ProductStaging.objects.create(shop=shop, product=product, alpha=f"x/{n}.png", source="segmenter",
                                      confidence=n / 30, confidence_flagged=n % 2 == 0)


def add_images(shop, numbers):
    job = shop.generation_jobs.first() or job_for(shop, product_for(shop, "vase"), persona_for(shop))
    for n in numbers:
        GeneratedImage.objects.create(job=job, seed=1000 + n, image=f"x/{n}.png", fidelity=n / 100, accepted=False)


def first_persona(shop) -> str:
    return f"/dashboard/personas/{shop.personas.first().id}/"


def first_job(shop) -> str:
    return f"/dashboard/generation/jobs/{shop.generation_jobs.first().id}/"


PAGES = {
    "overview": (add_activity, lambda shop: "/dashboard/", 10),  # + the count of cut-outs waiting for a check
    "overview-cutouts": (add_cutouts_waiting, lambda shop: "/dashboard/", 11),  # + the first of them
    "personas": (add_personas, lambda shop: "/dashboard/personas/", 7),  # + the shop sentiment model: used, latest, count
    "persona": (add_activity, first_persona, 8),
    "generation": (add_jobs, lambda shop: "/dashboard/generation/", 7),
    "job": (add_images, first_job, 5),
    "listings": (add_jobs, lambda shop: "/dashboard/listings/", 6),
    "listings-published": (add_jobs, lambda shop: "/dashboard/listings/?status=published", 6),
    "settings": (add_settings_rows, lambda shop: "/dashboard/settings/", 10),  # + the smallest lift worth having
}


@pytest.mark.parametrize("page", PAGES)
def test_a_page_runs_the_same_queries_for_3_and_30_rows(dash, shop, page, django_assert_max_num_queries):
    add_rows, url_of, most = PAGES[page]
    add_rows(shop, range(3))
    with_3 = queries_of(dash, url_of(shop))
    add_rows(shop, range(3, 30))
    with_30 = queries_of(dash, url_of(shop))
    assert with_3 == with_30
    url = url_of(shop)
    cache.clear()
    with django_assert_max_num_queries(most):
        dash.get(url)


def add_store_products(shop, numbers):
    persona = shop.personas.get()
    for n in numbers:
        job_for(shop, product_for(shop, f"p{n:02d}"), persona, listing_status="published")


def test_the_store_grid_runs_the_same_queries_for_3_and_20_products(client, shop):
    GenerationSettings.objects.create(shop=shop, holdout_share=0)
    customer_for(shop, "viewer", persona_for(shop))
    url = f"/store/{shop.id}/?customer=viewer"
    add_store_products(shop, range(3))
    with_3 = queries_of(client, url)
    add_store_products(shop, range(3, 20))
    with_20 = queries_of(client, url)
    assert with_3 == with_20
    assert client.get(url).content.decode().count("generated/job-") == 20  # every card shows its variant
