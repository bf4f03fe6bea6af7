"""API-key authentication: `Authorization: Bearer <key>` → the key's shop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from profiles.models import ApiKey, Shop
from profiles.selectors import api_key_active

LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ShopClient:
    """The caller of the API: a shop, identified by one of its keys."""

    shop: Shop
    is_authenticated: bool = True


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != "bearer" or not raw_key.strip():
            raise exceptions.AuthenticationFailed("Send the shop's API key as `Authorization: Bearer <key>`.")
        api_key = api_key_active(raw_key=raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("This API key is unknown or revoked; create one with "
                                                  "`manage.py create_shop` or in the dashboard settings.")
        self._note_use(api_key)
        return ShopClient(shop=api_key.shop), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="shop-ai"'

    @staticmethod
    def _note_use(api_key: ApiKey) -> None:
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now  # the cached instance too, or every request would write again


class IsShopClient(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


def request_shop(request) -> Shop:
    return request.auth.shop


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "profiles.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The shop's API key (shown once at creation)."}
