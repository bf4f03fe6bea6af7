"""Store connections over HTTP: signed webhooks and the browser snippet's events. Thin views."""

from __future__ import annotations

import logging

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from profiles.api import serializers as s
from profiles.api.body import MalformedBody, parse_json, read_body
from profiles.api.browser_access import BrowserAccess
from profiles.api.throttling import ClientAddressRateThrottle
from profiles.connect.browser import MAX_BROWSER_BODY_BYTES, MAX_BROWSER_EVENTS, browser_events_ingest
from profiles.connect.webhook_shapes import SHAPES, PayloadShapeError
from profiles.connect.webhooks import webhook_authenticate, webhook_receive
from profiles.ingestion.services import failed_request_record
from shop_ai.api_errors import PayloadTooLarge
from shop_ai_connect.client.signing import SignatureError

logger = logging.getLogger(__name__)
TOPIC_HEADERS = ("X-ShopAI-Topic", "X-Shopify-Topic")


class SignatureRefused(exceptions.APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "bad_signature"


class WrongShape(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "wrong_shape"


class WebhookResultSchema(serializers.Serializer):
    webhook_id = serializers.CharField()
    duplicate = serializers.BooleanField(help_text="This webhook id was stored before; nothing was stored again.")
    products = serializers.IntegerField()
    rejected_products = serializers.ListField(child=serializers.DictField())
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.ListField(child=serializers.DictField())


class WebhookView(APIView):
    """`POST /api/v1/webhooks/{source}?shop=<id>`, signed with the shop's webhook secret."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ClientAddressRateThrottle]
    rate_setting = "WEBHOOK_RATE_LIMIT"

    @extend_schema(operation_id="webhooks_receive", request=None, auth=[],
                   parameters=[OpenApiParameter("shop", int, required=True),
                               OpenApiParameter("X-ShopAI-Webhook-Id", str, OpenApiParameter.HEADER),
                               OpenApiParameter("X-ShopAI-Timestamp", int, OpenApiParameter.HEADER),
                               OpenApiParameter("X-ShopAI-Signature", str, OpenApiParameter.HEADER,
                                                description="Required unless Shopify signed the delivery."),
                               OpenApiParameter("X-ShopAI-Topic", str, OpenApiParameter.HEADER),
                               OpenApiParameter("X-Shopify-Hmac-Sha256", str, OpenApiParameter.HEADER,
                                                description="source=shopify only: Shopify's own signature, "
                                                            "checked with the shop's Shopify signing secret."),
                               OpenApiParameter("X-Shopify-Webhook-Id", str, OpenApiParameter.HEADER),
                               OpenApiParameter("X-Shopify-Topic", str, OpenApiParameter.HEADER)],
                   responses={200: WebhookResultSchema, 400: s.ErrorSchema, 401: s.ErrorSchema,
                              404: OpenApiResponse(s.ErrorSchema, description="Unknown source")})
    def post(self, request, source: str):
        if source not in SHAPES:
            raise exceptions.NotFound(f"Unknown webhook source {source!r}; use one of {', '.join(SHAPES)}.",
                                      code="unknown_source")
        body = read_body(request, settings.MAX_REQUEST_BYTES)
        try:
            shop, webhook_id = webhook_authenticate(shop_id=request.query_params.get("shop"),
                                                    headers=request.headers, body=body, source=source)
        except SignatureError as refused:
            logger.warning("Webhook refused (%s) for shop %r from %s: %s", refused.code,
                           request.query_params.get("shop"), request.META.get("REMOTE_ADDR"), refused.detail)
            raise SignatureRefused(refused.detail, code=refused.code) from None
        try:
            payload = parse_json(body)
        except MalformedBody as exc:
            failed_request_record(shop=shop, errors={"request": str(exc.detail)}, source=f"webhook:{source}")
            raise
        topic = next((request.headers[name] for name in TOPIC_HEADERS if request.headers.get(name)), "")
        try:
            outcome = webhook_receive(shop=shop, source=source, topic=topic, webhook_id=webhook_id, payload=payload)
        except PayloadShapeError as exc:
            raise WrongShape(exc.errors) from None  # kept as a failed event, for the owner to see
        return Response(outcome.as_response(), status=status.HTTP_200_OK)


class BrowserEventsSchema(serializers.Serializer):
    key = serializers.CharField(help_text="The shop's publishable key (pk_…).")
    events = serializers.ListField(child=s.EventSchema(), max_length=MAX_BROWSER_EVENTS,
                                   help_text="view and add_to_cart events only.")
    sent_at = serializers.DateTimeField(required=False)


class BrowserEventsView(BrowserAccess, APIView):
    """`POST /api/v1/browser/events`: the snippet's batches, as text/plain JSON (no CORS preflight)."""

    cors_methods = "POST, OPTIONS"

    @extend_schema(operation_id="browser_events", request=BrowserEventsSchema, auth=[],
                   responses={200: s.IngestResultSchema, 400: s.ErrorSchema, 401: s.ErrorSchema,
                              403: s.ErrorSchema, 413: s.ErrorSchema})
    def post(self, request):
        payload = parse_json(read_body(request, MAX_BROWSER_BODY_BYTES))
        if not isinstance(payload, dict):
            raise MalformedBody('Send {"key": "pk_…", "events": [ … ]}.')
        connection = self.connection_for(request, payload.get("key"))
        events = payload.get("events")
        if not isinstance(events, list):
            raise MalformedBody('Send {"key": "pk_…", "events": [ … ]}.')
        if len(events) > MAX_BROWSER_EVENTS:
            raise PayloadTooLarge(f"{len(events)} events; a browser batch holds at most {MAX_BROWSER_EVENTS}.")
        result = browser_events_ingest(connection=connection, raw_events=events, sent_at=payload.get("sent_at"))
        return Response(result.as_response(), status=status.HTTP_200_OK)
