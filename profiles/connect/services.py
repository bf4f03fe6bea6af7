"""A shop's store connection: its webhook secret (shown, rotatable), publishable key and origins."""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from profiles.models import Shop, StoreConnection

WEBHOOK_SECRET_PREFIX = "whsec_"
PUBLISHABLE_KEY_PREFIX = "pk_"
# Long enough for a store to deploy the new secret; deliveries signed with the old one still pass.
ROTATION_GRACE = timedelta(hours=24)


def _new_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def store_connection_for(*, shop: Shop) -> StoreConnection:
    """The shop's connection, created with fresh credentials on first use."""
    connection = StoreConnection.objects.filter(shop=shop).first()
    if connection is not None:
        return connection
    with transaction.atomic():
        connection, _ = StoreConnection.objects.get_or_create(
            shop=shop, defaults={"webhook_secret": _new_secret(),
                                 "publishable_key": PUBLISHABLE_KEY_PREFIX + secrets.token_urlsafe(18)})
    return connection


@transaction.atomic
def webhook_secret_rotate(*, shop: Shop) -> StoreConnection:
    """A new secret; the old one keeps verifying for `ROTATION_GRACE`."""
    connection = StoreConnection.objects.select_for_update().get(pk=store_connection_for(shop=shop).pk)
    now = timezone.now()
    connection.previous_webhook_secret = connection.webhook_secret
    connection.previous_secret_expires_at = now + ROTATION_GRACE
    connection.webhook_secret = _new_secret()
    connection.secret_rotated_at = now
    connection.save()
    return connection


def webhook_secrets_valid(*, connection: StoreConnection) -> list[str]:
    valid = [connection.webhook_secret]
    expires = connection.previous_secret_expires_at
    if connection.previous_webhook_secret and expires is not None and expires > timezone.now():
        valid.append(connection.previous_webhook_secret)
    return valid


def _origin(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise ValidationError({"allowed_origins": f"{text.strip()!r} is not an origin; write it as "
                                                  "https://store.example.com (scheme and host, no path)."})
    return f"{parts.scheme}://{parts.netloc}".lower()


@transaction.atomic
def allowed_origins_update(*, shop: Shop, origins: list[str]) -> StoreConnection:
    connection = StoreConnection.objects.select_for_update().get(pk=store_connection_for(shop=shop).pk)
    connection.allowed_origins = sorted({_origin(text) for text in origins if text.strip()})
    connection.save(update_fields=["allowed_origins"])
    return connection


MAX_SHOPIFY_SECRET_CHARS = 200


@transaction.atomic
def shopify_secret_set(*, shop: Shop, secret: str) -> StoreConnection:
    """Keep the signing secret Shopify shows for its webhooks (empty: forget it)."""
    secret = (secret or "").strip()
    if secret and (len(secret) < 16 or len(secret) > MAX_SHOPIFY_SECRET_CHARS or not secret.isprintable()
                   or " " in secret):
        raise ValidationError({"shopify_secret": "That does not look like a Shopify signing secret: paste the "
                                                 "whole value Shopify shows for webhooks (16 to 200 characters, "
                                                 "no spaces)."})
    connection = StoreConnection.objects.select_for_update().get(pk=store_connection_for(shop=shop).pk)
    connection.shopify_secret = secret
    connection.save(update_fields=["shopify_secret"])
    return connection
