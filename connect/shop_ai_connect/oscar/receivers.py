"""Oscar's signals → queued shop-ai events. Each receiver does a little ORM work in the request and
queues after commit (a rolled-back order sends nothing); the sender thread does the HTTP."""

from __future__ import annotations

import functools
import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from oscar.apps.basket.signals import basket_addition
from oscar.apps.catalogue.reviews.signals import review_added
from oscar.apps.catalogue.signals import product_viewed
from oscar.apps.order.signals import order_placed
from oscar.core.loading import get_model

from shop_ai_connect.oscar import events
from shop_ai_connect.oscar.sender import events_sender

logger = logging.getLogger(__name__)
Product = get_model("catalogue", "Product")
_products_sent: set[str] = set()  # products this process has queued: events for them may follow


def _queue_product(product, *, force: bool = False) -> None:
    product_id = events.product_id_for(product)
    if force or product_id not in _products_sent:
        events_sender().add_product(product_id, **events.product_fields(product))
        _products_sent.add(product_id)


def _queue(queued: list[dict], products=()) -> None:
    """Products now (their events may follow in the same flush), events once the shop's own
    transaction commits."""
    for product in products:
        _queue_product(product)

    def add_all() -> None:
        sender = events_sender()
        for event in queued:
            sender.add(event)

    transaction.on_commit(add_all, robust=True)  # robust: a failure is logged, never raised at the shop


def quietly(receiver_function):
    """Oscar sends most of these signals with `send`, not `send_robust`: an error here would fail
    the shopper's request (after their order is placed). shop-ai logs it instead."""

    @functools.wraps(receiver_function)
    def wrapper(*args, **kwargs):
        try:
            receiver_function(*args, **kwargs)
        except Exception:  # noqa: BLE001 - see the docstring
            logger.exception("shop-ai: could not queue %s", receiver_function.__name__)

    return wrapper


@receiver(post_save, sender=Product, dispatch_uid="shop_ai_product_saved")
@quietly
def product_saved(sender, instance, raw=False, **kwargs):
    if not raw:  # not while loading fixtures
        transaction.on_commit(lambda: _queue_product(instance, force=True), robust=True)


@receiver(product_viewed, dispatch_uid="shop_ai_product_viewed")
@quietly
def product_was_viewed(sender, product, user, request, response, **kwargs):
    customer_id = events.customer_id_for_request(request)
    _queue([events.view_event(product=product, customer_id=customer_id)], products=[product])


@receiver(basket_addition, dispatch_uid="shop_ai_basket_addition")
@quietly
def product_added_to_basket(sender, product, user, request, **kwargs):
    quantity = request.POST.get("quantity", "1") if request is not None else "1"
    event = events.basket_event(product=product, customer_id=events.customer_id_for_request(request),
                                quantity=int(quantity) if str(quantity).isdigit() and int(quantity) > 0 else 1)
    _queue([event], products=[product])


@receiver(order_placed, dispatch_uid="shop_ai_order_placed")
@quietly
def order_was_placed(sender, order, user=None, **kwargs):
    products = [line.product for line in order.lines.select_related("product") if line.product is not None]
    _queue(events.order_events(order=order), products=products)


@receiver(review_added, dispatch_uid="shop_ai_review_added")
@quietly
def review_was_added(sender, review, user, request, response, **kwargs):
    _queue([events.review_event(review=review)], products=[review.product])
