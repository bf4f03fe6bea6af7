"""Real, licensed product photos (generation/real_photos/) as products of a simulated shop, so the
demo stages photographs nobody here made beside the rendered catalogue."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from profiles.models import Product, Shop
from profiles.services import product_upsert

REAL_PHOTOS = Path(__file__).resolve().parents[2] / "generation" / "real_photos"
TITLES = {
    "ceramics": ("手作陶瓷", "98.00"), "fan": ("折扇", "68.00"), "scarf": ("丝巾", "128.00"),
    "jewellery": ("手作饰品", "88.00"), "paper_cut": ("剪纸", "38.00"), "wood_lacquer": ("木漆器", "158.00"),
    "tea_ware": ("茶具", "118.00"), "other": ("文创好物", "58.00"),
}


@dataclass(frozen=True)
class RealPhoto:
    stem: str
    path: Path
    mask_path: Path
    category: str
    background: str
    split: str
    source: str
    author: str
    licence: str


def real_photos(*, split: str | None = None, folder: Path = REAL_PHOTOS) -> list[RealPhoto]:
    """The manifest's photos (of one split: test, benchmark or reject), in manifest order."""
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    photos = []
    for row in rows:
        if split is not None and row["split"] != split:
            continue
        path = folder / "photos" / row["file"]
        photos.append(RealPhoto(stem=path.stem, path=path, mask_path=folder / "masks" / f"{path.stem}.png",
                                category=row["category"], background=row["background"], split=row["split"],
                                source=row["source"], author=row["author"], licence=row["licence"]))
    return photos


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
