"""Owners of two shops, each logged in with its own client."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.dashboard.factories import owner_of


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # persona charts are cached per shop; ids repeat across rolled-back tests
    yield
    cache.clear()


@pytest.fixture
def owner(shop):
    return owner_of(shop)


@pytest.fixture
def other_owner(other_shop):
    return owner_of(other_shop, username="other-owner")


@pytest.fixture
def dash(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def other_dash(other_owner) -> Client:
    client = Client()
    client.force_login(other_owner)
    return client
