"""Access for the browser snippet: a publishable key (in the query string or body, because
`navigator.sendBeacon` cannot set headers) and CORS answers for the storefront's origin."""

from __future__ import annotations

from rest_framework import exceptions, permissions, status
from rest_framework.response import Response

from profiles.api.throttling import ClientAddressRateThrottle
from profiles.connect.browser import origin_allowed
from profiles.models import StoreConnection
from profiles.selectors import store_connection_by_publishable_key


class OriginRefused(exceptions.PermissionDenied):
    default_code = "origin_not_allowed"


class BrowserAccess:
    """Mix into an APIView: no API-key authentication, CORS on every answer, preflights answered."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ClientAddressRateThrottle]
    rate_setting = "BROWSER_RATE_LIMIT"
    cors_methods = "GET, POST, OPTIONS"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        origin = request.headers.get("Origin")
        if origin:
            # Errors carry the header too, so the snippet can read why it was refused.
            response["Access-Control-Allow-Origin"] = origin
            response["Vary"] = "Origin"
        return response

    def options(self, request, *args, **kwargs):
        return Response(status=status.HTTP_204_NO_CONTENT, headers={
            "Access-Control-Allow-Methods": self.cors_methods, "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400"})

    @staticmethod
    def connection_for(request, key) -> StoreConnection:
        connection = store_connection_by_publishable_key(key=key if isinstance(key, str) else "")
        if connection is None:
            raise exceptions.AuthenticationFailed("Unknown publishable key: copy it from the dashboard settings "
                                                  "(it starts with pk_).", code="unknown_publishable_key")
        origin = request.headers.get("Origin")
        if not origin_allowed(connection=connection, origin=origin):
            raise OriginRefused(f"Origin {origin or '(none)'} is not among the shop's allowed storefront origins; "
                                "add it in the dashboard settings.")
        return connection

    def get_authenticate_header(self, request) -> str:
        return 'PublishableKey realm="shop-ai"'  # keeps a refused key a 401 (DRF makes it 403 without one)
