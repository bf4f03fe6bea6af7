"""Sessions, users and messages run for pages and are skipped for API calls (shop_ai/middleware.py);
CSRF protection runs for both (API views are CSRF-exempt: they authenticate with a key, not a cookie)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from shop_ai.middleware import API_PAGES, API_PREFIX
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _views(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + route, pattern.callback


def test_every_api_view_is_csrf_exempt_and_authenticates_by_key():
    api_views = [(route, view) for route, view in _views(get_resolver().url_patterns)
                 if route.startswith(API_PREFIX) and not route.startswith(API_PAGES)]
    assert len(api_views) > 20
    assert [route for route, view in api_views if not getattr(view, "csrf_exempt", False)] == []


def test_pages_still_refuse_a_post_without_its_csrf_token(owner):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": owner.username, "password": "x"}).status_code == 403
    client.force_login(owner)
    page = client.get("/dashboard/")
    assert page.status_code == 200 and page.wsgi_request.user == owner  # sessions and users for pages


def test_an_api_call_sets_no_cookie_and_a_session_does_not_stand_in_for_the_key(shop, owner):
    client = client_for(shop)
    answer = client.get("/api/v1/personas")
    assert answer.status_code == 200 and not answer.cookies
    logged_in = Client(enforce_csrf_checks=True)
    logged_in.force_login(owner)
    assert logged_in.get("/api/v1/personas").status_code == 401
    body = json.dumps({"event_id": "e", "type": "view", "customer_id": "c", "occurred_at": "2026-11-30T08:00:00Z"})
    assert logged_in.post("/api/v1/events", body, content_type="application/json").status_code == 401
    assert logged_in.get("/api/v1/docs/").status_code == 200  # a page: it keeps sessions and CSRF
