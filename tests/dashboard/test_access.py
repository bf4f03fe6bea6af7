"""Login, shop membership and tenancy: a user sees only their shops, other shops' ids answer 404."""

from __future__ import annotations

import pytest
from django.test import Client

from generation.models import GenerationJob, Listing
from profiles.models import ApiKey
from profiles.services import api_key_create, shop_create
from tests.dashboard.factories import PASSWORD, job_for, owner_of, persona_for, product_for

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/dashboard/personas/", "/dashboard/generation/", "/dashboard/listings/",
         "/dashboard/settings/", "/dashboard/generation/progress.json?ids=1"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_needs_a_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/dashboard/")


def test_the_login_form_signs_an_owner_in_and_wrong_passwords_are_refused(client, owner):
    form = client.get("/accounts/login/?next=/dashboard/personas/").content.decode()
    assert '<label for="id_username">Username</label>' in form and '<label for="id_password">Password</label>' in form
    wrong = client.post("/accounts/login/", {"username": "owner", "password": "nope", "next": "/dashboard/"})
    assert wrong.status_code == 200 and "didn't match" in wrong.content.decode()
    right = client.post("/accounts/login/", {"username": "owner", "password": PASSWORD,
                                             "next": "/dashboard/personas/"})
    assert right["Location"] == "/dashboard/personas/"
    assert client.get("/dashboard/").status_code == 200
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
    assert client.get("/dashboard/").status_code == 302


def test_a_user_without_a_shop_is_told_to_ask_an_admin(db):
    client = Client()
    client.force_login(owner_of(username="newcomer"))
    response = client.get("/dashboard/personas/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "not a member of any shop" in html and "Ask an administrator to add you to a shop" in html


@pytest.fixture
def shop_b_things(other_shop):
    persona = persona_for(other_shop, "Paper crane collectors")
    product = product_for(other_shop, "crane-1", title="千纸鹤挂饰")
    job = job_for(other_shop, product, persona)
    key = api_key_create(shop=other_shop, label="B's store").api_key
    return {"persona": persona, "job": job, "listing": Listing.objects.get(job=job), "key": key}


def test_another_shops_persona_job_listing_and_key_answer_404(dash, other_owner, shop_b_things):
    things = shop_b_things
    assert dash.get(f"/dashboard/personas/{things['persona'].id}/").status_code == 404
    assert dash.get(f"/dashboard/generation/jobs/{things['job'].id}/").status_code == 404
    assert dash.post(f"/dashboard/generation/jobs/{things['job'].id}/regenerate/").status_code == 404
    assert dash.post(f"/dashboard/listings/{things['listing'].id}/retire/").status_code == 404
    assert dash.post(f"/dashboard/settings/api-keys/{things['key'].id}/revoke/").status_code == 404
    progress = dash.get(f"/dashboard/generation/progress.json?ids={things['job'].id}").json()
    assert progress == {"jobs": []}
    things["listing"].refresh_from_db()
    assert things["listing"].status == "draft" and GenerationJob.objects.count() == 1
    assert ApiKey.objects.get(id=things["key"].id).revoked_at is None


def test_another_shops_names_never_appear_on_my_pages(dash, shop, shop_b_things):
    persona_for(shop, "Lotus lovers")
    job_for(shop, product_for(shop, "vase-1", title="青花瓷瓶"), shop.personas.get())
    for url in ("/dashboard/", "/dashboard/personas/", "/dashboard/generation/", "/dashboard/listings/",
                "/dashboard/settings/"):
        html = dash.get(url).content.decode()
        for foreign in ("Paper crane collectors", "千纸鹤挂饰", "crane-1", "B&#x27;s store", "Paper Cranes"):
            assert foreign not in html, (url, foreign)
    assert "Lotus lovers" in dash.get("/dashboard/personas/").content.decode()


def test_a_member_of_two_shops_switches_between_them_and_only_them(shop, other_shop):
    third = shop_create(name="Jade Corner")
    persona_for(other_shop, "Paper crane collectors")
    user = owner_of(shop, other_shop, username="two-shops")
    client = Client()
    client.force_login(user)
    first = client.get("/dashboard/personas/").content.decode()
    assert 'id="shop-switcher"' in first and "Jade Corner" not in first
    assert "Paper crane collectors" not in first  # "Lotus & Ink" sorts first
    assert client.post("/dashboard/shop/", {"shop": other_shop.id})["Location"] == "/dashboard/"
    assert "Paper crane collectors" in client.get("/dashboard/personas/").content.decode()
    assert client.post("/dashboard/shop/", {"shop": third.id}).status_code == 404


def test_a_shop_switch_to_a_shop_the_user_left_falls_back_to_a_shop_of_theirs(shop, other_shop):
    user = owner_of(shop, other_shop, username="leaver")
    client = Client()
    client.force_login(user)
    client.post("/dashboard/shop/", {"shop": other_shop.id})
    other_shop.staff.remove(user)
    html = client.get("/dashboard/").content.decode()
    assert f"shop-ai · {shop.name}".replace("&", "&amp;") in html and "Paper Cranes" not in html
