"""Generation jobs and listings (HackSoft style: `<entity>_<action>`, keyword-only)."""

from __future__ import annotations

import io
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from generation.conditions import personalised_copy
from generation.models import (
    GeneratedImage,
    GenerationJob,
    GenerationSettings,
    JobStatus,
    Listing,
    ListingAudit,
    ListingStatus,
    ProductStaging,
    WebhookTopic,
    generated_images_folder,
)
from generation.staging import KEEP, PRINT, StagedVariant, fidelity_threshold_for, stage_variants
from generation.webhooks import listing_announce
from profiles.models import Persona, Product, Shop

if TYPE_CHECKING:
    from PIL import Image

    from generation.imaging.cutout import Cutout
    from generation.imaging.layout import Placement

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # our own cap: dramatiq does not count a SIGKILLed worker as a retry
CLAIM_TIMEOUT = timedelta(minutes=35)  # run_generation_jobs' time limit is 30 minutes: an older claim is dead
LIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED)


class BudgetExceeded(ValidationError):
    pass


class ListingConflict(Exception):
    """A listing cannot make this move from its current status (the API answers 409)."""


def generation_settings_for(*, shop: Shop) -> GenerationSettings:
    return GenerationSettings.objects.get_or_create(shop=shop)[0]


HOLDOUT_MAX = Decimal("0.9")


@transaction.atomic
def generation_settings_update(*, shop: Shop, holdout_share: Decimal, auto_approve_threshold: float | None,
                               daily_job_budget: int, fidelity_threshold: float) -> GenerationSettings:
    errors = {}
    if not 0 <= holdout_share <= HOLDOUT_MAX:
        errors["holdout_share"] = (f"Holdout share must be between 0 and {HOLDOUT_MAX} (0.2 keeps one shopper in "
                                   "five on the original images, to measure the benefit); you entered "
                                   f"{holdout_share}.")
    if auto_approve_threshold is not None and not 0 <= auto_approve_threshold <= 1:
        errors["auto_approve_threshold"] = ("The auto-approve threshold is a fidelity between 0 and 1; leave it "
                                            "empty to approve every listing by hand.")
    if not 0 <= fidelity_threshold <= 1:
        errors["fidelity_threshold"] = "The fidelity threshold must be between 0 and 1 (0.85 is the default; the compositor's own images score 0.92 or more, a redrawn product 0.3 or less)."
    if daily_job_budget < 0:
        errors["daily_job_budget"] = "The daily job budget cannot be negative; 0 stops new jobs."
    if errors:
        raise ValidationError(errors)
    current = GenerationSettings.objects.select_for_update().get_or_create(shop=shop)[0]
    current.holdout_share, current.auto_approve_threshold = holdout_share, auto_approve_threshold
    current.daily_job_budget, current.fidelity_threshold = daily_job_budget, fidelity_threshold
    current.save()
    return current


def _jobs_today(shop: Shop) -> int:
    since = timezone.now() - timedelta(days=1)
    return GenerationJob.objects.filter(shop=shop, created_at__gte=since).count()


@dataclass
class JobRequest:
    jobs: list[GenerationJob]
    created: list[GenerationJob]


@transaction.atomic
def generation_jobs_request(*, shop: Shop, product: Product, personas: list[Persona]) -> JobRequest:
    """Jobs for a product × personas; an existing live job for the same persona version is returned
    instead of a duplicate. New jobs are sent to the `gpu` queue after commit, in one message."""
    if product.shop_id != shop.id or any(persona.shop_id != shop.id for persona in personas):
        raise ValidationError("The product and personas must belong to the shop.")
    if not product.image:
        raise ValidationError({"product_id": f"Product {product.external_id!r} has no image; upload one with "
                                             f"PUT /api/v1/products/{product.external_id} first."})
    _check_photo(product)
    jobs, created = [], []
    budget = generation_settings_for(shop=shop).daily_job_budget
    for persona in personas:
        existing = GenerationJob.objects.filter(shop=shop, product=product, persona=persona,
                                                persona_version=persona.version, status__in=LIVE_STATUSES).first()
        if existing:
            jobs.append(existing)
            continue
        if _jobs_today(shop) >= budget:
            raise BudgetExceeded(f"The shop's budget of {budget} generation jobs a day is used up; raise it in "
                                 "the dashboard settings or try again tomorrow.")
        job = GenerationJob.objects.create(shop=shop, product=product, persona=persona,
                                           persona_version=persona.version, seed=random.randrange(1 << 31))
        jobs.append(job)
        created.append(job)
    if created:
        ids = [job.id for job in created]
        transaction.on_commit(lambda: _enqueue(ids, shop.id))
    return JobRequest(jobs=jobs, created=created)


def _check_photo(product: Product) -> None:
    """Refuse at once a photo no job could stage (too small, too large, not an image), from its header:
    the job decodes it."""
    from generation.imaging.photo_input import PhotoRejected
    from generation.product_staging import product_photo_check

    try:
        product_photo_check(product=product)
    except PhotoRejected as exc:
        raise ValidationError({"product_id": str(exc)}) from None


def _enqueue(job_ids: list[int], shop_id: int) -> None:
    """Send the jobs' message after their commit. The jobs are stored either way: with the broker
    down they are marked unsent, the owner still gets their answer, and the next sweep sends them."""
    from generation.actors import run_generation_jobs

    try:
        run_generation_jobs.send(job_ids, shop_id=shop_id)
    except Exception:  # any broker client error: pika, redis, dramatiq's ConnectionError
        logger.warning("Generation jobs %s of shop %s could not be sent; the sweeper will send them",
                       job_ids, shop_id, exc_info=True)
        GenerationJob.objects.filter(id__in=job_ids, status=JobStatus.QUEUED).update(enqueued_at=None)


def generation_job_cancel(*, job: GenerationJob) -> GenerationJob:
    updated = GenerationJob.objects.filter(pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now(), error="Cancelled by the owner.")
    job.refresh_from_db()
    if not updated and job.status != JobStatus.CANCELLED:
        raise ListingConflict(f"Job {job.id} has already {job.status}; nothing to cancel.")
    return job


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@transaction.atomic
def generation_job_regenerate(*, job: GenerationJob, actor: str, user=None) -> GenerationJob:
    """A new drawing of a finished job's product for its persona. The old job is superseded, and its
    listing retired unless it is live (publishing the new one replaces it then)."""
    job = GenerationJob.objects.select_for_update().select_related("product", "persona").get(pk=job.pk)
    if job.status not in FINISHED_STATUSES:
        raise ListingConflict(f"Job {job.id} is still {job.status}; wait for it to finish or cancel it first.")
    if job.persona.retired_at is not None:
        raise ListingConflict(f"Persona {job.persona.name!r} is retired; pick a live persona.")
    if job.status == JobStatus.SUCCEEDED:
        job.status = JobStatus.SUPERSEDED
        job.save(update_fields=["status"])
        listing = Listing.objects.filter(job=job, status__in=[ListingStatus.DRAFT, ListingStatus.APPROVED]).first()
        if listing is not None:
            listing_retire(listing=listing, actor=actor, user=user)
    request = generation_jobs_request(shop=job.shop, product=job.product, personas=[job.persona])
    return request.jobs[0]


def _claim(job_ids: list[int], message_id: str = "") -> list[GenerationJob]:
    """Take the jobs this delivery may work on. A redelivered message (worker killed mid-job) finds
    its jobs still `running`: they are taken again, and the attempt counter is what stops a loop.
    Another message for a job that is running (a duplicate: the sweeper re-sent a message that was
    only slow) leaves it to the delivery that claimed it, unless that claim is older than the
    actor's time limit (its worker is gone)."""
    claimed = []
    now = timezone.now()
    with transaction.atomic():
        for job in GenerationJob.objects.select_for_update().filter(
                id__in=job_ids, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).select_related("product", "persona"):
            if (job.status == JobStatus.RUNNING and message_id and job.claimed_by not in ("", message_id)
                    and job.claimed_at is not None and job.claimed_at > now - CLAIM_TIMEOUT):
                logger.info("Job %s is running under message %s; duplicate %s leaves it", job.id, job.claimed_by,
                            message_id)
                continue
            if job.attempts >= MAX_ATTEMPTS:
                job.status, job.finished_at = JobStatus.FAILED, timezone.now()
                job.error = f"Gave up after {job.attempts} attempts (the worker stopped mid-job each time)."
                job.save(update_fields=["status", "finished_at", "error"])
                continue
            job.status, job.attempts, job.progress = JobStatus.RUNNING, job.attempts + 1, 5
            job.started_at = job.started_at or now
            job.claimed_by, job.claimed_at = message_id, now
            job.backend = settings.GENERATION_BACKEND  # the worker's setting, not the web process's
            job.save(update_fields=["status", "attempts", "progress", "started_at", "claimed_by", "claimed_at",
                                    "backend"])
            claimed.append(job)
    return claimed


def _set_progress(job: GenerationJob, progress: int) -> bool:
    """Record progress; False when the job was cancelled meanwhile (then stop working on it)."""
    return bool(GenerationJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(progress=progress))


def generation_jobs_run(*, job_ids: list[int], generator=None, message_id: str = "") -> None:
    """Run jobs: all personas of one product in one batch, fidelity check, retries with new seeds.
    `generator` is a `generation.generator.Stager`; by default the one the settings name.
    `message_id`: the dramatiq message being delivered (see `_claim`)."""
    from generation.generator import GeneratorUnavailable, current_generator

    jobs = _claim(job_ids, message_id)
    if not jobs:
        return
    try:
        generator = generator or current_generator()
    except GeneratorUnavailable as exc:
        for job in jobs:
            _fail(job, str(exc))
        return
    by_product: dict[int, list[GenerationJob]] = {}
    for job in jobs:
        by_product.setdefault(job.product_id, []).append(job)
    for product_jobs in by_product.values():
        _run_product(product_jobs, generator)


def _run_product(jobs: list[GenerationJob], generator) -> None:
    product = jobs[0].product
    threshold = generation_settings_for(shop=product.shop).fidelity_threshold
    for job in jobs:
        _orphan_files_remove(job)
    staged = _product_ready_to_stage(product, jobs)
    if staged is None:
        return
    _draw_product_jobs(jobs, generator, staged, fidelity_threshold_for(threshold, staged.mode))
    if _cutout_changed_since(product, staged.cutout_at):
        _restage_jobs_drawn_with_an_old_cutout(product)


def _draw_product_jobs(jobs: list[GenerationJob], generator, staged: "ProductToStage", threshold: float) -> None:
    from generation.generator import generator_lock
    from generation.model.pipeline_upcdm import SamplingCancelled

    product = jobs[0].product
    photo, cutout, placement, mode = staged.photo, staged.cutout, staged.placement, staged.mode
    pending = list(jobs)
    for attempt in range(settings.GENERATION_MAX_TRIES):
        pending = [job for job in pending if _set_progress(job, 10 + 25 * attempt)]
        if not pending:
            return
        seed = jobs[0].seed + 1000 * attempt
        try:
            with generator_lock:
                scenes = generator.stage(photo=photo, cutout=cutout, placement=placement, product=product,
                                         personas=[job.persona for job in pending], seed=seed,
                                         steps=settings.GENERATION_STEPS,
                                         on_step=_progress_callback(pending, start=10 + 25 * attempt, span=20))
            variants = stage_variants(photo=photo, cutout=cutout, placement=placement, scenes=scenes, mode=mode,
                                      persona_vectors=_persona_vectors(pending) if mode == PRINT else None)
        except SamplingCancelled:
            return  # every job of the batch was cancelled; their status already says so
        except Exception as exc:  # noqa: BLE001 - the model's failure is the job's outcome, not a crash
            logger.exception("Staging failed for product %s", product.id)
            for job in pending:
                _fail(job, f"The generator raised {type(exc).__name__}: {exc}")
            return
        still_pending = []
        for job, variant in zip(pending, variants):
            accepted = variant.fidelity.score >= threshold
            stored = _store_image(job, seed, variant, accepted)
            if accepted:
                _succeed(job, stored, mode, cutout_at=staged.cutout_at)
            else:
                still_pending.append(job)
        pending = still_pending
    for job in pending:
        best = job.images.order_by("-fidelity").first()
        _fail(job, f"No image reached the fidelity threshold {threshold:.2f} in {settings.GENERATION_MAX_TRIES} "
                   f"tries (best {best.fidelity:.2f})." if best else "No image was produced.")


@dataclass(frozen=True)
class ProductToStage:
    photo: Image.Image
    cutout: Cutout
    placement: Placement
    mode: str  # KEEP or PRINT
    cutout_at: datetime | None  # when the cut-out was made: an owner's correction while the jobs run changes it


CUTOUT_CHANGED_ACTOR = "policy:cut-out-changed"


def _cutout_changed_since(product: Product, cutout_at: datetime | None) -> bool:
    return ProductStaging.objects.filter(product=product).exclude(cutout_at=cutout_at).exists()


def _restage_jobs_drawn_with_an_old_cutout(product: Product) -> None:
    """The owner corrected the cut-out while these jobs were drawing with the old one, and a correction
    restages only finished jobs: stage them again now that they have finished."""
    from generation.product_staging import restage_product_jobs

    restaged = restage_product_jobs(product=product, actor=CUTOUT_CHANGED_ACTOR)
    logger.info("Product %s: the cut-out changed while its jobs ran; staged again as jobs %s", product.id,
                [job.id for job in restaged])


def _product_ready_to_stage(product: Product, jobs: list[GenerationJob]) -> ProductToStage | None:
    """What the product's jobs draw with, or None when it cannot be staged: then every job has failed with
    what the owner can do about it."""
    from generation.imaging.cutout import NoClearProduct
    from generation.imaging.layout import place
    from generation.imaging.photo_input import PhotoRejected
    from generation.product_staging import product_cutout_get, product_photo_load

    try:
        photo = product_photo_load(product=product)
        cutout = product_cutout_get(product=product, photo=photo)
    except (PhotoRejected, NoClearProduct) as exc:
        for job in jobs:
            _fail(job, str(exc))
        return None
    placement = place(cutout.alpha, category=product.category, long_side=settings.LISTING_LONG_SIDE)
    staging = ProductStaging.objects.filter(product=product).values("customisable", "cutout_at").first() or {}
    return ProductToStage(photo=photo.image, cutout=cutout, placement=placement,
                          mode=PRINT if staging.get("customisable") else KEEP, cutout_at=staging.get("cutout_at"))


def _persona_vectors(jobs: list[GenerationJob]):
    import numpy as np

    from generation.conditions import persona_condition

    return np.stack([persona_condition(job.persona) for job in jobs])


def _progress_callback(jobs: list[GenerationJob], start: int, span: int):
    """Report sampling progress every few steps; stop once every job of the batch is cancelled."""

    def on_step(step: int, total: int) -> bool:
        if step % 5 and step != total:
            return True
        progress = start + span * step // total
        return any(_set_progress(job, progress) for job in jobs)

    return on_step


def _encoded(image, format_name: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name)
    return buffer.getvalue()


def _orphan_files_remove(job: GenerationJob) -> None:
    """Files in the job's folder that no image row names: a worker killed between writing a file and
    saving its row left them. Removed before the job draws again."""
    folder = generated_images_folder(job)
    try:
        _, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    kept = {field.name for image in job.images.all() for field in image.files}
    for name in files:
        if f"{folder}/{name}" not in kept:
            default_storage.delete(f"{folder}/{name}")


def _store_image(job: GenerationJob, seed: int, variant: StagedVariant, accepted: bool) -> GeneratedImage:
    """Idempotent per (job, seed): a redelivered job overwrites its files and row, never adds one."""
    from generation.imaging.composite import encode_listing, preview

    fidelity = variant.fidelity
    stored, _ = GeneratedImage.objects.get_or_create(
        job=job, seed=seed, defaults={"fidelity": fidelity.score, "fidelity_detail": fidelity.as_dict(),
                                      "accepted": accepted})
    for field in stored.files:
        field.delete(save=False)
    data, extension = encode_listing(variant.image)
    stored.image.save(f"seed-{seed}.{extension}", ContentFile(data), save=False)
    stored.preview.save(f"seed-{seed}-preview.jpg", ContentFile(_encoded(preview(variant.image), "JPEG")),
                        save=False)
    stored.scene.save(f"seed-{seed}-scene.png", ContentFile(_encoded(variant.scene)), save=False)
    stored.fidelity, stored.fidelity_detail, stored.accepted = fidelity.score, fidelity.as_dict(), accepted
    stored.save()
    return stored


def _fail(job: GenerationJob, reason: str) -> None:
    GenerationJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=JobStatus.FAILED, error=reason, finished_at=timezone.now())


@transaction.atomic
def _succeed(job: GenerationJob, image: GeneratedImage, mode: str, *, cutout_at: datetime | None) -> None:
    title, description = personalised_copy(job.product, job.persona)
    listing, _ = Listing.objects.get_or_create(
        job=job, defaults={"shop_id": job.shop_id, "product_id": job.product_id, "persona_id": job.persona_id,
                           "image": image, "title": title, "description": description, "fidelity": image.fidelity})
    GenerationJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED, progress=100, finished_at=timezone.now(), error="")
    threshold = generation_settings_for(shop=job.shop).auto_approve_threshold
    if auto_approve_passes(listing=listing, threshold=threshold, mode=mode) \
            and product_cutout_vouched(product_id=job.product_id, cutout_at=cutout_at):
        _auto_publish(listing)


AUTO_APPROVE_ACTOR = "policy:auto-approve"


def auto_approve_passes(*, listing: Listing, threshold: float | None, mode: str) -> bool:
    """Whether the shop's auto-approve threshold would publish this draft, judged by its fidelity alone."""
    return (threshold is not None and listing.status == ListingStatus.DRAFT
            and listing.fidelity >= fidelity_threshold_for(threshold, mode))


def _auto_publish(listing: Listing) -> Listing:
    listing = listing_approve(listing=listing, actor=AUTO_APPROVE_ACTOR)
    return listing_publish(listing=listing, actor=AUTO_APPROVE_ACTOR)


def product_cutout_vouched(*, product_id: int, cutout_at: datetime | None) -> bool:
    """Whether a person has vouched for the product's cut-out (generation/product_staging.py), and it is
    still the one made at `cutout_at`, the one a listing was drawn with. Fidelity compares a listing with
    the photo over the product *as cut out*, so it can't see a wrong cut-out, and the cut-out check misses
    some: auto-approve publishes nothing of a product before this.
    In a transaction, it locks the staging row as `product_cutout_confirm` does: a listing made while the
    owner confirms is either seen by the confirmation or sees it."""
    return ProductStaging.objects.select_for_update().filter(product_id=product_id, confirmed_at__isnull=False,
                                                             cutout_at=cutout_at).exists()


def product_listings_auto_publish(*, product: Product, staging: ProductStaging) -> list[Listing]:
    """The product's draft listings that auto-approve would have published had its cut-out been vouched
    for when their jobs finished: drawn with the current cut-out, for a live persona, above the threshold."""
    threshold = generation_settings_for(shop=product.shop).auto_approve_threshold
    if threshold is None or not staging.cutout_confirmed:
        return []
    mode = PRINT if staging.customisable else KEEP
    drafts = Listing.objects.filter(product=product, status=ListingStatus.DRAFT, job__status=JobStatus.SUCCEEDED,
                                    persona__retired_at__isnull=True)
    if staging.cutout_at is not None:  # drawn with an older cut-out (or photo): the owner has not seen it
        drafts = drafts.filter(created_at__gte=staging.cutout_at)
    published = []
    for listing in drafts.order_by("id"):
        if not auto_approve_passes(listing=listing, threshold=threshold, mode=mode):
            continue
        try:
            published.append(_auto_publish(listing))
        except ListingConflict as exc:  # moved by someone else meanwhile
            logger.info("Listing %s not published on the cut-out's confirmation: %s", listing.id, exc)
    return published


ANNOUNCED = {"publish": WebhookTopic.LISTING_PUBLISHED, "retire": WebhookTopic.LISTING_RETIRED}
TRANSITIONS = {
    "approve": ({ListingStatus.DRAFT}, ListingStatus.APPROVED, "approved_at"),
    "publish": ({ListingStatus.APPROVED}, ListingStatus.PUBLISHED, "published_at"),
    "retire": ({ListingStatus.DRAFT, ListingStatus.APPROVED, ListingStatus.PUBLISHED}, ListingStatus.RETIRED,
               "retired_at"),
}


@transaction.atomic
def _listing_move(*, listing: Listing, action: str, actor: str, user=None) -> Listing:
    allowed, target, stamp = TRANSITIONS[action]
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.status not in allowed:
        raise ListingConflict(f"A {listing.status} listing cannot be {target}; allowed from "
                              f"{', '.join(sorted(allowed))}.")
    if action == "publish":  # one live variant per product and persona: the newer one replaces the older
        for older in Listing.objects.select_for_update().filter(product=listing.product, persona=listing.persona,
                                                                status=ListingStatus.PUBLISHED):
            _listing_move(listing=older, action="retire", actor=actor, user=user)
    listing.status = target
    setattr(listing, stamp, timezone.now())
    try:
        listing.save()
    except IntegrityError as exc:
        raise ListingConflict(str(exc)) from exc
    ListingAudit.objects.create(listing=listing, action=action, actor=actor, user=user)
    if action in ANNOUNCED:
        listing_announce(listing=listing, topic=ANNOUNCED[action])
    return listing


def listing_approve(*, listing: Listing, actor: str, user=None) -> Listing:
    return _listing_move(listing=listing, action="approve", actor=actor, user=user)


def listing_publish(*, listing: Listing, actor: str, user=None) -> Listing:
    return _listing_move(listing=listing, action="publish", actor=actor, user=user)


def listing_retire(*, listing: Listing, actor: str, user=None) -> Listing:
    return _listing_move(listing=listing, action="retire", actor=actor, user=user)
