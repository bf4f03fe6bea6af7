"""Generation policy: which (product, persona) pairs need a variant, enqueued once, within budget.

Triggered after personas are recomputed (the profiles layer sends `plan_generation` by actor name,
so it never imports this app). A persona gets variants of its top products: the ones its customers
carted and bought most in the last weeks. Job requests are deduplicated by (product, persona,
persona version), and a persona's version only moves when it changed materially, so re-running
the policy is cheap and creates nothing twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone

from generation.services import BudgetExceeded, generation_jobs_request
from profiles.models import Event, Persona, Product, Shop

logger = logging.getLogger(__name__)
TOP_PRODUCTS_PER_PERSONA = 3
LOOKBACK = timedelta(days=28)


def persona_top_products(*, shop: Shop, persona: Persona, limit: int = TOP_PRODUCTS_PER_PERSONA) -> list[Product]:
    since = timezone.now() - LOOKBACK
    ranked = (Event.objects.filter(shop=shop, customer__profile__persona=persona, occurred_at__gte=since,
                                   type__in=["add_to_cart", "purchase"], product__isnull=False)
              .exclude(product__image="")
              .values("product_id").annotate(score=Count("id")).order_by("-score", "product_id")[:limit])
    ids = [row["product_id"] for row in ranked]
    products = Product.objects.in_bulk(ids)
    return [products[pk] for pk in ids if pk in products]


def generation_plan_for_personas(*, shop: Shop, persona_ids: list[int]) -> int:
    """Request variants of each persona's top products, one request (one batch) per product;
    returns how many jobs were created."""
    wanted: dict[int, list[Persona]] = {}
    products: dict[int, Product] = {}
    personas = Persona.objects.filter(shop=shop, id__in=persona_ids, retired_at__isnull=True, is_new_visitors=False)
    for persona in personas.order_by("id"):
        for product in persona_top_products(shop=shop, persona=persona):
            products[product.id] = product
            wanted.setdefault(product.id, []).append(persona)
    created = 0
    for product_id, product_personas in wanted.items():
        try:
            request = generation_jobs_request(shop=shop, product=products[product_id], personas=product_personas)
        except BudgetExceeded as exc:
            logger.info("Generation plan for shop %s stopped: %s", shop.id, exc.messages[0])
            break
        except ValidationError as exc:  # a photo no job could stage: the others still get theirs
            logger.info("Product %s of shop %s skipped: %s", product_id, shop.id, " ".join(exc.messages))
            continue
        created += len(request.created)
    return created
