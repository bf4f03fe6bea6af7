"""Generation: launch jobs for a product × personas, follow their progress, review a job's images."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from generation.models import GenerationJob
from generation.product_staging import (
    CutoutNotReady,
    product_cutout_confirm,
    product_cutout_correct,
    product_staging_update,
)
from generation.services import ListingConflict, generation_job_regenerate, generation_jobs_request
from shop_ai.dashboard.access import shop_view
from shop_ai.dashboard.forms import CutoutForm, JobLaunchForm
from shop_ai.dashboard.selectors import (
    job_detail,
    jobs_progress,
    jobs_recent,
    listing_waits_for_cutout,
    personas_launchable,
    products_with_photos,
)

MAX_POLLED_JOBS = 100


def actor_of(request: HttpRequest) -> str:
    return f"user:{request.user.get_username()}"


@shop_view
def generation_page(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    initial = {"personas": [request.GET["persona"]]} if request.GET.get("persona", "").isdigit() else None
    form = JobLaunchForm(request.POST or None, initial=initial, shop=shop, personas=personas_launchable(shop=shop))
    if request.method == "POST" and form.is_valid():
        try:
            result = generation_jobs_request(shop=shop, product=form.cleaned_data["product"],
                                             personas=list(form.cleaned_data["personas"]))
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            reused = len(result.jobs) - len(result.created)
            note = f" ({reused} already drawn or under way, shown below)" if reused else ""
            messages.success(request, f"{len(result.created)} new job(s) queued{note}.")
            return redirect("dashboard:generation")
    context = {"form": form, "jobs": jobs_recent(shop=shop), "products": products_with_photos(shop=shop),
               "section": "generation"}
    return render(request, "dashboard/generation.html", context, status=400 if form.errors else 200)


def _job_or_404(request: HttpRequest, job_id: int) -> GenerationJob:
    job = job_detail(shop=request.shop, job_id=job_id)
    if job is None:
        raise Http404("No such job in this shop.")
    return job


@shop_view
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    images = sorted(job.images.all(), key=lambda image: (not image.accepted, -image.fidelity))
    listing = getattr(job, "listing", None)
    staging = getattr(job.product, "staging", None)
    waits = listing_waits_for_cutout(shop=request.shop, listing=listing, staging=staging)
    return render(request, "dashboard/job.html", {"job": job, "images": images, "listing": listing,
                                                  "staging": staging, "cutout_form": CutoutForm(),
                                                  "waits_for_cutout": waits, "section": "generation"})


@require_POST
@shop_view
def job_cutout(request: HttpRequest, job_id: int) -> HttpResponse:
    """The owner corrects the product's cut-out (or marks it customisable); its jobs are staged again."""
    job = _job_or_404(request, job_id)
    form = CutoutForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return redirect("dashboard:job", job_id=job.id)
    fields = form.cleaned_data
    try:
        product_staging_update(shop=request.shop, product=job.product, customisable=fields["customisable"])
        correction = None
        if form.has_correction():
            correction = product_cutout_correct(
                shop=request.shop, product=job.product, mask=fields["mask"].read() if fields["mask"] else None,
                rectangle=fields["rectangle"], keep=fields["keep"], remove=fields["remove"],
                actor=actor_of(request), user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("dashboard:job", job_id=job.id)
    if correction is None:
        messages.success(request, "Saved. New jobs of this product use it.")
        return redirect("dashboard:job", job_id=job.id)
    same_persona = [new for new in correction.restaged_jobs if new.persona_id == job.persona_id]
    messages.success(request, f"Cut-out saved; {len(correction.restaged_jobs)} job(s) of {job.product.title} "
                              "are drawn again with it.")
    return redirect("dashboard:job", job_id=same_persona[0].id if same_persona else job.id)


@require_POST
@shop_view
def job_cutout_confirm(request: HttpRequest, job_id: int) -> HttpResponse:
    """The owner says the product's cut-out is right (once for every persona's listing of the product)."""
    job = _job_or_404(request, job_id)
    try:
        seen = datetime.fromisoformat(request.POST["cutout_at"]) if request.POST.get("cutout_at") else None
    except ValueError:
        seen = None  # not a time this page wrote: confirm the cut-out as it is now
    try:
        confirmation = product_cutout_confirm(shop=request.shop, product=job.product, actor=actor_of(request),
                                              user=request.user, seen_cutout_at=seen)
    except CutoutNotReady as exc:
        messages.error(request, str(exc))
        return redirect("dashboard:job", job_id=job.id)
    published = len(confirmation.published)
    note = f" Auto-approve published {published} listing(s) of it." if published else ""
    messages.success(request, f"The cut-out of {job.product.title} is confirmed.{note}")
    return redirect("dashboard:job", job_id=job.id)


@require_POST
@shop_view
def job_regenerate(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    try:
        new_job = generation_job_regenerate(job=job, actor=actor_of(request), user=request.user)
    except (ListingConflict, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("dashboard:job", job_id=job.id)
    messages.success(request, f"Drawing {job.product.title} again for {job.persona.name}: job {new_job.id}.")
    return redirect("dashboard:job", job_id=new_job.id)


@require_GET
@shop_view
def job_progress(request: HttpRequest) -> JsonResponse:
    """Status and progress of the jobs a page shows, for its 2-second poll."""
    raw_ids = request.GET.get("ids", "").split(",")
    ids = [int(raw) for raw in raw_ids if raw.strip().isdigit()][:MAX_POLLED_JOBS]
    rows = jobs_progress(shop=request.shop, job_ids=ids)
    jobs = [{"id": row["id"], "status": row["status"], "progress": row["progress"], "error": row["error"],
             "listing_status": row["listing__status"],
             "url": reverse("dashboard:job", kwargs={"job_id": row["id"]})} for row in rows]
    return JsonResponse({"jobs": jobs})
