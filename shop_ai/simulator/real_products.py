"""Real, licensed product photos (generation/real_photos/) as products of a simulated shop, so the
demo stages photographs nobody here made beside the rendered catalogue."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from generation.real_photos import RealPhoto, real_photos
from profiles.models import Product, Shop
from profiles.services import product_upsert

TITLES = {
    "ceramics": ("手作陶瓷", "98.00"), "fan": ("折扇", "68.00"), "scarf": ("丝巾", "128.00"),
    "jewellery": ("手作饰品", "88.00"), "paper_cut": ("剪纸", "38.00"), "wood_lacquer": ("木漆器", "158.00"),
    "tea_ware": ("茶具", "118.00"), "other": ("文创好物", "58.00"),
}


def real_products_import(*, shop: Shop, count: int, split: str = "benchmark") -> list[Product]:
    """Up to `count` real photos as products `real-<stem>`, one category after another."""
    by_category: dict[str, list[RealPhoto]] = {}
    for photo in real_photos(split=split):
        by_category.setdefault(photo.category, []).append(photo)
    chosen: list[RealPhoto] = []
    while len(chosen) < count and any(by_category.values()):
        for photos in by_category.values():
            if photos and len(chosen) < count:
                chosen.append(photos.pop(0))
    products = []
    for photo in chosen:
        title, price = TITLES.get(photo.category, TITLES["other"])
        upload = SimpleUploadedFile(photo.path.name, photo.path.read_bytes(), content_type="image/jpeg")
        product, _ = product_upsert(shop=shop, external_id=f"real-{photo.stem}", title=title,
                                    description=f"Photo: {photo.author}, {photo.licence}.",
                                    category=photo.category, price=Decimal(price), tags=[title], image=upload)
        products.append(product)
    return products
