"""The admin is the owner's fallback tool: every profiles and generation model is registered and
its list page renders with rows in it."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client

from tests.dashboard.factories import customer_for, days_ago, events_for, job_for, persona_for, product_for

pytestmark = pytest.mark.django_db


def test_every_profiles_and_generation_model_is_registered():
    models = [*apps.get_app_config("profiles").get_models(), *apps.get_app_config("generation").get_models()]
    missing = [model.__name__ for model in models if not admin.site.is_registered(model)]
    assert missing == []


def test_every_admin_list_page_renders_with_rows(shop):
    persona = persona_for(shop)
    product = product_for(shop, "vase-1")
    customer = customer_for(shop, "c1", persona)
    events_for(shop, customer, product, [days_ago(1)])
    job_for(shop, product, persona)
    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client = Client()
    client.force_login(admin_user)
    for app in ("profiles", "generation"):
        for model in apps.get_app_config(app).get_models():
            url = f"/admin/{app}/{model._meta.model_name}/"
            response = client.get(url)
            assert response.status_code == 200, url
            searchable = admin.site._registry[model].search_fields
            if searchable:
                assert client.get(url, {"q": "vase"}).status_code == 200, url
