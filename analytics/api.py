"""Benefit reports and Kansei ratings over HTTP. Thin views: input, one service call, output."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, renderers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.exports import kansei_as_dict, report_as_csv, report_as_dict
from analytics.kansei import KanseiInputError, kansei_matrix, kansei_rating_record
from analytics.models import KANSEI_SCALE, KanseiWord, RaterKind
from analytics.reports import BenefitReportError, benefit_report
from profiles.api.auth import request_shop
from profiles.api.serializers import ErrorSchema


class CSVRenderer(renderers.BaseRenderer):
    """Lets DRF accept `?format=csv`; the view returns the CSV text itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.encode("utf-8") if isinstance(data, str) else renderers.JSONRenderer().render(data)


class ReportQuery(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day (shop time zone). Default: 8 weeks before end.")
    end = serializers.DateField(required=False, help_text="Last day, inclusive. Default: yesterday.")
    category = serializers.CharField(required=False, max_length=100)
    sequential = serializers.BooleanField(required=False, default=False,
                                          help_text="1: headline the always-valid interval (mSPRT), safe to read daily.")
    aa = serializers.BooleanField(required=False, default=False,
                                  help_text="1: the A/A check: the same pipeline on a split of held-out customers.")


class BenefitReportView(APIView):
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF's answer to an unknown ?format=; `get` says what to send instead, after auth
            self.unknown_format = True
            return renderers.JSONRenderer(), "application/json"

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:  # errors are JSON, also for ?format=csv
            request.accepted_renderer, request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        operation_id="reports_benefit",
        parameters=[ReportQuery, OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={200: dict, 400: ErrorSchema},
        description="Per product: days before/after AI, mean net revenue per day before/after, lift with a 95 % "
                    "CI, p-value and the method; pooled estimates (variant vs holdout, difference-in-differences), "
                    "power, and the Kansei matrix; the checks (sample ratio, exposures), CUPED beside unadjusted, "
                    "always-valid intervals and a keep / stop / keep-testing decision pooled and per product. "
                    "`?sequential=1` headlines the always-valid interval; `?aa=1` runs the A/A check. "
                    "`?format=csv` gives the per-product table.",
    )
    def get(self, request):
        if getattr(self, "unknown_format", False):
            raise exceptions.ValidationError({"format": "must be json or csv"})
        query = ReportQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            report = benefit_report(shop=request_shop(request), **query.validated_data)
        except BenefitReportError as problem:
            raise exceptions.ValidationError({"detail": str(problem)}) from problem
        if request.accepted_renderer.format == "csv":
            response = HttpResponse(report_as_csv(report), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="benefit-{report.start}-{report.end}.csv"'
            return response
        return Response(report_as_dict(report))


class KanseiRatingInput(serializers.Serializer):
    product_id = serializers.CharField(max_length=100)
    listing_id = serializers.IntegerField(required=False, allow_null=True,
                                         help_text="The variant rated; omit to rate the original design.")
    word = serializers.ChoiceField(choices=KanseiWord.values, help_text="One of the six words of seed 002 Table 1.")
    score = serializers.IntegerField(min_value=KANSEI_SCALE[0], max_value=KANSEI_SCALE[1],
                                     help_text="7-point scale: 1 = not at all <word>, 7 = very <word>.")
    rater = serializers.CharField(max_length=100)
    rater_kind = serializers.ChoiceField(choices=RaterKind.values, default=RaterKind.SHOPPER)


class KanseiRatingsView(APIView):
    @extend_schema(operation_id="kansei_ratings_create", request=KanseiRatingInput,
                   responses={201: KanseiRatingInput, 200: KanseiRatingInput, 400: ErrorSchema})
    def post(self, request):
        data = KanseiRatingInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            rating, created = kansei_rating_record(
                shop=request_shop(request), product_external_id=values["product_id"],
                listing_id=values.get("listing_id"), word=values["word"], score=values["score"],
                rater=values["rater"], rater_kind=values["rater_kind"])
        except KanseiInputError as problem:
            raise exceptions.ValidationError({problem.field: str(problem)}) from problem
        body = {**values, "id": rating.id}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(operation_id="kansei_ratings_matrix", responses={200: dict},
                   description="Designs × the six Kansei words: mean score and number of ratings, and the best "
                               "design per word (seed 002 Table 1).")
    def get(self, request):
        return Response(kansei_as_dict(kansei_matrix(shop=request_shop(request))))
