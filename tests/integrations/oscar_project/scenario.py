"""A shopper's visit to the Oscar shop, run in its own process (python -m …scenario) with this
project's settings. It prints one JSON line per step; between the order and the image check it
waits for a line on stdin, while the test gives the shopper a persona and a published variant."""

from __future__ import annotations

import io
import json
import os
import re
import sys
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.integrations.oscar_project.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.template import Context, Template  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.urls import reverse  # noqa: E402
from oscar.apps.order.signals import order_placed  # noqa: E402
from oscar.core.loading import get_class, get_model  # noqa: E402
from PIL import Image  # noqa: E402

from shop_ai_connect.oscar.sender import events_sender  # noqa: E402
from tests.integrations.readme import readme_snippet  # noqa: E402

Basket = get_model("basket", "Basket")
Category = get_model("catalogue", "Category")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
ProductClass = get_model("catalogue", "ProductClass")
ProductImage = get_model("catalogue", "ProductImage")
StockRecord = get_model("partner", "StockRecord")
OrderCreator = get_class("order.utils", "OrderCreator")
OrderTotalCalculator = get_class("checkout.calculators", "OrderTotalCalculator")
Selector = get_class("partner.strategy", "Selector")
Free = get_class("shipping.methods", "Free")


def say(**fields) -> None:
    print(json.dumps(fields, default=str), flush=True)


def photo() -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (30, 60, 150)).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="fan.png")


def catalogue():
    fans = ProductClass.objects.create(name="Folding fan", track_stock=True)
    category = Category.add_root(name="Fans")
    product = Product.objects.create(product_class=fans, title="祥云折扇", description="<p>手绘祥云，竹骨。</p>")
    ProductCategory.objects.create(product=product, category=category)
    ProductImage.objects.create(product=product, original=photo(), display_order=0)
    partner = Partner.objects.create(name="Lotus workshop")
    StockRecord.objects.create(product=product, partner=partner, partner_sku="FAN-001", price=Decimal("68.00"),
                               price_currency="CNY", num_in_stock=20)
    call_command("shop_ai_sync_catalogue", stdout=sys.stderr)  # what the owner runs once, photos included
    return product


def shop_and_order(product, user):
    client = Client()
    client.force_login(user)
    assert client.get(product.get_absolute_url()).status_code == 200  # product_viewed
    added = client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 2})
    assert added.status_code == 302, added.status_code  # basket_addition
    review = client.post(reverse("catalogue:reviews-add", kwargs={"product_slug": product.slug,
                                                                   "product_pk": product.pk}),
                         {"title": "很雅致", "score": 5, "body": "扇面的祥云图案很精致，送给朋友很体面。"})
    assert review.status_code == 302, review.content[:500]  # review_added
    basket = Basket.open.get(owner=user)
    basket.strategy = Selector().strategy(user=user)
    shipping = Free()
    charge = shipping.calculate(basket)
    total = OrderTotalCalculator().calculate(basket, charge)
    basket.freeze()
    order = OrderCreator().place_order(basket=basket, total=total, shipping_method=shipping,
                                       shipping_charge=charge, user=user)  # order_placed
    basket.submit()
    return order


def image_for(product, user) -> str:
    """The image the README's template snippet shows this shopper."""
    request = RequestFactory().get(product.get_absolute_url())
    request.user, request.session = user, SessionStore()
    html = Template(readme_snippet("oscar-template")).render(Context({"request": request, "product": product}))
    return re.search(r'<img src="([^"]*)"', html).group(1)


def main() -> None:
    call_command("migrate", run_syncdb=True, verbosity=0)
    product = catalogue()
    user = get_user_model().objects.create_user(username="lin", email="lin@example.com", password="x")
    order = shop_and_order(product, user)
    sender = events_sender()  # its thread sends in the background; flush() sends the rest now
    sender.flush()
    first = sender.totals
    say(step="ordered", product_id=str(product.pk), customer_id=f"oscar-user-{user.pk}", order_number=order.number,
        accepted=first.accepted, duplicates=first.duplicates, rejected=first.rejected,
        original_image=product.primary_image().original.url)

    before = (first.accepted, first.duplicates)
    order_placed.send(sender=OrderCreator, order=order, user=user)  # a handler run twice, e.g. a retried task
    sender.flush()
    say(step="retried", accepted=sender.totals.accepted - before[0], duplicates=sender.totals.duplicates - before[1])

    sys.stdin.readline()  # the test publishes a variant for this shopper's persona meanwhile
    say(step="images", shopper=image_for(product, user), anonymous=image_for(product, AnonymousUser()))


if __name__ == "__main__":
    main()
