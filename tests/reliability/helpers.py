"""Shared by the worker-crash, broker-restart and dead-letter checks: sales data, waiting, queues."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from profiles.models import Customer, Event, Product, Shop


def wait_for(predicate, seconds: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def sales_for(shop: Shop, *, products: int = 2, days: int = 2, per_day: int = 3, first: int = 0) -> list[list]:
    """Purchases of `products` products (sku-<first>…) over the last `days` days; returns their rollup cells."""
    now = timezone.now()
    customer = Customer.objects.get_or_create(shop=shop, external_id=f"buyer-{shop.id}",
                                              defaults={"first_seen_at": now, "last_seen_at": now})[0]
    events, cells = [], set()
    for p in range(first, first + products):
        product = Product.objects.create(shop=shop, external_id=f"sku-{p}", title=f"折扇 {p}", category="fan",
                                         price=Decimal("30.00"))
        for d in range(days):
            moment = now - timedelta(days=d, minutes=5)
            cells.add((product.id, moment.astimezone(ZoneInfo(shop.timezone)).date().isoformat()))
            events += [Event(shop=shop, event_id=f"buy-{p}-{d}-{n}", type="purchase", customer=customer,
                             product=product, occurred_at=moment, client_occurred_at=moment, received_at=moment,
                             quantity=1, unit_price=Decimal("30.00"), currency=shop.currency)
                       for n in range(per_day)]
    Event.objects.bulk_create(events)
    return [list(cell) for cell in sorted(cells)]


def dead_letter_queue_size(broker, queue_name: str) -> int:
    """Messages in the broker's own dead-letter queue (RabbitMQ `<queue>.XQ`, Redis's XQ set, the stub's list)."""
    names = {cls.__name__ for cls in type(broker).__mro__}
    if "StubBroker" in names:
        return len(broker.dead_letters_by_queue[queue_name])
    if "RedisBroker" in names:
        return broker.client.zcard(f"{broker.namespace}:{queue_name}.XQ")
    channel = broker.channel
    return channel.queue_declare(f"{queue_name}.XQ", passive=True).method.message_count
