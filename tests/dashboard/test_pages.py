"""Each dashboard page renders its key content, and empty states say what to do next."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from generation.models import GenerationJob, GenerationSettings, Listing
from profiles.models import Product
from shop_ai.dashboard.selectors import shop_today
from tests.dashboard.factories import (
    customer_for,
    days_ago,
    events_for,
    job_for,
    persona_for,
    product_for,
    revenue_on,
)

pytestmark = pytest.mark.django_db


def html_of(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_overview_shows_the_shop_numbers_events_per_day_and_revenue_week_on_week(dash, shop):
    persona = persona_for(shop)
    product = product_for(shop, "vase-1")
    customers = [customer_for(shop, f"c{n}", persona) for n in range(3)]
    events_for(shop, customers[0], product, [days_ago(1), days_ago(1, hours=1), days_ago(2)])
    events_for(shop, customers[1], product, [days_ago(40)])  # outside the 30 days
    job_for(shop, product, persona, listing_status="published")
    job_for(shop, product_for(shop, "vase-2"), persona, status="running", listing_status=None)
    today = shop_today(shop=shop)
    revenue_on(shop, product, today, "300.00")
    revenue_on(shop, product, today - timedelta(days=8), "200.00")
    revenue_on(shop, product, today - timedelta(days=15), "999.00")  # two weeks ago: in neither week

    html = html_of(dash.get("/dashboard/"))
    cards = re.findall(r'<span class="number">([^<]+)</span><span class="label">([a-z ]+)', html)
    assert ("3", "customers") in cards and ("1", "personas") in cards and ("1", "listings live") in cards
    assert ("1", "jobs running") in cards
    assert "300.00 <small>CNY</small>" in html and "vs 200.00 last week" in html and "+50&nbsp;%" in html
    assert html.count("<rect ") == 30  # one bar a day, zero-height on quiet days
    assert "3 events in the last 30 days" in html and "the busiest day had 2" in html


def test_overview_empty_state_says_how_to_get_events(dash):
    html = html_of(dash.get("/dashboard/"))
    assert "No events in the last 30 days" in html and "simulate_store" in html
    assert "No personas yet: send events or run" in html


def test_persona_list_and_page_show_words_demands_kansei_viewpoints_and_both_charts(dash, shop):
    persona = persona_for(shop)
    product = product_for(shop, "vase-1")
    for n in range(6):
        customer = customer_for(shop, f"c{n}", persona, keywords={"青花": 1.0, f"词{n % 3}": 0.5})
        events_for(shop, customer, product, [days_ago(n)])
    listing_html = html_of(dash.get("/dashboard/personas/"))
    assert persona.name in listing_html and "青花 · 非遗 · 手工" in listing_html and "cultural (60 %)" in listing_html

    html = html_of(dash.get(f"/dashboard/personas/{persona.id}/"))
    assert "82 %" in html  # sentiment
    for text in ("青花", "非遗", "cultural", "emotional", "warm",
                 "青花的颜色非常正，送给长辈很体面。", "扇骨容易断，包装也太简单了。"):
        assert text in html
    charts = re.findall(r'<svg role="img" aria-label="([^"]+)" class="chart"', html)
    assert len(charts) == 2
    assert charts[0].startswith("Events by day of the week") and "6 customers" in charts[1]


def test_persona_empty_state(dash):
    html = html_of(dash.get("/dashboard/personas/"))
    assert "No personas yet: send events or run <code>python manage.py simulate_store</code>" in html


def test_generation_page_launches_jobs_for_a_product_and_the_chosen_personas(dash, shop, django_capture_on_commit_callbacks):
    chosen, other = persona_for(shop, "chosen"), persona_for(shop, "not chosen")
    product = product_for(shop, "vase-1")
    page = html_of(dash.get("/dashboard/generation/"))
    assert "No jobs yet: pick a product and personas above." in page and 'value="vase-1"' in page
    response = dash.post("/dashboard/generation/", {"product": "vase-1", "personas": [chosen.id]}, follow=True)
    html = html_of(response)
    job = GenerationJob.objects.get(shop=shop)
    assert (job.product, job.persona, job.status) == (product, chosen, "queued")
    assert "1 new job(s) queued" in html and f'data-job="{job.id}"' in html and "Queued" in html
    assert not GenerationJob.objects.filter(persona=other).exists()


def test_the_persona_page_link_preselects_its_persona_on_the_generation_page(dash, shop):
    chosen, other = persona_for(shop, "chosen"), persona_for(shop, "other")
    html = html_of(dash.get(f"/dashboard/generation/?persona={chosen.id}"))
    checked = re.findall(r'<input type="checkbox" name="personas" value="(\d+)"[^>]*\bchecked\b', html)
    assert checked == [str(chosen.id)]


def test_generation_form_errors_are_shown_not_raised(dash, shop):
    persona = persona_for(shop)
    product_for(shop, "bare", image=False)
    unknown = dash.post("/dashboard/generation/", {"product": "nope", "personas": [persona.id]})
    assert unknown.status_code == 400 and "no product with id “nope”" in unknown.content.decode()
    bare = dash.post("/dashboard/generation/", {"product": "bare", "personas": [persona.id]})
    assert bare.status_code == 400 and "has no image" in bare.content.decode()
    GenerationSettings.objects.create(shop=shop, daily_job_budget=0)
    product_for(shop, "vase-1")
    broke = dash.post("/dashboard/generation/", {"product": "vase-1", "personas": [persona.id]})
    assert broke.status_code == 400 and "budget of 0 generation jobs a day is used up" in broke.content.decode()
    none = dash.post("/dashboard/generation/", {"product": "vase-1"})
    assert "Pick at least one persona." in none.content.decode()
    assert not GenerationJob.objects.exists()


def test_generation_page_without_personas_says_what_to_do(dash):
    html = html_of(dash.get("/dashboard/generation/"))
    assert "No personas yet: send events or run <code>python manage.py simulate_store</code>" in html


def test_job_page_shows_the_original_beside_the_results_with_fidelity(dash, shop):
    persona, product = persona_for(shop), product_for(shop, "vase-1", title="青花瓷瓶")
    job = job_for(shop, product, persona)
    html = html_of(dash.get(f"/dashboard/generation/jobs/{job.id}/"))
    listing = Listing.objects.get(job=job)
    assert 'alt="青花瓷瓶 (original photo)"' in html and product.image.url in html
    assert f'alt="{listing.title}"' in html and "Fidelity <strong>0.81</strong>" in html
    assert ">Approve<" in html and ">Publish<" not in html and "Regenerate" in html


def test_job_progress_json_reports_status_and_progress(dash, shop):
    persona, product = persona_for(shop), product_for(shop, "vase-1")
    running = job_for(shop, product, persona, status="running", listing_status=None)
    done = job_for(shop, product_for(shop, "vase-2"), persona, listing_status="published")
    body = dash.get(f"/dashboard/generation/progress.json?ids={running.id},{done.id},x").json()
    assert body["jobs"] == [
        {"id": running.id, "status": "running", "progress": 40, "error": "", "listing_status": None,
         "url": f"/dashboard/generation/jobs/{running.id}/"},
        {"id": done.id, "status": "succeeded", "progress": 100, "error": "", "listing_status": "published",
         "url": f"/dashboard/generation/jobs/{done.id}/"},
    ]


def test_listing_buttons_move_a_listing_and_an_illegal_move_shows_the_error(dash, shop):
    persona, product = persona_for(shop), product_for(shop, "vase-1")
    listing = Listing.objects.get(job=job_for(shop, product, persona))
    url = f"/dashboard/listings/{listing.id}"

    illegal = html_of(dash.post(f"{url}/publish/", {"next": "/dashboard/listings/"}, follow=True))
    assert "was not published: A draft listing cannot be published; allowed from approved." in illegal
    listing.refresh_from_db()
    assert listing.status == "draft"

    for action, status in (("approve", "approved"), ("publish", "published"), ("retire", "retired")):
        html = html_of(dash.post(f"{url}/{action}/", {"next": f"/dashboard/generation/jobs/{listing.job_id}/"},
                                 follow=True))
        listing.refresh_from_db()
        assert listing.status == status and f"is now {status}" in html
    assert listing.audit.filter(actor="user:owner").count() == 3
    assert dash.post(f"{url}/delete/").status_code == 404
    offsite = dash.post(f"{url}/approve/", {"next": "https://evil.example/"})
    assert offsite["Location"] == "/dashboard/listings/"


def test_regenerate_supersedes_the_job_retires_its_draft_and_queues_a_new_drawing(dash, shop):
    persona, product = persona_for(shop), product_for(shop, "vase-1")
    job = job_for(shop, product, persona, version=persona.version)
    response = dash.post(f"/dashboard/generation/jobs/{job.id}/regenerate/")
    new_job = GenerationJob.objects.exclude(id=job.id).get()
    assert response["Location"] == f"/dashboard/generation/jobs/{new_job.id}/"
    job.refresh_from_db()
    assert job.status == "superseded" and job.listing.status == "retired"
    assert (new_job.product, new_job.persona, new_job.status) == (product, persona, "queued")
    again = html_of(dash.post(f"/dashboard/generation/jobs/{new_job.id}/regenerate/", follow=True))
    assert "is still queued; wait for it to finish or cancel it first." in again


def test_listings_page_shows_who_sees_what_and_filters_by_status(dash, shop):
    heritage, green = persona_for(shop, "heritage"), persona_for(shop, "green")
    job_for(shop, product_for(shop, "vase-1", title="青花瓷瓶"), heritage, listing_status="published")
    job_for(shop, product_for(shop, "fan-1", title="折扇"), green, listing_status="draft")
    everything = html_of(dash.get("/dashboard/listings/"))
    assert "青花瓷瓶 · heritage" in everything and "折扇 · green" in everything
    assert 'alt="青花瓷瓶 · heritage"' in everything and "Published (1)" in everything
    published = html_of(dash.get("/dashboard/listings/?status=published"))
    assert "青花瓷瓶 · heritage" in published and "折扇 · green" not in published
    assert "No retired listings." in html_of(dash.get("/dashboard/listings/?status=retired"))


def test_listings_empty_state(dash):
    assert "No listings yet: launch a job on the" in html_of(dash.get("/dashboard/listings/"))


def test_settings_reject_a_holdout_share_of_one_and_a_half_with_the_reason(dash, shop):
    response = dash.post("/dashboard/settings/", {"holdout_share": "1.5", "daily_job_budget": "50",
                                                 "fidelity_threshold": "0.65", "auto_approve_threshold": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Holdout share must be between 0 and 0.9" in html and "you entered 1.5" in html
    assert not GenerationSettings.objects.filter(shop=shop).exists()


def test_settings_save_and_show_the_values(dash, shop):
    form = {"holdout_share": "0.25", "daily_job_budget": "12", "fidelity_threshold": "0.7",
            "auto_approve_threshold": "0.8"}
    html = html_of(dash.post("/dashboard/settings/", form, follow=True))
    saved = GenerationSettings.objects.get(shop=shop)
    assert (saved.holdout_share, saved.daily_job_budget, saved.fidelity_threshold, saved.auto_approve_threshold) == (
        Decimal("0.25"), 12, 0.7, 0.8)
    assert "Settings saved." in html and 'value="0.250"' in html and 'value="12"' in html
    for label in ("Holdout share", "Auto-approve threshold", "Daily job budget", "Fidelity threshold"):
        assert re.search(rf'<label for="id_\w+">{label}</label>', html)


def test_api_key_is_shown_once_works_and_stops_working_once_revoked(dash, shop):
    from rest_framework.test import APIClient

    assert "No API keys yet" in html_of(dash.get("/dashboard/settings/"))
    created = dash.post("/dashboard/settings/api-keys/", {"label": "web store"})
    shown = html_of(dash.get(created["Location"]))
    raw_key = re.search(r'value="(sk_[^"]+)"', shown).group(1)
    assert "it will not be shown again" in shown
    again = html_of(dash.get(created["Location"]))
    assert raw_key not in again and "already shown once" in again
    assert raw_key not in html_of(dash.get("/dashboard/settings/"))

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.get("/api/v1/listings").status_code == 200
    key_id = shop.api_keys.get(label="web store").id
    revoked = html_of(dash.post(f"/dashboard/settings/api-keys/{key_id}/revoke/", follow=True))
    assert "is revoked" in revoked
    assert api.get("/api/v1/listings").status_code == 401


def test_pages_have_a_viewport_labelled_controls_and_the_navigation(dash, shop):
    persona = persona_for(shop)
    job = job_for(shop, product_for(shop, "vase-1"), persona)
    for url in ("/dashboard/", "/dashboard/personas/", f"/dashboard/personas/{persona.id}/", "/dashboard/generation/",
                f"/dashboard/generation/jobs/{job.id}/", "/dashboard/listings/", "/dashboard/settings/"):
        html = html_of(dash.get(url))
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        for link in ("Overview", "Personas", "Generation", "Listings", "Settings"):
            assert f">{link}</a>" in html
        assert 'href="/dashboard/reports/benefit/"' in html
        for control in re.findall(r'<(?:input|select)\b[^>]*>', html):
            if 'type="hidden"' in control or 'type="checkbox"' in control:
                continue  # checkboxes sit inside their <label>
            control_id = re.search(r'id="([^"]+)"', control).group(1)
            assert f'for="{control_id}"' in html, control
        for image in re.findall(r"<img\b[^>]*>", html):
            assert re.search(r'alt="[^"]+"', image), image


def test_the_product_model_is_untouched_by_the_page_views(dash, shop):
    product_for(shop, "vase-1")
    for url in ("/dashboard/", "/dashboard/generation/", "/dashboard/listings/", "/dashboard/settings/"):
        dash.get(url)
    assert Product.objects.count() == 1 and not GenerationSettings.objects.exists()  # a GET writes nothing
