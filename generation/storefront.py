"""What a shopper sees: the published variant of their persona, or the original (holdout, no persona).

Holdout assignment is a deterministic hash of (shop, customer), so a customer stays in the same
bucket on every visit and every server. Exposures are buffered in memory and written in bulk by a
background thread, off the request's critical path; a crash can lose at most one flush interval.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.utils import timezone

from generation.models import Exposure, GenerationSettings, Listing, ListingStatus
from profiles.models import Customer, CustomerProfile, Product, Shop

logger = logging.getLogger(__name__)
FLUSH_EVERY_SECONDS = 0.5
FLUSH_AT = 500
MAX_BUFFERED = 50_000  # while the database is unreachable, keep at most this many, newest first
DEFAULT_HOLDOUT = Decimal("0.2")


def in_holdout(*, shop_id: int, customer_external_id: str, share: Decimal) -> bool:
    digest = hashlib.sha256(f"{shop_id}:{customer_external_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") / 2**64
    return bucket < float(share)


@dataclass(frozen=True)
class ShownProduct:
    """`eligible_listing` is the variant the shopper's persona has live, shown unless they are held
    out; exposures record it for holdout shoppers too, so the randomised comparison knows who was
    eligible for a variant on both sides."""

    product: Product
    eligible_listing: Listing | None
    holdout: bool
    persona_id: int | None

    @property
    def listing(self) -> Listing | None:
        return None if self.holdout else self.eligible_listing

    @property
    def variant(self) -> str:
        return f"persona:{self.listing.persona_id}" if self.listing else "original"

    @property
    def title(self) -> str:
        return self.listing.title if self.listing else self.product.title

    @property
    def description(self) -> str:
        return self.listing.description if self.listing else self.product.description

    @property
    def image(self):
        return self.listing.image.best_file if self.listing else self.product.image


def _holdout_share(shop: Shop) -> Decimal:
    share = GenerationSettings.objects.filter(shop=shop).values_list("holdout_share", flat=True).first()
    return DEFAULT_HOLDOUT if share is None else share  # a share of 0 is a choice: nobody held out


def _persona_of(shop: Shop, customer_external_id: str) -> int | None:
    return (CustomerProfile.objects.filter(shop=shop, customer__external_id=customer_external_id)
            .values_list("persona_id", flat=True).first())


def storefront_products(*, shop: Shop, products: list[Product], customer_external_id: str | None) -> list[ShownProduct]:
    """What one customer sees of each product, in at most three queries however many products."""
    if not customer_external_id:
        return [ShownProduct(product, None, False, None) for product in products]
    holdout = in_holdout(shop_id=shop.id, customer_external_id=customer_external_id, share=_holdout_share(shop))
    persona_id = _persona_of(shop, customer_external_id)
    listings: dict[int, Listing] = {}
    if persona_id and products:
        live = Listing.objects.filter(shop=shop, product__in=products, persona_id=persona_id,
                                      status=ListingStatus.PUBLISHED).select_related("image")
        listings = {listing.product_id: listing for listing in live}
    return [ShownProduct(product, listings.get(product.id), holdout, persona_id) for product in products]


def storefront_product(*, shop: Shop, product: Product, customer_external_id: str | None) -> ShownProduct:
    return storefront_products(shop=shop, products=[product], customer_external_id=customer_external_id)[0]


_PRODUCT_FIELDS = [field for field in Product._meta.concrete_fields]
_PRODUCT_ATTNAMES = [field.attname for field in _PRODUCT_FIELDS]
_lookups: dict[str, tuple[str, list]] = {}  # per database vendor: the SQL and each column's converters


def _lookup_plan(db) -> tuple[str, list]:
    plan = _lookups.get(db.vendor)
    if plan is None:
        columns = ", ".join(f"p.{db.ops.quote_name(field.column)}" for field in _PRODUCT_FIELDS)
        sql = (
            f"SELECT {columns}, "
            f"(SELECT holdout_share FROM {GenerationSettings._meta.db_table} WHERE shop_id = %s), "
            f"(SELECT cp.persona_id FROM {CustomerProfile._meta.db_table} cp JOIN {Customer._meta.db_table} c "
            "ON c.id = cp.customer_id WHERE cp.shop_id = %s AND c.external_id = %s ORDER BY cp.id LIMIT 1) "
            f"FROM {Product._meta.db_table} p WHERE p.shop_id = %s AND p.external_id = %s"
        )
        converters = []  # what the ORM's compiler applies (JSON, SQLite's dates…)
        for index, field in enumerate(_PRODUCT_FIELDS):
            column = field.get_col(Product._meta.db_table)
            for converter in db.ops.get_db_converters(column) + field.get_db_converters(db):
                converters.append((index, converter, column))
        plan = _lookups[db.vendor] = (sql, converters)
    return plan


def storefront_lookup(*, shop: Shop, product_external_id: str, customer_external_id: str | None) -> ShownProduct | None:
    """`storefront_product` for a product known by its id, in one query: the product, the shop's
    holdout share and the customer's persona (a second query for the persona's live variant, when
    there is a persona). None when the shop has no such product. The storefront API serves every
    shopper's page view with this, so it is written as plain SQL: the ORM's three queries cost
    more CPU than the rest of the request."""
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy: read a dozen times here
    sql, converters = _lookup_plan(db)
    with db.cursor() as cursor:
        cursor.execute(sql, [shop.id, shop.id, customer_external_id, shop.id, product_external_id])
        row = cursor.fetchone()
    if row is None:
        return None
    count = len(_PRODUCT_FIELDS)
    values = list(row[:count])
    for index, converter, column in converters:
        values[index] = converter(values[index], column, db)
    product = Product.from_db(db.alias, _PRODUCT_ATTNAMES, values)
    share, persona_id = row[count], row[count + 1]
    if not customer_external_id:
        return ShownProduct(product, None, False, None)
    share = DEFAULT_HOLDOUT if share is None else Decimal(str(share))
    holdout = in_holdout(shop_id=shop.id, customer_external_id=customer_external_id, share=share)
    listing = None
    if persona_id:
        listing = (Listing.objects.filter(shop=shop, product=product, persona_id=persona_id,
                                          status=ListingStatus.PUBLISHED).select_related("image").first())
    return ShownProduct(product, listing, holdout, persona_id)


class ExposureLog:
    """A per-process buffer of exposures, flushed in bulk by a daemon thread."""

    def __init__(self):
        self._buffer: list[Exposure] = []
        self._lock = threading.Lock()
        # Held for a whole flush, so a caller's flush() returns only once a batch the background thread
        # took just before it is in the database too (a report read right after must see it).
        self._writing = threading.Lock()
        self._thread: threading.Thread | None = None

    def record(self, *, shop: Shop, shown: ShownProduct, customer_external_id: str, shown_at=None) -> None:
        # A plain tuple: the Exposure instances are built at flush time, off the request.
        listing = shown.eligible_listing
        exposure = (shop.id, customer_external_id, shown.product.id, listing.id if listing else None,
                    shown.variant, shown.holdout, shown_at or timezone.now())
        with self._lock:
            self._buffer.append(exposure)
            full = len(self._buffer) >= FLUSH_AT
        if settings.EXPOSURE_BACKGROUND_FLUSH:
            self._ensure_thread()
        if full:
            self.flush()

    def flush(self) -> int:
        """Write every buffered exposure; returns how many this call wrote."""
        with self._writing:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if batch:
                self._write(batch)
            return len(batch)

    def _write(self, batch: list[tuple]) -> None:
        ids = {record[1] for record in batch}
        shop_ids = {record[0] for record in batch}
        try:
            batch = _as_if_deletes_had_cascaded(batch)
            known = {(shop_id, external): pk for pk, shop_id, external in Customer.objects.filter(
                shop_id__in=shop_ids, external_id__in=ids).values_list("id", "shop_id", "external_id")}
            exposures = [Exposure(shop_id=shop_id, customer_external_id=external, product_id=product_id,
                                  customer_id=known.get((shop_id, external)), listing_id=listing_id,
                                  variant=variant, holdout=holdout, shown_at=shown_at)
                         for shop_id, external, product_id, listing_id, variant, holdout, shown_at in batch]
            Exposure.objects.bulk_create(exposures, batch_size=500)
        except Exception:
            with self._lock:  # put them back for the next round
                self._buffer = (batch + self._buffer)[-MAX_BUFFERED:]
            raise

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="exposure-flusher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY_SECONDS)
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - keep flushing; the batch was put back for the next round
                logger.exception("Could not write exposures")
            finally:
                close_old_connections()


def _as_if_deletes_had_cascaded(batch: list[tuple]) -> list[tuple]:
    """The buffered exposures as the database would hold them had they been written before a shop,
    product or listing was deleted: an exposure of a deleted shop or product goes (CASCADE), one of a
    deleted listing keeps its product with no listing (SET_NULL). Without this, one such row fails the
    whole batch's insert, the batch is put back, and every later exposure waits behind it. A product
    still there means its shop is too (deleting a shop deletes its products)."""
    products = set(Product.objects.filter(id__in={row[2] for row in batch}).values_list("shop_id", "id"))
    listings = set(Listing.objects.filter(id__in={row[3] for row in batch if row[3]}).values_list("id", flat=True))
    kept = [(shop_id, external, product_id, listing_id if listing_id in listings else None, *rest)
            for shop_id, external, product_id, listing_id, *rest in batch
            if (shop_id, product_id) in products]
    if len(kept) < len(batch):
        logger.info("%d buffered exposures dropped: their product was deleted before they were written, "
                    "or is not their shop's",
                    len(batch) - len(kept))
    return kept


exposure_log = ExposureLog()


def _flush_at_exit() -> None:
    try:
        exposure_log.flush()
    except Exception as problem:  # noqa: BLE001 - the process is ending; say what was lost, once
        logger.warning("Exposures still buffered at exit could not be written: %s", problem)


atexit.register(_flush_at_exit)
