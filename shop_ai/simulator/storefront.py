"""Shoppers of a later period see what shop-ai's storefront serves them (variant or original),
and every view they make is logged as an exposure at its simulated time."""

from __future__ import annotations

from datetime import datetime

from generation.conditions import persona_condition
from generation.storefront import exposure_log, storefront_product
from profiles.models import Product, Shop
from shop_ai.simulator.store import SimCustomer, _style_key
from shop_ai.simulator.catalogue import SimProduct


def storefront_shown_style(shop: Shop):
    products = {p.external_id: p for p in Product.objects.filter(shop=shop)}
    persona_styles: dict[int, tuple] = {}

    def shown(customer: SimCustomer, product: SimProduct, at: datetime) -> tuple | None:
        record = products.get(product.product_id)
        if record is None:
            return None
        served = storefront_product(shop=shop, product=record, customer_external_id=customer.customer_id)
        exposure_log.record(shop=shop, shown=served, customer_external_id=customer.customer_id, shown_at=at)
        if served.listing is None:
            return None
        persona = served.listing.persona
        if persona.id not in persona_styles:
            persona_styles[persona.id] = _style_key(persona_condition(persona))
        return persona_styles[persona.id]

    return shown
