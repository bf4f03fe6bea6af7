"""Thin API views: read input, call one service, shape the output."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from profiles.api import serializers as s
from profiles.api.auth import request_shop
from profiles.api.body import MalformedBody, parse_json, read_body
from profiles.ingestion.services import events_ingest, failed_request_record
from profiles.models import Event, FailedEvent, Product
from profiles.services import product_upsert
from shop_ai.api_errors import PayloadTooLarge

ERRORS = {
    400: OpenApiResponse(s.ErrorSchema, description="Malformed request"),
    401: OpenApiResponse(s.ErrorSchema, description="Missing or unknown API key"),
    413: OpenApiResponse(s.ErrorSchema, description="Body over 1 MB, or a single event over 32 KB"),
}


def _read_events_body(request):
    """Parse the JSON body; an unreadable one is kept as a failed event before refusing it."""
    try:
        return parse_json(read_body(request, settings.MAX_REQUEST_BYTES))
    except MalformedBody as exc:
        failed_request_record(shop=request_shop(request), errors={"request": str(exc.detail)})
        raise


class EventBatchView(APIView):
    parser_classes = [JSONParser]  # documented only; the body is read by `read_body` with its cap

    @extend_schema(operation_id="events_batch", request=s.EventBatchSchema,
                   responses={200: s.IngestResultSchema, **ERRORS})
    def post(self, request):
        payload = _read_events_body(request)
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            failed_request_record(shop=request_shop(request), payload=payload,
                                  errors={"events": "must be a list of event objects"})
            raise MalformedBody('Send {"events": [ … ]} with at most 500 event objects.')
        if len(events) > settings.MAX_EVENTS_PER_BATCH:
            raise PayloadTooLarge(f"{len(events)} events in one batch; the limit is "
                                  f"{settings.MAX_EVENTS_PER_BATCH}. Split the batch.")
        batch_sent_at = payload.get("sent_at")
        if batch_sent_at is not None:
            for event in events:
                if isinstance(event, dict):
                    event.setdefault("sent_at", batch_sent_at)
        result = events_ingest(shop=request_shop(request), raw_events=events)
        return Response(result.as_response(), status=status.HTTP_200_OK)


class EventView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="events_create", request=s.EventSchema,
                   responses={201: s.IngestResultSchema, 200: s.IngestResultSchema, **ERRORS})
    def post(self, request):
        event = _read_events_body(request)
        result = events_ingest(shop=request_shop(request), raw_events=[event])
        if result.rejected:
            errors = result.rejected[0]["errors"]
            if "bytes; the limit is" in str(errors.get("event", "")):
                raise PayloadTooLarge(errors["event"])
            return Response({"code": "invalid_event", "detail": "The event was rejected; see `errors`.",
                             "errors": errors, **result.as_response()}, status=status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_201_CREATED if result.accepted else status.HTTP_200_OK
        return Response(result.as_response(), status=code)


class EventDetailView(APIView):
    @extend_schema(operation_id="events_retrieve", responses={200: s.EventOutput, 404: s.ErrorSchema})
    def get(self, request, event_id: str):
        event = get_object_or_404(
            Event.objects.select_related("customer", "product"), shop=request_shop(request), event_id=event_id
        )
        return Response(s.EventOutput(event).data)


class FailedEventListView(APIView):
    @extend_schema(operation_id="failed_events_list", responses={200: s.FailedEventOutput(many=True)})
    def get(self, request):
        failures = FailedEvent.objects.filter(shop=request_shop(request)).order_by("-received_at", "-id")[:100]
        return Response(s.FailedEventOutput(failures, many=True).data)


class ProductView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(operation_id="products_retrieve", responses={200: s.ProductOutput, 404: s.ErrorSchema})
    def get(self, request, product_id: str):
        product = get_object_or_404(Product, shop=request_shop(request), external_id=product_id)
        return Response(s.ProductOutput(product, context={"request": request}).data)

    @extend_schema(operation_id="products_upsert", request=s.ProductInput,
                   responses={200: s.ProductOutput, 201: s.ProductOutput, **ERRORS})
    def put(self, request, product_id: str):
        if len(product_id) > 100:
            raise MalformedBody("product_id must be at most 100 characters.")
        serializer = s.ProductInput(data=_product_form(request.data))
        serializer.is_valid(raise_exception=True)
        product, created = product_upsert(shop=request_shop(request), external_id=product_id,
                                          **serializer.validated_data)
        body = s.ProductOutput(product, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _product_form(data):
    """Multipart forms send tags as repeated fields; keep them as a list."""
    if not hasattr(data, "getlist"):
        return data
    form = {key: data.get(key) for key in data}
    if "tags" in data:
        form["tags"] = data.getlist("tags")
    return form
