"""The shopper's storefront pages: a product grid and product pages, as a given customer sees them.

`?customer=<id>` says who is looking (a real store passes its logged-in customer); in the demo a
switcher offers one customer of each persona and one holdout customer.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from generation.storefront import exposure_log, in_holdout, storefront_product, storefront_products
from generation.services import generation_settings_for
from profiles.models import CustomerProfile, Product, Shop
from profiles.selectors import live_personas

GRID_SIZE = 24


def _viewer(request: HttpRequest) -> str:
    return (request.GET.get("customer") or "").strip()[:100]


def _demo_customers(shop: Shop) -> list[dict]:
    """One customer per persona (not held out) and one holdout customer, for the switcher."""
    share = generation_settings_for(shop=shop).holdout_share
    choices, holdout = [], None
    for persona in live_personas(shop=shop).filter(is_new_visitors=False)[:8]:
        chosen = False
        for external_id in (CustomerProfile.objects.filter(shop=shop, persona=persona)
                            .values_list("customer__external_id", flat=True)[:50]):
            held = in_holdout(shop_id=shop.id, customer_external_id=external_id, share=share)
            if held and holdout is None:
                holdout = {"id": external_id, "label": "a holdout customer (sees originals)"}
            elif not held and not chosen:
                choices.append({"id": external_id, "label": f"a customer of “{persona.name}”"})
                chosen = True
            if chosen and holdout is not None:
                break
    return choices + ([holdout] if holdout else [])


def store_index(request: HttpRequest, shop_id: int) -> HttpResponse:
    shop = get_object_or_404(Shop, id=shop_id)
    viewer = _viewer(request)
    products = list(Product.objects.filter(shop=shop).exclude(image="").order_by("external_id")[:GRID_SIZE])
    shown = storefront_products(shop=shop, products=products, customer_external_id=viewer or None)
    return render(request, "store/index.html", {"shop": shop, "shown": shown, "viewer": viewer,
                                                "switcher": _demo_customers(shop)})


def store_product(request: HttpRequest, shop_id: int, product_id: str) -> HttpResponse:
    shop = get_object_or_404(Shop, id=shop_id)
    product = get_object_or_404(Product, shop=shop, external_id=product_id)
    viewer = _viewer(request)
    shown = storefront_product(shop=shop, product=product, customer_external_id=viewer or None)
    if viewer:
        exposure_log.record(shop=shop, shown=shown, customer_external_id=viewer)
    response = render(request, "store/product.html", {"shop": shop, "shown": shown, "viewer": viewer,
                                                      "switcher": _demo_customers(shop)})
    response["Cache-Control"] = "private, max-age=60"
    return response
