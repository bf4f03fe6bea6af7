"""A product's cut-out: made once per photo, corrected by the owner (services, HackSoft style).

The cut-out is cached on `ProductStaging` with the digest of the photo it came from, so every job of
the product reuses it and a new photo is cut again. An owner's correction (a mask, a rectangle, or
keep/remove strokes) replaces it and stages the product's finished jobs again.

Auto-approve publishes a product's listings only once a person has vouched for its cut-out: the owner's
own mask, the photo's alpha channel, or the owner's "this cut-out is right" on an automatic cut-out
(`product_cutout_confirm`, once per photo, for every persona). A new photo or a new correction clears it.

Each cut-out is also stored with how sure the segmenter is of it (generation/imaging/cutout_check.py).
That is advice, telling the owner which cut-outs most need a look: measured on real photos it misses
wrong cut-outs and flags right ones, so it never publishes anything by itself. A rectangle or strokes
re-run the segmenter, so the check runs again with the same marks.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from generation.imaging.cutout import Cutout, NoClearProduct, cut_out, cutout_from_mask
from generation.imaging.cutout_check import CutoutConfidence, cutout_confidence
from generation.imaging.photo_input import PhotoRejected, check_photo_header, load_photo
from generation.models import CutoutSource, GenerationJob, JobStatus, Listing, ProductStaging
from profiles.models import Product, Shop

logger = logging.getLogger(__name__)
PREVIEW_LONG_SIDE = 512
Stroke = list[tuple[float, float]]


@dataclass(frozen=True)
class ProductPhoto:
    image: Image.Image
    digest: str


def _photo_bytes(product: Product) -> bytes:
    if not product.image:
        raise PhotoRejected(f"Product {product.external_id!r} has no photo; upload one with "
                            f"PUT /api/v1/products/{product.external_id}.")
    try:
        with product.image.open("rb") as handle:
            return handle.read()
    except OSError:
        raise PhotoRejected(f"The photo of product {product.external_id!r} is missing from storage; upload it "
                            f"again with PUT /api/v1/products/{product.external_id}.") from None


def product_photo_load(*, product: Product) -> ProductPhoto:
    """The product's photo, checked and upright. Raises PhotoRejected (a message for the owner)."""
    data = _photo_bytes(product)
    return ProductPhoto(image=load_photo(data), digest=hashlib.sha256(data).hexdigest())


def product_photo_check(*, product: Product) -> None:
    """What the photo's header already refuses (PhotoRejected), without decoding it."""
    check_photo_header(_photo_bytes(product))


def _staging_of(product: Product) -> ProductStaging:
    return ProductStaging.objects.get_or_create(product=product, defaults={"shop_id": product.shop_id})[0]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _cutout_preview(photo: Image.Image, alpha: np.ndarray) -> Image.Image:
    rgba = photo.convert("RGB").copy()
    rgba.putalpha(Image.fromarray(np.round(alpha * 255).astype(np.uint8)))
    rgba.thumbnail((PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE), Image.LANCZOS)
    return rgba


def _save_cutout(staging: ProductStaging, photo: ProductPhoto, cutout: Cutout, confidence: CutoutConfidence, *,
                 actor: str = "", user=None) -> None:
    """Store a new cut-out of the photo. Only a mask or alpha channel comes with a person's word; any other
    new cut-out waits for the owner's confirmation again."""
    for field in (staging.alpha, staging.cutout_preview):
        if field:
            field.delete(save=False)
    alpha = Image.fromarray(np.round(np.clip(cutout.alpha, 0, 1) * 255).astype(np.uint8))
    staging.alpha.save("alpha.png", ContentFile(_png(alpha)), save=False)
    staging.cutout_preview.save("cutout.png", ContentFile(_png(_cutout_preview(photo.image, cutout.alpha))),
                                save=False)
    staging.photo_digest, staging.source, staging.error = photo.digest, cutout.source, ""
    staging.cutout_at = timezone.now()
    _set_confidence(staging, confidence)
    if cutout.source == CutoutSource.OWNER_MASK:
        _set_confirmation(staging, actor=actor, user=user)
    elif cutout.source == CutoutSource.ALPHA_CHANNEL:
        _set_confirmation(staging, actor=ALPHA_CHANNEL_ACTOR)
    else:
        _set_confirmation(staging, actor="", confirmed=False)
    staging.save()


ALPHA_CHANNEL_ACTOR = "photo:alpha-channel"  # a transparent PNG: whoever uploaded it cut the product out
CONFIRMATION_FIELDS = ["confirmed_at", "confirmed_actor", "confirmed_by"]


def _set_confirmation(staging: ProductStaging, *, actor: str, user=None, confirmed: bool = True) -> None:
    staging.confirmed_at = timezone.now() if confirmed else None
    staging.confirmed_actor, staging.confirmed_by = actor, user if confirmed else None


def _set_confidence(staging: ProductStaging, confidence: CutoutConfidence) -> None:
    details = confidence.as_dict()
    staging.confidence, staging.confidence_flagged = details["score"], details["flagged"]
    staging.confidence_reasons, staging.confidence_signals = details["reasons"], details["signals"]


def _check_stored_cutout(staging: ProductStaging, photo: ProductPhoto, cutout: Cutout) -> None:
    """A segmenter's cut-out stored before the check existed is checked once, when it is next used.
    (An owner's rectangle or strokes of that time are not stored, so those cut-outs stay unchecked.)"""
    if staging.confidence is not None or staging.source != CutoutSource.SEGMENTER:
        return
    _set_confidence(staging, cutout_confidence(np.asarray(photo.image.convert("RGB")), cutout.alpha,
                                               source=cutout.source))
    staging.save(update_fields=["confidence", "confidence_flagged", "confidence_reasons", "confidence_signals",
                                "updated_at"])


def _stored_cutout(staging: ProductStaging) -> Cutout:
    with staging.alpha.open("rb") as handle:
        alpha = np.asarray(Image.open(handle).convert("L"), dtype=np.float32) / 255
    return Cutout(alpha=alpha, source=staging.source)


def product_cutout_get(*, product: Product, photo: ProductPhoto) -> Cutout:
    """The product's cut-out for this photo: the stored one, or a new one from the segmenter.
    Raises NoClearProduct with what the owner can do (the reason is kept on the staging row)."""
    staging = _staging_of(product)
    if staging.photo_digest == photo.digest and staging.alpha:
        cutout = _stored_cutout(staging)
        _check_stored_cutout(staging, photo, cutout)
        return cutout
    try:
        cutout = cut_out(photo.image)
    except NoClearProduct as exc:
        ProductStaging.objects.filter(pk=staging.pk).update(  # no cut-out of this photo, so nothing to vouch for
            error=str(exc), photo_digest=photo.digest, confidence=None, confidence_flagged=False,
            confidence_reasons=[], confidence_signals={}, cutout_at=None, confirmed_at=None, confirmed_actor="",
            confirmed_by=None)
        raise
    confidence = cutout_confidence(np.asarray(photo.image.convert("RGB")), cutout.alpha, source=cutout.source)
    _save_cutout(staging, photo, cutout, confidence)
    return cutout


@dataclass(frozen=True)
class CutoutCorrection:
    staging: ProductStaging
    restaged_jobs: list[GenerationJob]


def _corrected_cutout(photo: Image.Image, *, mask: bytes | None, rectangle, keep, remove) -> Cutout:
    """The owner's correction as a cut-out (a ValidationError for the owner if it can't be made)."""
    if mask is not None:
        try:  # the header only: a mask of the wrong size is refused before it is decoded
            mask_image = Image.open(io.BytesIO(mask))
            return cutout_from_mask(photo, mask_image)
        except ValueError as exc:
            raise ValidationError({"mask": str(exc)}) from None
        except (OSError, SyntaxError, Image.DecompressionBombError):
            raise ValidationError({"mask": "The mask is not a readable image: upload a PNG, white (or opaque) "
                                           "where the product is."}) from None
    if rectangle is None and not keep and not remove:
        raise ValidationError("Send a mask, a rectangle around the product, or keep/remove strokes.")
    try:
        return cut_out(photo, rectangle=rectangle, keep=keep or None, remove=remove or None)
    except NoClearProduct as exc:
        raise ValidationError({"rectangle" if rectangle is not None else "keep": str(exc)}) from None
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def product_cutout_correct(*, shop: Shop, product: Product, mask: bytes | None = None,
                           rectangle: tuple[float, float, float, float] | None = None,
                           keep: list[Stroke] | None = None, remove: list[Stroke] | None = None,
                           actor: str, user=None) -> CutoutCorrection:
    """Replace the product's cut-out with the owner's correction and stage its finished jobs again."""
    if product.shop_id != shop.id:
        raise ValidationError("The product must belong to the shop.")
    try:
        photo = product_photo_load(product=product)
    except PhotoRejected as exc:
        raise ValidationError({"image": str(exc)}) from None
    cutout = _corrected_cutout(photo.image, mask=mask, rectangle=rectangle, keep=keep, remove=remove)
    confidence = cutout_confidence(np.asarray(photo.image.convert("RGB")), cutout.alpha, source=cutout.source,
                                   rectangle=rectangle, keep=keep or (), remove=remove or ())
    with transaction.atomic():
        staging = _staging_of(product)
        _save_cutout(staging, photo, cutout, confidence, actor=actor, user=user)
        restaged = restage_product_jobs(product=product, actor=actor, user=user)
    return CutoutCorrection(staging=staging, restaged_jobs=restaged)


class CutoutNotReady(Exception):
    """There is no cut-out of the product's current photo to confirm (the API answers 409)."""


@dataclass(frozen=True)
class CutoutConfirmation:
    staging: ProductStaging
    published: list[Listing]


def _current_cutout_for_update(product: Product) -> ProductStaging:
    """The product's staging row, locked, if it holds a cut-out of the photo the product has now."""
    try:
        digest = hashlib.sha256(_photo_bytes(product)).hexdigest()
    except PhotoRejected as exc:
        raise CutoutNotReady(str(exc)) from None
    staging = ProductStaging.objects.select_for_update().filter(product=product).first()
    where = f"GET /api/v1/products/{product.external_id}/cutout (or the product's next job) makes it"
    if staging is None or not staging.alpha or (staging.error and staging.photo_digest == digest):
        reason = f" ({staging.error})" if staging is not None and staging.error else ""
        raise CutoutNotReady(f"There is no cut-out of {product.title!r} to confirm yet{reason}. {where}; look at "
                             "it, then confirm it or correct it.")
    if staging.photo_digest != digest:
        raise CutoutNotReady(f"The photo of {product.title!r} changed since its cut-out was made, so that "
                             f"cut-out can't be confirmed. {where} from the new photo; look at it, then confirm it.")
    return staging


def product_cutout_confirm(*, shop: Shop, product: Product, actor: str, user=None,
                           seen_cutout_at: datetime | None = None) -> CutoutConfirmation:
    """A person says the product's automatic cut-out is right. The product's draft listings drawn with this
    cut-out that pass the shop's auto-approve threshold are then approved and published by the policy, as
    they would have been when their jobs finished. Confirming again changes nothing.
    `seen_cutout_at`: the `cutout_at` of the cut-out the person looked at; refused if it changed since."""
    from generation.services import product_listings_auto_publish

    if product.shop_id != shop.id:
        raise ValidationError("The product must belong to the shop.")
    with transaction.atomic():
        staging = _current_cutout_for_update(product)
        if seen_cutout_at is not None and staging.cutout_at is not None and seen_cutout_at != staging.cutout_at:
            raise CutoutNotReady(f"The cut-out of {product.title!r} changed since you looked at it; look at the "
                                 "new one, then confirm it.")
        if not staging.cutout_confirmed:
            _set_confirmation(staging, actor=actor, user=user)
            staging.save(update_fields=[*CONFIRMATION_FIELDS, "updated_at"])
        published = product_listings_auto_publish(product=product, staging=staging)
    return CutoutConfirmation(staging=staging, published=published)


def product_staging_update(*, shop: Shop, product: Product, customisable: bool) -> ProductStaging:
    if product.shop_id != shop.id:
        raise ValidationError("The product must belong to the shop.")
    staging = _staging_of(product)
    ProductStaging.objects.filter(pk=staging.pk).update(customisable=customisable)
    staging.refresh_from_db()
    return staging


def restage_product_jobs(*, product: Product, actor: str, user=None) -> list[GenerationJob]:
    """The newest finished job of each persona, drawn again with the new cut-out. Queued jobs read the
    cut-out when they run, so they need nothing."""
    from generation.services import ListingConflict, generation_job_regenerate

    newest: dict[int, GenerationJob] = {}
    for job in GenerationJob.objects.filter(product=product).exclude(status=JobStatus.SUPERSEDED).order_by("id"):
        newest[job.persona_id] = job
    restaged = []
    for job in newest.values():
        if job.status not in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
            continue
        try:
            restaged.append(generation_job_regenerate(job=job, actor=actor, user=user))
        except ListingConflict as exc:  # a retired persona: nothing to draw for it
            logger.info("Job %s not staged again: %s", job.id, exc)
    return restaged
