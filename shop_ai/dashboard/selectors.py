"""Reads of the owner dashboard. Every function takes the shop and scopes each query by it; none
runs a query per row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import DailyProductStats
from generation.models import (
    GenerationJob,
    GenerationSettings,
    JobStatus,
    Listing,
    ListingStatus,
    ProductStaging,
    WebhookDelivery,
    WebhookEndpoint,
)
from profiles.models import (
    ApiKey,
    Customer,
    Event,
    InboundWebhook,
    Persona,
    PersonaClustering,
    Product,
    Shop,
    StoreConnection,
)
from profiles.selectors import live_personas

OVERVIEW_DAYS = 30
RECENT_JOBS = 50
PRODUCT_SUGGESTIONS = 500
ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
CUTOUTS_SHOWN = 10


def user_shops(*, user) -> list[Shop]:
    return list(Shop.objects.filter(staff=user).order_by("name"))


def shop_today(*, shop: Shop) -> date:
    return timezone.now().astimezone(ZoneInfo(shop.timezone)).date()


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


def events_per_day(*, shop: Shop, days: int = OVERVIEW_DAYS, today: date | None = None) -> list[DayCount]:
    """Events per calendar day of the shop's time zone, oldest first, days without events as 0."""
    zone = ZoneInfo(shop.timezone)
    today = today or shop_today(shop=shop)
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=zone)
    counted = dict(Event.objects.filter(shop=shop, occurred_at__gte=since)
                   .annotate(day=TruncDate("occurred_at", tzinfo=zone)).values("day")
                   .annotate(n=Count("id")).values_list("day", "n"))
    return [DayCount(day, counted.get(day, 0)) for day in (first + timedelta(days=i) for i in range(days))]


@dataclass(frozen=True)
class WeeklyRevenue:
    this_week: Decimal
    last_week: Decimal
    currency: str

    @property
    def change(self) -> float | None:
        """Relative change; None when last week earned nothing (no ratio to show)."""
        if not self.last_week:
            return None
        return float((self.this_week - self.last_week) / self.last_week)


def revenue_this_week_vs_last(*, shop: Shop, today: date | None = None) -> WeeklyRevenue:
    """Net revenue (purchases minus refunds) of the last 7 days, today included, and the 7 before."""
    today = today or shop_today(shop=shop)
    week_start, last_week_start = today - timedelta(days=6), today - timedelta(days=13)
    sums = DailyProductStats.objects.filter(shop=shop, day__range=(last_week_start, today)).aggregate(
        this_week=Sum("net_revenue", filter=Q(day__gte=week_start)),
        last_week=Sum("net_revenue", filter=Q(day__lt=week_start)))
    return WeeklyRevenue(this_week=sums["this_week"] or Decimal(0), last_week=sums["last_week"] or Decimal(0),
                         currency=shop.currency)


@dataclass(frozen=True)
class Overview:
    customers: int
    personas: int
    jobs_running: int
    jobs_queued: int
    listings_live: int
    cutouts_waiting: int
    events: list[DayCount]
    revenue: WeeklyRevenue

    @property
    def events_total(self) -> int:
        return sum(day.count for day in self.events)


def overview_for(*, shop: Shop) -> Overview:
    jobs = GenerationJob.objects.filter(shop=shop, status__in=ACTIVE_JOB_STATUSES).aggregate(
        running=Count("id", filter=Q(status=JobStatus.RUNNING)), queued=Count("id", filter=Q(status=JobStatus.QUEUED)))
    return Overview(
        customers=Customer.objects.filter(shop=shop).count(),
        personas=live_personas(shop=shop).filter(is_new_visitors=False).count(),
        jobs_running=jobs["running"], jobs_queued=jobs["queued"],
        listings_live=Listing.objects.filter(shop=shop, status=ListingStatus.PUBLISHED).count(),
        cutouts_waiting=_cutouts_awaiting_check(shop).count(),
        events=events_per_day(shop=shop),
        revenue=revenue_this_week_vs_last(shop=shop),
    )


def _cutouts_awaiting_check(shop: Shop) -> QuerySet[ProductStaging]:
    """Products with draft listings whose cut-out no person has vouched for yet: auto-approve waits for it."""
    drafts = Q(product__listings__status=ListingStatus.DRAFT)
    return (ProductStaging.objects.filter(shop=shop, confirmed_at__isnull=True, error="").exclude(alpha="")
            .annotate(drafts=Count("product__listings", filter=drafts),
                      job_id=Max("product__listings__job_id", filter=drafts))
            .filter(drafts__gt=0))


def cutouts_awaiting_check(*, shop: Shop, limit: int = CUTOUTS_SHOWN) -> list[dict]:
    """The first of them to look at: the ones the cut-out check flagged, least sure first; each with the
    job page of its newest draft, where the cut-out can be confirmed or corrected."""
    return list(_cutouts_awaiting_check(shop)
                .order_by("-confidence_flagged", F("confidence").asc(nulls_last=True), "-drafts",
                          "product__external_id")
                .values("product__external_id", "product__title", "confidence", "confidence_flagged", "drafts",
                        "job_id")[:limit])


def listing_waits_for_cutout(*, shop: Shop, listing: Listing | None, staging: ProductStaging | None) -> bool:
    """Whether auto-approve would have published this draft but for the product's unconfirmed cut-out."""
    from generation.services import auto_approve_passes
    from generation.staging import KEEP, PRINT

    if listing is None or staging is None or staging.cutout_confirmed:
        return False
    threshold = generation_settings_current(shop=shop).auto_approve_threshold
    return auto_approve_passes(listing=listing, threshold=threshold, mode=PRINT if staging.customisable else KEEP)


def personas_live(*, shop: Shop) -> list[Persona]:
    return list(live_personas(shop=shop))


def clustering_version(*, shop: Shop) -> str:
    """Changes whenever the personas are re-fitted: what cached persona charts are keyed by."""
    fitted = PersonaClustering.objects.filter(shop=shop).values_list("version", "fitted_at").first()
    version, fitted_at = fitted or (0, None)
    return f"{shop.id}-{shop.created_at.timestamp()}-{version}-{fitted_at.timestamp() if fitted_at else 0}"


def personas_launchable(*, shop: Shop) -> QuerySet[Persona]:
    """Personas a generation job can be drawn for (the new-visitors bucket has no style to draw)."""
    return live_personas(shop=shop).filter(is_new_visitors=False)


def products_with_photos(*, shop: Shop, limit: int = PRODUCT_SUGGESTIONS) -> list[dict]:
    return list(Product.objects.filter(shop=shop).exclude(image="").order_by("external_id")
                .values("external_id", "title")[:limit])


def jobs_recent(*, shop: Shop, limit: int = RECENT_JOBS) -> list[GenerationJob]:
    return list(GenerationJob.objects.filter(shop=shop).select_related("product", "persona", "listing")
                .order_by("-created_at", "-id")[:limit])


def jobs_progress(*, shop: Shop, job_ids: list[int]) -> list[dict]:
    return list(GenerationJob.objects.filter(shop=shop, id__in=job_ids)
                .values("id", "status", "progress", "error", "listing__id", "listing__status").order_by("id"))


def job_detail(*, shop: Shop, job_id: int) -> GenerationJob | None:
    """The job with its product (and the product's cut-out), persona, listing and images, or None outside
    the shop."""
    return (GenerationJob.objects.filter(shop=shop, id=job_id)
            .select_related("product", "product__staging", "persona", "listing")
            .prefetch_related("images").first())


def listings_filtered(*, shop: Shop, status: str | None) -> QuerySet[Listing]:
    listings = Listing.objects.filter(shop=shop).select_related("product", "persona", "image")
    if status:
        listings = listings.filter(status=status)
    return listings.order_by("-published_at", "-created_at", "-id")


def listing_counts(*, shop: Shop) -> dict[str, int]:
    counts = dict(Listing.objects.filter(shop=shop).values("status").annotate(n=Count("id")).values_list("status", "n"))
    return {status: counts.get(status, 0) for status in ListingStatus.values}


def api_keys(*, shop: Shop) -> list[ApiKey]:
    return list(ApiKey.objects.filter(shop=shop).order_by("revoked_at", "-created_at"))


def generation_settings_current(*, shop: Shop) -> GenerationSettings:
    """The shop's settings, or the defaults unsaved (a GET must not write)."""
    return GenerationSettings.objects.filter(shop=shop).first() or GenerationSettings(shop=shop)


RECENT_WEBHOOKS = 20


def store_connection_current(*, shop: Shop) -> StoreConnection | None:
    return StoreConnection.objects.filter(shop=shop).first()


def inbound_webhooks_recent(*, shop: Shop, limit: int = RECENT_WEBHOOKS) -> list[InboundWebhook]:
    return list(InboundWebhook.objects.filter(shop=shop).order_by("-received_at", "-id")[:limit])


def webhook_endpoints(*, shop: Shop) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(shop=shop).order_by("-is_active", "-created_at"))


def webhook_deliveries_recent(*, shop: Shop, limit: int = RECENT_WEBHOOKS) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(shop=shop).select_related("endpoint")
                .order_by("-created_at", "-id")[:limit])
