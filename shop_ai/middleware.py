"""Requests refused before any view sees them."""

from __future__ import annotations

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import JsonResponse


def refuse_nul_characters(get_response):
    """A NUL character in the path or the query string is refused with a 400: PostgreSQL cannot
    compare or store one, so it would otherwise surface as a server error in whatever view looks it up."""

    def middleware(request):
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "") or any(
                "\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            return JsonResponse({"code": "nul_character",
                                 "detail": "The URL contains a NUL (%00) character; no id or parameter holds one."},
                                status=400)
        return get_response(request)

    return middleware


# API calls authenticate with an API key (DRF): they never read a session, request.user or messages.
# The docs and the schema are pages a browser opens: they keep everything.
API_PREFIX = "/api/v1/"
API_PAGES = ("/api/v1/docs", "/api/v1/schema")


def is_api_call(request) -> bool:
    path = request.path_info
    return path.startswith(API_PREFIX) and not path.startswith(API_PAGES)


class _PagesOnly:
    """Browser-session middleware, run for pages and skipped for API calls. Subclasses of the
    originals, so Django's checks (admin.E408-E410) still find them."""

    def __call__(self, request):
        if not self.async_mode and is_api_call(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_PagesOnly, sessions.SessionMiddleware):
    pass


class AuthenticationMiddleware(_PagesOnly, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(_PagesOnly, messages.MessageMiddleware):
    pass
