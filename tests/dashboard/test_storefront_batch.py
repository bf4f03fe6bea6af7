"""The store grid resolves what a shopper sees of every product in a constant number of queries."""

from __future__ import annotations

import pytest

from generation.models import GenerationSettings
from generation.storefront import storefront_product, storefront_products
from tests.dashboard.factories import customer_for, job_for, persona_for, product_for

pytestmark = pytest.mark.django_db


def test_storefront_products_matches_storefront_product_in_three_queries(shop, django_assert_num_queries):
    GenerationSettings.objects.create(shop=shop, holdout_share=0)
    heritage, green = persona_for(shop, "heritage"), persona_for(shop, "green")
    customer_for(shop, "viewer", heritage)
    products = [product_for(shop, f"p{n}") for n in range(6)]
    for product in products[:3]:
        job_for(shop, product, heritage, listing_status="published")
    job_for(shop, products[3], heritage, listing_status="draft")
    job_for(shop, products[4], green, listing_status="published")

    with django_assert_num_queries(3):
        batched = storefront_products(shop=shop, products=products, customer_external_id="viewer")
    one_by_one = [storefront_product(shop=shop, product=product, customer_external_id="viewer")
                  for product in products]
    assert [shown.variant for shown in batched] == [shown.variant for shown in one_by_one]
    assert [shown.variant for shown in batched] == [f"persona:{heritage.id}"] * 3 + ["original"] * 3
    assert [shown.title for shown in batched] == [shown.title for shown in one_by_one]
    with django_assert_num_queries(0):
        anonymous = storefront_products(shop=shop, products=products, customer_external_id=None)
    assert {shown.variant for shown in anonymous} == {"original"}


def test_a_holdout_share_of_zero_holds_nobody_out(shop):
    GenerationSettings.objects.create(shop=shop, holdout_share=0)
    product = product_for(shop, "p1")
    shown = [storefront_product(shop=shop, product=product, customer_external_id=f"c{n}") for n in range(200)]
    assert not any(item.holdout for item in shown)
