"""Business actions of the profiles app (HackSoft style: `<entity>_<action>`, keyword-only)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from profiles.connect.services import store_connection_for
from profiles.models import ApiKey, Customer, Event, Product, Shop
from profiles.selectors import api_key_digest, api_key_forget

API_KEY_PREFIX = "sk_"
STALE_CLOCK_MARGIN = timedelta(seconds=5)  # web and worker clocks (NTP) agree this well; see customers_mark_stale


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str


@transaction.atomic
def shop_create(*, name: str, currency: str = "CNY", timezone_name: str = "Asia/Shanghai") -> Shop:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A shop needs a name."})
    if Shop.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A shop called {name!r} already exists."})
    shop = Shop.objects.create(name=name, currency=currency.upper(), timezone=timezone_name)
    store_connection_for(shop=shop)  # webhook secret and publishable key, ready for the dashboard
    return shop


@transaction.atomic
def api_key_create(*, shop: Shop, label: str = "") -> IssuedKey:
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(shop=shop, label=label, prefix=raw_key[:10], digest=api_key_digest(raw_key))
    return IssuedKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    api_key_forget(digest=api_key.digest)
    return api_key


def customers_mark_stale(*, shop_id: int, customer_ids: list[int], only_seen_since_profiled: bool = False) -> int:
    """Record that these customers have new events. Idempotent: the first stamp is kept.

    `only_seen_since_profiled` (the `customers_changed` message): skip a customer profiled after their
    last event arrived. The message came late, behind a backlog, and a refresh since then already
    read those events; marking them again would recompute every customer of a simulated or imported
    history twice. `STALE_CLOCK_MARGIN` allows for web and worker machines whose clocks differ; an
    event still being committed while its customer was profiled is caught by the event count in
    `customers_mark_profiled`, which then leaves the profile stale."""
    customers = Customer.objects.filter(shop_id=shop_id, id__in=customer_ids, profile_stale_since__isnull=True)
    if only_seen_since_profiled:
        customers = customers.filter(Q(profiled_at__isnull=True) | Q(last_seen_at__isnull=True)
                                     | Q(last_seen_at__gt=F("profiled_at") - STALE_CLOCK_MARGIN))
    return _update_in_id_order(customers, profile_stale_since=timezone.now())


@transaction.atomic
def customers_mark_profiled(*, shop_id: int, event_counts: dict[int, int]) -> int:
    """The persona refresh profiled these customers from `event_counts[id]` events each. A customer
    with more events by now (stored while the refresh ran) stays stale, for the next refresh: the
    message of that event found them stale already and marked nothing."""
    locked = _lock_in_id_order(Customer.objects.filter(shop_id=shop_id, id__in=list(event_counts)))
    counts = dict(Event.objects.filter(customer_id__in=locked).values_list("customer_id").annotate(n=Count("id")))
    done = [pk for pk in locked if counts.get(pk, 0) == event_counts[pk]]
    return Customer.objects.filter(id__in=done).update(profile_stale_since=None, profiled_at=timezone.now())


@transaction.atomic
def _update_in_id_order(customers, **values) -> int:
    return Customer.objects.filter(id__in=_lock_in_id_order(customers)).update(**values)


def _lock_in_id_order(customers) -> list[int]:
    # Rows locked in id order first, as ingestion's `customers_touch` locks them, so a batch and the
    # profiles worker wait for each other instead of deadlocking. A plain multi-row UPDATE locks in
    # the order the scan meets rows, which drifts from id order as rows are rewritten (the 5-minute
    # load of tests/reliability/test_load.py answered 3 % of its batches with a deadlock's 500).
    return list(customers.order_by("id").select_for_update(no_key=True).values_list("id", flat=True))


def _check_image(upload: UploadedFile) -> None:
    from django.conf import settings

    if upload.size > settings.MAX_PRODUCT_IMAGE_BYTES:
        raise ValidationError({"image": f"The image is {upload.size} bytes; the limit is "
                                        f"{settings.MAX_PRODUCT_IMAGE_BYTES} bytes."})
    try:
        with Image.open(upload) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValidationError({"image": "The upload is not a readable image (PNG, JPEG or WebP)."}) from None
    finally:
        upload.seek(0)


@transaction.atomic
def product_upsert(
    *,
    shop: Shop,
    external_id: str,
    title: str,
    description: str = "",
    category: str = "",
    price: Decimal | None = None,
    tags: list[str] | None = None,
    image: UploadedFile | None = None,
) -> tuple[Product, bool]:
    """Create or update a product of `shop`; returns (product, created)."""
    if image is not None:
        _check_image(image)
    product, created = Product.objects.select_for_update().get_or_create(
        shop=shop, external_id=external_id,
        defaults={"title": title, "description": description, "category": category, "price": price,
                  "tags": tags or []},
    )
    if not created:
        product.title, product.description, product.category = title, description, category
        product.price, product.tags = price, tags or []
    if image is not None:
        product.image.save(image.name or "image.png", image, save=False)
    product.save()
    return product, created


@dataclass(frozen=True)
class ProductRow:
    external_id: str
    title: str
    description: str = ""
    category: str = ""
    price: Decimal | None = None
    tags: tuple[str, ...] = ()
    image_png: bytes | None = None


def products_import(*, shop: Shop, rows: list[ProductRow]) -> int:
    """Bulk upsert of a catalogue (store syncs, the simulator). Images are written to storage first."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from profiles.models import product_image_path

    products = []
    for row in rows:
        product = Product(shop=shop, external_id=row.external_id, title=row.title, description=row.description,
                          category=row.category, price=row.price, tags=list(row.tags))
        if row.image_png is not None:
            path = product_image_path(product, "photo.png")
            if default_storage.exists(path):
                default_storage.delete(path)
            product.image.name = default_storage.save(path, ContentFile(row.image_png))
        products.append(product)
    with transaction.atomic():
        Product.objects.bulk_create(
            products, batch_size=500, update_conflicts=True, unique_fields=["shop", "external_id"],
            update_fields=["title", "description", "category", "price", "tags", "image", "updated_at"],
        )
    return len(products)


def products_ensure(*, shop: Shop, rows: list[ProductRow]) -> int:
    """Create the products the shop does not have yet (e.g. first seen in an order); never overwrite
    one it has, whose own data is richer than an order line's. Returns how many were created."""
    wanted = {row.external_id: row for row in rows}
    known = set(Product.objects.filter(shop=shop, external_id__in=wanted).values_list("external_id", flat=True))
    missing = [Product(shop=shop, external_id=row.external_id, title=row.title, price=row.price, tags=[])
               for external_id, row in sorted(wanted.items()) if external_id not in known]
    Product.objects.bulk_create(missing, ignore_conflicts=True)  # a concurrent delivery may create one too
    return len(missing)
