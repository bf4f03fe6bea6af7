"""Dashboard test data made straight in the database: personas with their summaries, products,
jobs with images and listings, events and daily revenue. No model runs."""

from __future__ import annotations

import functools
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from analytics.models import DailyProductStats
from generation.models import GeneratedImage, GenerationJob, Listing, ListingStatus
from generation.rendering import render_original
from profiles.models import Customer, CustomerProfile, Event, Persona, Product, Shop

PASSWORD = "correct horse battery"


def owner_of(*shops: Shop, username: str = "owner"):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    for shop in shops:
        shop.staff.add(user)
    return user


def persona_for(shop: Shop, name: str = "Heritage lovers", size: int = 12) -> Persona:
    return Persona.objects.create(
        shop=shop, name=name, size=size, sentiment=0.82,
        top_keywords=[["青花", 1.0], ["非遗", 0.6], ["手工", 0.3]],
        demand_mix={"L0": 0.1, "L1": 0.2, "L2": 0.6, "L3": 0.1, "L4": 0.0, "L5": 0.0},
        kansei={"emotional": 1.0, "simple": 0.4, "light": 0.2, "fashionable": 0.5, "warm": 0.9, "effortless": 0.3},
        positive_opinions=[{"representative": "青花的颜色非常正，送给长辈很体面。", "keywords": ["青花", "送礼"],
                            "size": 7, "examples": ["青花的颜色非常正，送给长辈很体面。"]}],
        negative_opinions=[{"representative": "扇骨容易断，包装也太简单了。", "keywords": ["扇骨", "包装"],
                            "size": 3, "examples": ["扇骨容易断，包装也太简单了。"]}])


@functools.cache
def vase_png() -> bytes:
    buffer = io.BytesIO()
    render_original("vase", seed=3, size=256).save(buffer, format="PNG")
    return buffer.getvalue()


def product_for(shop: Shop, external_id: str, title: str | None = None, image: bool = True) -> Product:
    """A product whose photo is a real 256 px file (a rendered vase), or none."""
    path = ""
    if image:
        path = default_storage.save(f"shops/{shop.id}/products/{external_id}/photo.png", ContentFile(vase_png()))
    return Product.objects.create(shop=shop, external_id=external_id, title=title or f"青花瓷瓶 {external_id}",
                                  category="vase", price=Decimal("199.00"), image=path)


def job_for(shop: Shop, product: Product, persona: Persona, *, status: str = "succeeded",
            listing_status: str | None = ListingStatus.DRAFT, version: int | None = None) -> GenerationJob:
    """A finished job with one accepted image and its listing (or a job without one)."""
    version = version or GenerationJob.objects.filter(product=product, persona=persona).count() + 1
    job = GenerationJob.objects.create(shop=shop, product=product, persona=persona, persona_version=version,
                                       status=status, progress=100 if status == "succeeded" else 40)
    if listing_status is not None:
        image = GeneratedImage.objects.create(job=job, seed=7, image=f"shops/{shop.id}/generated/job-{job.id}/a.png",
                                              fidelity=0.81, accepted=True)
        published = timezone.now() if listing_status == ListingStatus.PUBLISHED else None
        Listing.objects.create(shop=shop, product=product, persona=persona, job=job, image=image,
                               title=f"{product.title} · {persona.name}", fidelity=0.81, status=listing_status,
                               published_at=published)
    return job


def customer_for(shop: Shop, external_id: str, persona: Persona | None = None,
                 keywords: dict | None = None) -> Customer:
    now = timezone.now()
    customer = Customer.objects.create(shop=shop, external_id=external_id, first_seen_at=now, last_seen_at=now)
    if persona is not None:
        CustomerProfile.objects.create(customer=customer, shop=shop, persona=persona,
                                       keywords=keywords or {"青花": 1.0}, demand_mix={"L2": 1.0})
    return customer


def events_for(shop: Shop, customer: Customer, product: Product, moments: list[datetime], kind: str = "view") -> None:
    Event.objects.bulk_create([
        Event(shop=shop, event_id=f"{customer.external_id}-{kind}-{n}-{moment.timestamp()}", type=kind,
              customer=customer, product=product, occurred_at=moment, client_occurred_at=moment, received_at=moment)
        for n, moment in enumerate(moments)])


def revenue_on(shop: Shop, product: Product, day: date, net: str) -> DailyProductStats:
    return DailyProductStats.objects.create(shop=shop, product=product, day=day, currency=shop.currency,
                                            revenue=Decimal(net), net_revenue=Decimal(net))


def days_ago(days: int, hours: int = 0) -> datetime:
    return timezone.now() - timedelta(days=days, hours=hours)
