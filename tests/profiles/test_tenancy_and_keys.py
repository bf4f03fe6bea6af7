"""Tenancy, API keys and the create_shop command."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from profiles.models import ApiKey, Event, Product
from profiles.services import api_key_revoke, product_upsert
from tests.conftest import recent


@pytest.mark.django_db
def test_create_shop_prints_a_working_key_once_as_the_last_line():
    out = io.StringIO()
    call_command("create_shop", "Blue Porcelain", stdout=out)
    raw_key = out.getvalue().strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    response = client.put("/api/v1/products/vase-1", data={"title": "青花瓷瓶", "price": "199.00"}, format="json")
    assert response.status_code == 201
    stored = ApiKey.objects.get()
    assert raw_key not in (stored.digest, stored.prefix) and stored.digest != raw_key
    assert ApiKey.objects.filter(digest__contains=raw_key[5:20]).count() == 0


@pytest.mark.django_db
def test_create_shop_refuses_a_duplicate_name():
    call_command("create_shop", "Twice", stdout=io.StringIO())
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already exists"):
        call_command("create_shop", "Twice", stdout=io.StringIO())


@pytest.mark.django_db
def test_a_revoked_key_stops_working(shop):
    from profiles.services import api_key_create

    issued = api_key_create(shop=shop)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    assert client.get("/api/v1/failed-events").status_code == 200
    api_key_revoke(api_key=issued.api_key)
    assert client.get("/api/v1/failed-events").status_code == 401


@pytest.mark.django_db
def test_a_known_key_is_not_looked_up_again_on_every_request(shop, django_assert_num_queries):
    from profiles.services import api_key_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(shop=shop).raw_key}")
    assert client.get("/api/v1/failed-events").status_code == 200  # looks the key up and notes its use
    with django_assert_num_queries(1):  # only the failed events themselves
        assert client.get("/api/v1/failed-events").status_code == 200
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Bearer sk_not-a-key")
    assert wrong.get("/api/v1/failed-events").status_code == 401
    with django_assert_num_queries(0):  # an unknown key is remembered too: no query per guess
        assert wrong.get("/api/v1/failed-events").status_code == 401


@pytest.mark.django_db
def test_shop_b_cannot_read_or_write_shop_a_products_or_events(shop, api, other_api):
    product_upsert(shop=shop, external_id="fan-1", title="折扇", price=Decimal("66.00"))
    event = {"event_id": "a-1", "type": "view", "customer_id": "c1", "product_id": "fan-1", "occurred_at": recent()}
    assert api.post("/api/v1/events", data=event, format="json").status_code == 201

    assert other_api.get("/api/v1/products/fan-1").status_code == 404
    assert other_api.get("/api/v1/events/a-1").status_code == 404
    # B's view of A's product id is refused: B has no such product.
    refused = other_api.post("/api/v1/events", data={**event, "event_id": "b-1"}, format="json")
    assert refused.status_code == 400 and "unknown product" in refused.json()["errors"]["product_id"]
    # B writing the same product id creates B's own product and leaves A's untouched.
    assert other_api.put("/api/v1/products/fan-1", data={"title": "B's fan"}, format="json").status_code == 201
    assert Product.objects.get(shop=shop, external_id="fan-1").title == "折扇"
    # B replaying A's event id stores B's own event: ids are unique per shop, not globally.
    assert other_api.post("/api/v1/events", data=event, format="json").status_code == 201
    assert Event.objects.filter(event_id="a-1").count() == 2
    failed = other_api.get("/api/v1/failed-events").json()
    assert all("a-" not in json.dumps(item) for item in failed)
    assert api.get("/api/v1/failed-events").json() == []


@pytest.mark.django_db
def test_product_upsert_with_an_image_and_tags(api, shop):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, format="PNG")
    upload = SimpleUploadedFile("fan.png", buffer.getvalue(), content_type="image/png")
    response = api.put("/api/v1/products/fan-9", data={"title": "团扇", "category": "fans", "price": "45.50",
                                                        "tags": ["苏绣", "团扇"], "image": upload}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tags"] == ["苏绣", "团扇"] and body["price"] == "45.50" and body["image_url"].endswith(".png")
    again = api.put("/api/v1/products/fan-9", data={"title": "苏绣团扇", "price": "48.00"}, format="json")
    assert again.status_code == 200 and again.json()["title"] == "苏绣团扇"
    assert Product.objects.get(shop=shop, external_id="fan-9").price == Decimal("48.00")


@pytest.mark.django_db
def test_product_upload_that_is_not_an_image_is_refused(api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("fan.png", b"not really a png", content_type="image/png")
    response = api.put("/api/v1/products/x", data={"title": "t", "image": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "invalid_image"
    assert "image" in response.json()["errors"]


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served():
    client = APIClient()
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert {"/api/v1/events/batch", "/api/v1/events", "/api/v1/products/{product_id}"} <= set(paths)
    job_images = json.loads(schema.content)["components"]["schemas"]["JobOutput"]["properties"]["images"]
    assert job_images["items"]["$ref"].endswith("/ImageOutput")  # a client sees each image's fields, not "object"
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert client.get("/api/v1/nothing-here").json()["code"] == "not_found"
