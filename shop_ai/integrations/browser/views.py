"""Serves shop-ai.js to storefronts on any origin, cacheable for an hour."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

SNIPPET = Path(__file__).with_name("shop-ai.js")


@cache
def _snippet() -> bytes:
    return SNIPPET.read_bytes()


@require_GET
def snippet(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_snippet(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response
