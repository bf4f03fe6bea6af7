"""Requests refused before any view sees them."""

from __future__ import annotations

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
