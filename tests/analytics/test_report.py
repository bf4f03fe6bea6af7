"""The benefit report of a simulated shop: API JSON, the same numbers as CSV, and the manager page."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from html import unescape
from unittest import mock

import pytest

from analytics import estimators
from analytics.reports import CHOSEN_LIFT, benefit_report
from analytics.selectors import exposed_visitors
from analytics.kansei import kansei_rating_record
from analytics.rollup import daily_stats_rebuild
from generation.models import Exposure
from generation.storefront import exposure_log
from profiles.models import Persona, Product, Shop
from profiles.personas.services import personas_recompute_full
from profiles.services import shop_create
from shop_ai.simulator import SimulationConfig, simulate_store
from shop_ai.simulator.storefront import storefront_shown_style
from tests.analytics.factories import listing_live
from tests.conftest import built_once, client_for
from tests.dashboard.factories import owner_of

NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
SWITCH_ON = NOW - timedelta(weeks=3)


@pytest.fixture(scope="module")
def shop_with_ai_listings(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module (it takes seconds); the tests only read it, or change it and are rolled back."""
    yield from built_once(django_db_blocker, lambda: _simulated_shop(tmp_path_factory.mktemp("truth")))


@pytest.fixture
def simulated_shop(db, shop_with_ai_listings):
    return Shop.objects.get(pk=shop_with_ai_listings.pk)  # a fresh instance: a test's changes to it stay its own


def _simulated_shop(tmp_path) -> Shop:
    """Six weeks of history, personas, variants of a third of the products for every persona from
    SWITCH_ON, then three weeks of shoppers who see them (or the originals, if held out)."""
    shop = shop_create(name="Simulated Lotus & Ink")  # beside the `shop` fixture's "Lotus & Ink"
    base = dict(customers=160, products=30, seed=11, images=False)
    simulate_store(shop=shop, config=SimulationConfig(**base, weeks=6, end=SWITCH_ON), truth_path=tmp_path / "a.json",
                   progress=False)
    personas_recompute_full(shop=shop)
    personas = list(Persona.objects.filter(shop=shop, is_new_visitors=False))
    for product in Product.objects.filter(shop=shop).order_by("external_id")[::3]:
        for persona in personas:
            listing_live(shop=shop, product=product, persona=persona, published_at=SWITCH_ON)
    simulate_store(shop=shop, config=SimulationConfig(**base, weeks=3, end=NOW - timedelta(hours=1), period=1),
                   truth_path=tmp_path / "b.json", progress=False, shown_style=storefront_shown_style(shop))
    exposure_log.flush()
    daily_stats_rebuild(shop=shop)
    return shop


def _window() -> dict:
    return {"start": (SWITCH_ON - timedelta(weeks=5)).date().isoformat(), "end": NOW.date().isoformat()}


def test_the_report_names_its_methods_and_the_csv_has_the_same_numbers(simulated_shop):
    shop = simulated_shop
    assert Exposure.objects.filter(shop=shop, holdout=True, listing__isnull=False).exists()
    body = client_for(shop).get("/api/v1/reports/benefit", _window()).json()
    assert body["currency"] == "CNY" and body["headline"].startswith(("Personalised listings", "Not enough"))
    did = body["estimates"]["difference_in_differences"]
    assert "clustered by product" in did["method"] and did["ci_low"] <= did["lift"] <= did["ci_high"]
    assert "variant_vs_holdout_revenue" in body["estimates"] and body["power"]["minimum_detectable_lift"] > 0
    if body["estimates"]["variant_vs_holdout_revenue"]["lift"] is not None:  # the headline names its unit
        assert "per exposed customer" in body["headline"] and "product-day" not in body["headline"]
    assisted = [row for row in body["products"] if row["assisted_from"]]
    assert len(assisted) == 10 and all(row["days_after"] > 0 and row["days_before"] > 0 for row in assisted)
    # Power reuses the report's own estimates (each computed once) and gives what it computes afresh.
    window = {name: date.fromisoformat(day) for name, day in _window().items()}
    with mock.patch("analytics.estimators.difference_in_differences", wraps=estimators.difference_in_differences) \
            as did_calls, mock.patch("analytics.estimators.variant_vs_holdout",
                                     wraps=estimators.variant_vs_holdout) as holdout_calls:
        report = benefit_report(shop=shop, **window)
    assert did_calls.call_count == 1 and holdout_calls.call_count == 1
    visitors = exposed_visitors(shop=shop, **window)
    # ... the capped ones where the pre-period gives a cap, each naming its cap, the uncapped beside them.
    cuped = report.estimates.get("variant_vs_holdout_revenue_cuped_capped", report.estimates[
        "variant_vs_holdout_revenue_cuped"])
    did = report.estimates["difference_in_differences_capped"]
    assert "capped at CNY" in did.estimand
    assert "p99.5 of product-days before any AI listing" in body["estimates"]["difference_in_differences_capped"][
        "estimand"]
    capped_holdout = body["estimates"].get("variant_vs_holdout_revenue_cuped_capped")
    if capped_holdout is not None:  # a cap needs 50 exposed customers with a pre-period
        assert "capped at CNY" in capped_holdout["estimand"] and "variant_vs_holdout_revenue_cuped" in body["estimates"]
    assert report.power == estimators.power(report.panel, visitors, chosen_lift=CHOSEN_LIFT, did=did,
                                            holdout_revenue=cuped)
    assert report.power.basis in (f"variant vs holdout, {cuped.estimand}", f"difference-in-differences, {did.estimand}")
    assert body["power"]["minimum_detectable_lift"] == pytest.approx(report.power.minimum_detectable_lift)
    response = client_for(shop).get("/api/v1/reports/benefit", {**_window(), "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_id = {row["product_id"]: row for row in rows}
    assert set(by_id) == {row["product_id"] for row in body["products"]} | {"pooled"}
    pooled = body["decisions"][0]
    assert pooled["product_id"] == "pooled" and by_id["pooled"]["decision"] == pooled["action"]
    assert by_id["pooled"]["decision_sentence"] == body["experiment"]["decision"]["sentence"]
    for row in assisted:
        line = by_id[row["product_id"]]
        assert float(line["mean_net_revenue_per_day_before"]) == pytest.approx(row["mean_before"], abs=0.005)
        lift = row["difference_in_differences"]["lift"]
        assert lift is None or float(line["did_lift"]) == pytest.approx(lift, abs=1e-6)
    # A product without AI has no before and after (not "0 / 0"): its days and mean over the window.
    days = (NOW.date() - (SWITCH_ON - timedelta(weeks=5)).date()).days + 1
    unassisted = [row for row in body["products"] if not row["assisted_from"]]
    assert len(unassisted) == 20 and all(row["days_before"] is None and row["days_after"] is None
                                         and row["mean_before"] is None and row["days_in_window"] == days
                                         and row["mean_per_day"] is not None for row in unassisted)
    for row in unassisted:
        line = by_id[row["product_id"]]
        assert (line["days_before"], line["days_after"], line["days_in_window"]) == ("", "", str(days))
        assert float(line["mean_net_revenue_per_day"]) == pytest.approx(row["mean_per_day"], abs=0.005)


def test_the_manager_page_shows_the_sentence_the_table_both_charts_and_the_kansei_matrix(simulated_shop, client):
    shop = simulated_shop
    product = Product.objects.filter(shop=shop).order_by("external_id").first()
    for rater, score in (("r1", 6), ("r2", 5)):
        kansei_rating_record(shop=shop, product_external_id=product.external_id, listing_id=None, word="warm",
                             score=score, rater=rater)
    client.force_login(owner_of(shop))
    page = client.get("/dashboard/reports/benefit/", _window())
    html = page.content.decode()
    assert page.status_code == 200 and "Personalised listings" in html or "Not enough data" in html
    assert html.count("<svg") >= 2 and "AI listings live" in html and "unassisted" in html
    assert "Difference-in-differences" in html and product.title in html and "5.50" in html
    assert "0 / 0" not in html and html.count("no AI: comparison product") == 20
    assert "are the comparison that AI-assisted products of its category are measured against" in html
    assert "went live after this window" not in html
    # A window that ends before the listings went live says so, not "live too recently".
    before_ai = {"start": _window()["start"], "end": (SWITCH_ON - timedelta(days=2)).date().isoformat()}
    html = client.get("/dashboard/reports/benefit/", before_ai).content.decode()
    assert html.count("AI went live after this window") == 10 and "live too recently" not in html
    csv_link = client.get("/dashboard/reports/benefit.csv", _window())
    assert csv_link.status_code == 200 and csv_link.content.decode("utf-8-sig").startswith("product_id,")


@pytest.mark.parametrize(("query", "message"), [
    ({"start": "2026-10-10", "end": "2026-10-01"}, "after end"),
    ({"start": "2020-01-01", "end": "2026-10-01"}, "at most"),
    ({"start": "yesterday"}, "YYYY-MM-DD"),
])
def test_bad_windows_are_refused_with_what_to_change(api, query, message):
    response = api.get("/api/v1/reports/benefit", query)
    assert response.status_code == 400 and message in str(response.json())


def test_an_empty_shop_gets_a_report_that_says_what_to_do(api, client, shop):
    body = api.get("/api/v1/reports/benefit").json()
    assert body["products"] == [] and body["headline"].startswith("Not enough data") and "simulate_store" in body["headline"]
    client.force_login(owner_of(shop))
    page = client.get("/dashboard/reports/benefit/").content.decode()
    assert "No products sold or viewed in this window" in page and "No Kansei ratings yet" in page


def test_kansei_ratings_over_the_api_and_another_shops_design_is_refused(api, other_api, shop):
    Product.objects.create(shop=shop, external_id="puppet", title="布袋木偶")
    rating = {"product_id": "puppet", "word": "warm", "score": 6, "rater": "expert-1", "rater_kind": "expert"}
    assert api.post("/api/v1/kansei-ratings", rating, format="json").status_code == 201
    assert api.post("/api/v1/kansei-ratings", {**rating, "score": 7}, format="json").status_code == 200
    off_scale = api.post("/api/v1/kansei-ratings", {**rating, "score": 9}, format="json")
    assert off_scale.status_code == 400 and "score" in off_scale.json()["errors"]
    assert other_api.post("/api/v1/kansei-ratings", rating, format="json").status_code == 400
    matrix = api.get("/api/v1/kansei-ratings").json()
    assert matrix["designs"][0]["scores"]["warm"] == {"mean": 7.0, "n": 1}
    assert matrix["best_design_per_word"]["warm"] == "original:puppet" and matrix["scale"]["high"] == 7
    assert other_api.get("/api/v1/kansei-ratings").json()["designs"] == []


def test_a_window_with_two_currencies_is_refused_rather_than_summed(api, shop):
    from analytics.rollup import daily_stats_rebuild
    from profiles.ingestion.services import events_ingest
    from tests.conftest import recent

    Product.objects.create(shop=shop, external_id="fan", title="折扇")
    buy = {"type": "purchase", "customer_id": "c", "product_id": "fan", "quantity": 1, "unit_price": "10.00"}
    # 42 hours apart, so never on one Shanghai day (one cell, "XXX") whatever the hour the test runs.
    events_ingest(shop=shop, raw_events=[{**buy, "event_id": "cny", "occurred_at": recent(60 * 72)}])
    shop.currency = "USD"  # the owner changed the shop's currency mid-window
    shop.save()
    events_ingest(shop=shop, raw_events=[{**buy, "event_id": "usd", "occurred_at": recent(60 * 30)}])
    daily_stats_rebuild(shop=shop)
    response = api.get("/api/v1/reports/benefit")
    assert response.status_code == 400 and "CNY, USD" in str(response.json()) and "one currency" in str(response.json())


def test_checks_cuped_always_valid_intervals_and_decisions_in_the_api_the_csv_and_the_webhook(simulated_shop):
    from analytics.announcements import benefit_report_announce
    from analytics.models import ExperimentSettings
    from generation.webhooks import webhook_endpoint_create

    shop = simulated_shop
    ExperimentSettings.objects.create(shop=shop, smallest_lift="0.100")
    body = client_for(shop).get("/api/v1/reports/benefit", {**_window(), "sequential": "1"}).json()
    experiment = body["experiment"]
    assert experiment["mode"] == "variant vs holdout" and experiment["smallest_lift_worth_having"] == 0.1
    ratio = experiment["sample_ratio"]
    assert ratio["holdout"] > 0 and ratio["variant"] > 0 and ratio["expected_holdout_share"] == 0.2
    assert experiment["trusted"] == (ratio["p_value"] >= 0.001)
    revenue = experiment["cuped"]["revenue"]
    fixed, always = revenue["adjusted"], experiment["always_valid"]
    assert fixed["estimand"] == "net revenue per exposed customer" and revenue["unadjusted"]["n"] == fixed["n"]
    assert always["ci_low"] < fixed["ci_low"] and always["ci_high"] > fixed["ci_high"]  # peeking costs width
    assert "pre-period revenue" in always["tau2_basis"] and "Safe to peek" in experiment["safe_to_peek"]
    assert experiment["decision"]["action"] in ("keep", "stop", "keep testing")
    assert body["sequential"] is True and "always-valid" in body["headline"]
    assert "Variant images served on 100.0%" in " ".join(experiment["exposure_notes"])
    per_product = [d for d in body["decisions"] if d["product_id"] != "pooled"]
    assert len(per_product) == 10  # every assisted product was exposed
    aa = client_for(shop).get("/api/v1/reports/benefit", {**_window(), "aa": "1"}).json()
    assert aa["experiment"]["mode"] == "a/a" and aa["headline"].startswith("A/A check")
    assert set(aa["estimates"]) <= {"aa_revenue_adjusted", "aa_revenue_unadjusted", "aa_conversion_adjusted",
                                    "aa_conversion_unadjusted"}
    webhook_endpoint_create(shop=shop, url="https://example.com/hook", topics=["report.ready"])
    delivery, = benefit_report_announce(shop=shop, end=date.fromisoformat(_window()["end"]))
    data = delivery.payload["data"]
    assert data["decisions"][0]["product_id"] == "pooled" and data["experiment"]["decision"]["action"]


def test_a_broken_split_leads_with_a_warning_and_headlines_no_lift(simulated_shop):
    # Three quarters of the variant arm's exposures vanish (a cache serving originals without logging, say).
    shown = Exposure.objects.filter(shop=simulated_shop, holdout=False, listing__isnull=False)
    customers = [c for i, c in enumerate(sorted(set(shown.values_list("customer_external_id", flat=True)))) if i % 4]
    shown.filter(customer_external_id__in=customers).delete()
    window = {name: date.fromisoformat(day) for name, day in _window().items()}
    report = benefit_report(shop=simulated_shop, **window)
    assert not report.experiment.trusted
    assert report.headline.startswith("Sample-ratio mismatch") and "No lift is headlined" in report.headline


def test_the_page_shows_checks_cuped_side_by_side_the_toggle_decisions_and_the_aa_check(simulated_shop, client):
    client.force_login(owner_of(simulated_shop))
    html = client.get("/dashboard/reports/benefit/", _window()).content.decode()
    assert "Variant vs holdout: checks, CUPED and what to do" in html and "Sample ratio as configured" in html
    assert "Variance removed" in html and "Unadjusted lift" in html and "Safe to peek" in html
    window = {name: date.fromisoformat(day) for name, day in _window().items()}
    revenue = benefit_report(shop=simulated_shop, **window).experiment.adjusted["revenue"]
    assert "CUPED on capped revenue" in html and revenue.cap is not None  # the cap is shown beside CUPED
    assert revenue.cap.describe(simulated_shop.currency) in unescape(html)
    assert "Show always-valid intervals" in html and "Run the A/A check" in html
    assert html.count('class="decision"') >= 11  # pooled + each of the 10 assisted products
    html = client.get("/dashboard/reports/benefit/", {**_window(), "sequential": "on"}).content.decode()
    assert "Always-valid 95 % interval" in html and "show fixed-horizon ones" in html and "Mixture of" in html
    html = client.get("/dashboard/reports/benefit/", {**_window(), "aa": "on"}).content.decode()
    # 24 held-out shoppers split 20/80: whether both halves bought anything depends on the simulated days.
    assert "A/A check (held-out customers split in two" in html or "A/A check: no estimate yet" in html
    assert "Back to the variant-vs-holdout report" in html


def test_the_aa_command_prints_the_check(simulated_shop):
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("aa_check", shop=simulated_shop.name, start=date.fromisoformat(_window()["start"]),
                 end=date.fromisoformat(_window()["end"]), stdout=out)
    assert "A/A check" in out.getvalue() and "Sample ratio" in out.getvalue()
    with pytest.raises(CommandError, match="No shop called"):
        call_command("aa_check", shop="nobody")
