"""`{% load shop_ai %}{% shop_ai_image product as image_url %}`: the image URL this shopper should
see, their persona's published variant or the product's own image (also when shop-ai is slow or
unreachable, or the shopper is in the holdout group)."""

from __future__ import annotations

from django import template
from django.conf import settings

from shop_ai_connect.oscar.events import customer_id_for_request, product_id_for
from shop_ai_connect.oscar.sender import storefront_variant

register = template.Library()


def _original_url(product) -> str:
    image = product.primary_image()
    if isinstance(image, dict):  # Oscar's "image not found" stand-in: a name under MEDIA_ROOT
        return settings.MEDIA_URL + image["original"]
    return image.original.url


@register.simple_tag(takes_context=True)
def shop_ai_image(context, product) -> str:
    customer_id = customer_id_for_request(context.get("request"), create=False)
    if not customer_id:  # a first-time visitor has no persona yet
        return _original_url(product)
    shown = storefront_variant(product_id=product_id_for(product), customer_id=customer_id)
    if shown is None or shown.variant == "original" or not shown.image_url:
        return _original_url(product)
    return shown.image_url
