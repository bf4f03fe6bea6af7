"""Settings: how the store connects (webhook secret, snippet key and origins) and the outbound
webhooks with their delivery log. The settings page shows them; these views take its forms."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from generation.models import WebhookEndpoint
from generation.webhooks import webhook_endpoint_create, webhook_endpoint_disable
from profiles.connect.services import allowed_origins_update, shopify_secret_set, webhook_secret_rotate
from shop_ai.dashboard.access import shop_view
from shop_ai.dashboard.forms import AllowedOriginsForm, ShopifySecretForm, WebhookEndpointForm
from shop_ai.dashboard.selectors import (
    inbound_webhooks_recent,
    store_connection_current,
    webhook_deliveries_recent,
    webhook_endpoints,
)


def connection_context(*, request: HttpRequest) -> dict:
    connection = store_connection_current(shop=request.shop)
    origins = "\n".join(connection.allowed_origins) if connection else ""
    base_url = settings.PUBLIC_URL or request.build_absolute_uri("/")
    return {"connection": connection, "base_url": base_url.rstrip("/"),
            "origins_form": AllowedOriginsForm(initial={"origins": origins}),
            "shopify_form": ShopifySecretForm(),
            "endpoint_form": WebhookEndpointForm(), "inbound_webhooks": inbound_webhooks_recent(shop=request.shop),
            "webhook_endpoints": webhook_endpoints(shop=request.shop),
            "webhook_deliveries": webhook_deliveries_recent(shop=request.shop)}


def _errors_of(exc: ValidationError) -> str:
    return " ".join(message for messages_ in exc.message_dict.values() for message in messages_)


@require_POST
@shop_view
def webhook_secret_rotate_view(request: HttpRequest) -> HttpResponse:
    connection = webhook_secret_rotate(shop=request.shop)
    messages.success(request, "A new webhook secret is in place; the previous one keeps working until "
                              f"{connection.previous_secret_expires_at:%d %b %Y %H:%M} UTC, time to update your store.")
    return redirect("dashboard:settings")


@require_POST
@shop_view
def shopify_secret_view(request: HttpRequest) -> HttpResponse:
    form = ShopifySecretForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"shopify_secret": " ".join(form.errors.get("shopify_secret", []))})
        connection = shopify_secret_set(shop=request.shop, secret=form.cleaned_data["shopify_secret"])
    except ValidationError as exc:
        messages.error(request, f"The Shopify signing secret was not saved: {_errors_of(exc)}")
    else:
        messages.success(request, "Shopify may now send its webhooks straight here, signed its own way."
                         if connection.shopify_secret else "The Shopify signing secret is forgotten.")
    return redirect("dashboard:settings")


@require_POST
@shop_view
def allowed_origins_view(request: HttpRequest) -> HttpResponse:
    form = AllowedOriginsForm(request.POST)
    try:
        if form.is_valid():
            allowed_origins_update(shop=request.shop, origins=form.cleaned_data["origins"].splitlines())
            messages.success(request, "Storefront origins saved.")
    except ValidationError as exc:
        messages.error(request, f"The origins were not saved: {_errors_of(exc)}")
    return redirect("dashboard:settings")


@require_POST
@shop_view
def webhook_endpoint_new(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST)
    if not form.is_valid():
        problems = " ".join(error for errors in form.errors.values() for error in errors)
        messages.error(request, f"The endpoint was not added: {problems}")
        return redirect("dashboard:settings")
    try:
        endpoint = webhook_endpoint_create(shop=request.shop, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, f"The endpoint was not added: {_errors_of(exc)}")
    else:
        messages.success(request, f"Webhooks will go to {endpoint.url}; check them with the secret shown below.")
    return redirect("dashboard:settings")


@require_POST
@shop_view
def webhook_endpoint_disable_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, shop=request.shop, id=endpoint_id)
    webhook_endpoint_disable(endpoint=endpoint)
    messages.success(request, f"No more webhooks go to {endpoint.url}.")
    return redirect("dashboard:settings")
