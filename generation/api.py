"""Generation jobs, listings and the storefront, over HTTP. Thin views: input, one service call, output."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from generation.imaging.cutout import NoClearProduct
from generation.imaging.photo_input import PhotoRejected
from generation.models import GenerationJob, Listing, ListingStatus, ProductStaging
from generation.product_staging import (
    CutoutNotReady,
    product_cutout_confirm,
    product_cutout_correct,
    product_cutout_get,
    product_photo_load,
    product_staging_update,
)
from generation.services import (
    ListingConflict,
    generation_job_cancel,
    generation_jobs_request,
    listing_approve,
    listing_publish,
    listing_retire,
)
from generation.storefront import exposure_log, storefront_lookup
from profiles.api.auth import request_shop
from profiles.api.browser_access import BrowserAccess
from profiles.api.serializers import ErrorSchema
from profiles.models import Persona, Product
from profiles.selectors import live_personas


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _absolute(request, field) -> str | None:
    return request.build_absolute_uri(field.url) if field else None


class JobRequestInput(serializers.Serializer):
    product_id = serializers.CharField(max_length=100)
    persona_id = serializers.IntegerField(required=False, allow_null=True,
                                         help_text="Omit or null: every live persona of the shop.")


class ImageOutput(serializers.Serializer):
    url = serializers.CharField(help_text="The listing image, 1024-2048 px.")
    preview_url = serializers.CharField(allow_null=True)
    scene_url = serializers.CharField(allow_null=True, help_text="The scene the model drew behind the product.")
    seed = serializers.IntegerField()
    fidelity = serializers.FloatField()
    fidelity_detail = serializers.DictField()
    accepted = serializers.BooleanField()


class JobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.CharField(source="product.external_id")
    persona_id = serializers.IntegerField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    images = serializers.SerializerMethodField()
    listing_id = serializers.SerializerMethodField()

    @extend_schema_field(ImageOutput(many=True))
    def get_images(self, job) -> list[dict]:
        request = self.context["request"]
        return [{"url": _absolute(request, image.image), "preview_url": _absolute(request, image.preview),
                 "scene_url": _absolute(request, image.scene), "seed": image.seed, "fidelity": image.fidelity,
                 "fidelity_detail": image.fidelity_detail, "accepted": image.accepted}
                for image in job.images.order_by("id")]

    def get_listing_id(self, job) -> int | None:
        return getattr(job, "listing", None) and job.listing.id


class GenerationJobsView(APIView):
    @extend_schema(operation_id="generation_jobs_create", request=JobRequestInput,
                   responses={202: JobOutput(many=True), 400: ErrorSchema, 404: ErrorSchema})
    def post(self, request):
        shop = request_shop(request)
        data = JobRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        product = get_object_or_404(Product, shop=shop, external_id=data.validated_data["product_id"])
        persona_id = data.validated_data.get("persona_id")
        if persona_id is None:
            personas = list(live_personas(shop=shop).filter(is_new_visitors=False))
        else:
            personas = [get_object_or_404(Persona, shop=shop, id=persona_id, retired_at__isnull=True)]
        if not personas:
            raise exceptions.ValidationError({"persona_id": "The shop has no personas yet: send events or run "
                                                            "`manage.py recompute_personas`."})
        result = generation_jobs_request(shop=shop, product=product, personas=personas)
        body = JobOutput(result.jobs, many=True, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class GenerationJobView(APIView):
    @extend_schema(operation_id="generation_jobs_retrieve", responses={200: JobOutput, 404: ErrorSchema})
    def get(self, request, job_id: int):
        job = get_object_or_404(GenerationJob.objects.select_related("product", "listing"), shop=request_shop(request),
                                id=job_id)
        return Response(JobOutput(job, context={"request": request}).data)


class GenerationJobCancelView(APIView):
    @extend_schema(operation_id="generation_jobs_cancel", request=None,
                   responses={200: JobOutput, 404: ErrorSchema, 409: ErrorSchema})
    def post(self, request, job_id: int):
        job = get_object_or_404(GenerationJob, shop=request_shop(request), id=job_id)
        try:
            job = generation_job_cancel(job=job)
        except ListingConflict as exc:
            raise Conflict(str(exc)) from exc
        return Response(JobOutput(job, context={"request": request}).data)


class ListingOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.CharField(source="product.external_id")
    persona_id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    image_url = serializers.SerializerMethodField()
    fidelity = serializers.FloatField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)

    def get_image_url(self, listing) -> str | None:
        return _absolute(self.context["request"], listing.image.best_file)


class ListingsView(APIView):
    @extend_schema(operation_id="listings_list", responses={200: ListingOutput(many=True), 400: ErrorSchema},
                   parameters=[OpenApiParameter("status", str, enum=[s.value for s in ListingStatus])])
    def get(self, request):
        listings = Listing.objects.filter(shop=request_shop(request)).select_related("product", "image")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in ListingStatus.values:
                raise exceptions.ValidationError({"status": f"must be one of {', '.join(ListingStatus.values)}"})
            listings = listings.filter(status=wanted)
        listings = listings.order_by("-created_at")[:500]
        return Response(ListingOutput(listings, many=True, context={"request": request}).data)


def _listing_action(service):
    class ListingActionView(APIView):
        @extend_schema(operation_id=f"listings_{service.__name__.removeprefix('listing_')}", request=None,
                       responses={200: ListingOutput, 404: ErrorSchema, 409: ErrorSchema})
        def post(self, request, listing_id: int):
            listing = get_object_or_404(Listing, shop=request_shop(request), id=listing_id)
            try:
                listing = service(listing=listing, actor=f"api-key:{request.auth.prefix}")
            except ListingConflict as exc:
                raise Conflict(str(exc)) from exc
            return Response(ListingOutput(listing, context={"request": request}).data)

    ListingActionView.__name__ = f"Listing{service.__name__.title().replace('_', '')}View"
    return ListingActionView


ListingApproveView = _listing_action(listing_approve)
ListingPublishView = _listing_action(listing_publish)
ListingRetireView = _listing_action(listing_retire)


class CutoutInput(serializers.Serializer):
    mask = serializers.FileField(required=False, help_text=(
        "A mask or alpha PNG the photo's size: white (or opaque) where the product is. Multipart."))
    rectangle = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, required=False,
                                      help_text="[x0, y0, x1, y1] around the product, in photo pixels.")
    keep = serializers.ListField(child=serializers.ListField(child=serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2)), required=False, max_length=50,
        help_text="Strokes over the product, each a list of [x, y] points in photo pixels.")
    remove = serializers.ListField(child=serializers.ListField(child=serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2)), required=False, max_length=50,
        help_text="Strokes over what is not the product.")
    customisable = serializers.BooleanField(required=False, help_text=(
        "Print-on-demand product: the persona's motif may go on its printable surface."))


class CutoutOutput(serializers.Serializer):
    product_id = serializers.CharField(source="product.external_id")
    source = serializers.CharField(help_text="alpha-channel, segmenter, owner-mask, owner-rectangle or owner-strokes")
    customisable = serializers.BooleanField()
    alpha_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    error = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True, help_text=(
        "How sure the segmenter is of the cut-out, 0-1; 1 for your own mask or the photo's alpha channel."))
    flagged = serializers.BooleanField(source="confidence_flagged", help_text=(
        "The check's advice: the cut-out may be wrong, so look at this one first."))
    reasons = serializers.ListField(child=serializers.CharField(), source="confidence_reasons",
                                    help_text="Why the cut-out was flagged, in plain words.")
    confirmed = serializers.BooleanField(source="cutout_confirmed", help_text=(
        "A person vouched for the cut-out: your mask, the photo's alpha channel, or your confirmation "
        "(POST …/cutout/confirm). Auto-approve publishes the product's listings only once it is true."))
    confirmed_by = serializers.CharField(source="confirmed_actor", allow_blank=True, help_text=(
        "Who vouched for it: user:<name>, api-key:<prefix> or photo:alpha-channel; empty before."))
    confirmed_at = serializers.DateTimeField(allow_null=True)
    cutout_at = serializers.DateTimeField(allow_null=True, help_text=(
        "When this cut-out was made; send it back with a confirmation to confirm this cut-out and no newer one."))
    advice = serializers.CharField(source="cutout_advice",
                                   help_text="What to do about the cut-out; empty once it is confirmed.")
    restaged_job_ids = serializers.SerializerMethodField()
    published_listing_ids = serializers.SerializerMethodField(help_text=(
        "Listings auto-approve published because of this confirmation (only in its answer)."))

    def get_alpha_url(self, staging) -> str | None:
        return _absolute(self.context["request"], staging.alpha)

    def get_preview_url(self, staging) -> str | None:
        return _absolute(self.context["request"], staging.cutout_preview)

    def get_restaged_job_ids(self, staging) -> list[int]:
        return self.context.get("restaged", [])

    def get_published_listing_ids(self, staging) -> list[int]:
        return self.context.get("published", [])


class ProductCutoutView(APIView):
    """The product's cut-out: see it, correct it (a correction stages the product's jobs again and takes a
    confirmation back, unless it is your own mask), and mark the product customisable."""

    @extend_schema(operation_id="product_cutout_retrieve", responses={200: CutoutOutput, 400: ErrorSchema,
                                                                      404: ErrorSchema})
    def get(self, request, product_id: str):
        product = get_object_or_404(Product, shop=request_shop(request), external_id=product_id)
        try:
            photo = product_photo_load(product=product)
            product_cutout_get(product=product, photo=photo)
        except PhotoRejected as exc:
            raise exceptions.ValidationError({"image": str(exc)}) from None
        except NoClearProduct:
            pass  # the staging row keeps the reason and what the owner can do
        staging = ProductStaging.objects.get(product=product)
        return Response(CutoutOutput(staging, context={"request": request}).data)

    @extend_schema(operation_id="product_cutout_update", request=CutoutInput,
                   responses={200: CutoutOutput, 400: ErrorSchema, 404: ErrorSchema})
    def put(self, request, product_id: str):
        shop = request_shop(request)
        product = get_object_or_404(Product, shop=shop, external_id=product_id)
        data = CutoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        if "customisable" in fields:
            product_staging_update(shop=shop, product=product, customisable=fields["customisable"])
        restaged = []
        if {"mask", "rectangle", "keep", "remove"} & set(fields):
            mask = fields["mask"].read() if "mask" in fields else None
            correction = product_cutout_correct(
                shop=shop, product=product, mask=mask, rectangle=fields.get("rectangle"),
                keep=fields.get("keep"), remove=fields.get("remove"), actor=f"api-key:{request.auth.prefix}")
            restaged = [job.id for job in correction.restaged_jobs]
        elif "customisable" not in fields:
            raise exceptions.ValidationError("Send a mask, a rectangle, keep/remove strokes, or customisable.")
        staging = ProductStaging.objects.get(product=product)
        return Response(CutoutOutput(staging, context={"request": request, "restaged": restaged}).data)


class CutoutConfirmInput(serializers.Serializer):
    cutout_at = serializers.DateTimeField(required=False, help_text=(
        "The `cutout_at` of the cut-out you looked at (GET …/cutout): the confirmation is refused (409) if the "
        "cut-out changed since. Omit it to confirm the current cut-out."))


class ProductCutoutConfirmView(APIView):
    """Say that the product's cut-out is right: auto-approve then publishes its listings."""

    @extend_schema(operation_id="product_cutout_confirm", request=CutoutConfirmInput,
                   responses={200: CutoutOutput, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema})
    def post(self, request, product_id: str):
        shop = request_shop(request)
        product = get_object_or_404(Product, shop=shop, external_id=product_id)
        data = CutoutConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            confirmation = product_cutout_confirm(shop=shop, product=product, actor=f"api-key:{request.auth.prefix}",
                                                  seen_cutout_at=data.validated_data.get("cutout_at"))
        except CutoutNotReady as exc:
            raise Conflict(str(exc)) from exc
        published = [listing.id for listing in confirmation.published]
        return Response(CutoutOutput(confirmation.staging, context={"request": request, "published": published}).data)


class StorefrontOutput(serializers.Serializer):
    product_id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    image_url = serializers.CharField(allow_null=True)
    variant = serializers.CharField(help_text="persona:<id> or original")
    holdout = serializers.BooleanField()


def _storefront_answer(request, shop, product_id: str) -> Response:
    customer_id = (request.query_params.get("customer_id") or "").strip()[:100]
    shown = storefront_lookup(shop=shop, product_external_id=product_id, customer_external_id=customer_id or None)
    if shown is None:
        raise Http404("No Product matches the given query.")
    if customer_id:
        exposure_log.record(shop=shop, shown=shown, customer_external_id=customer_id)
    # The fields of StorefrontOutput (which documents them), built directly: this answers every page view.
    body = {"product_id": shown.product.external_id, "title": shown.title, "description": shown.description,
            "image_url": _absolute(request, shown.image), "variant": shown.variant, "holdout": shown.holdout}
    return Response(body, headers={"Cache-Control": "private, max-age=60", "Vary": "Authorization"})


class StorefrontProductView(APIView):
    @extend_schema(operation_id="storefront_product", responses={200: StorefrontOutput, 404: ErrorSchema},
                   parameters=[OpenApiParameter("customer_id", str, required=False)])
    def get(self, request, product_id: str):
        return _storefront_answer(request, request_shop(request), product_id)


class BrowserProductView(BrowserAccess, APIView):
    """The storefront answer for the browser snippet, with the shop's publishable key."""

    cors_methods = "GET, OPTIONS"

    @extend_schema(operation_id="browser_product", auth=[],
                   responses={200: StorefrontOutput, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema},
                   parameters=[OpenApiParameter("key", str, required=True, description="publishable key, pk_…"),
                               OpenApiParameter("customer_id", str, required=False)])
    def get(self, request, product_id: str):
        connection = self.connection_for(request, request.query_params.get("key"))
        return _storefront_answer(request, connection.shop, product_id)
