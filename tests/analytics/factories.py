"""Listings made straight in the database (no generation run), for report tests."""

from __future__ import annotations

from datetime import datetime

from generation.models import GeneratedImage, GenerationJob, Listing, ListingStatus
from profiles.models import Persona, Product, Shop


def persona_for(shop: Shop, name: str = "heritage") -> Persona:
    return Persona.objects.get_or_create(shop=shop, name=name, defaults={"size": 10})[0]


def listing_live(*, shop: Shop, product: Product, persona: Persona, published_at: datetime,
                 retired_at: datetime | None = None) -> Listing:
    job = GenerationJob.objects.create(shop=shop, product=product, persona=persona, status="succeeded",
                                       progress=100, persona_version=GenerationJob.objects.count() + 1)
    image = GeneratedImage.objects.create(job=job, seed=1, image=f"shops/{shop.id}/generated/{job.id}.png",
                                          fidelity=0.9, accepted=True)
    return Listing.objects.create(
        shop=shop, product=product, persona=persona, job=job, image=image, title=f"{product.title} for {persona.name}",
        fidelity=0.9, status=ListingStatus.RETIRED if retired_at else ListingStatus.PUBLISHED,
        published_at=published_at, retired_at=retired_at)
