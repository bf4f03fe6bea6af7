"""Personas from a simulated shop: full recompute, stable ids, incremental recompute, APIs."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone as tz

from profiles.ingestion.services import events_ingest
from profiles.models import Customer, CustomerProfile, Event, Persona, PersonaClustering, Shop
from profiles.personas import services
from profiles.services import shop_create
from shop_ai.simulator import SimulationConfig, simulate_store
from tests.conftest import built_once, client_for

END = datetime.now(timezone.utc) - timedelta(hours=2)


@pytest.fixture(scope="module")
def shop_with_personas(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module (it takes seconds); the tests only read it, or change it and are rolled back."""
    yield from built_once(django_db_blocker, lambda: _simulated_shop(tmp_path_factory.mktemp("truth")))


@pytest.fixture
def simulated_shop(db, shop_with_personas):
    return Shop.objects.get(pk=shop_with_personas.pk)  # a fresh instance: a test's changes to it stay its own


def _simulated_shop(tmp_path) -> Shop:
    shop = shop_create(name="Simulated Heritage")
    config = SimulationConfig(customers=240, products=60, weeks=4, seed=5, images=False, end=END)
    simulate_store(shop=shop, config=config, truth_path=tmp_path / "truth.json", progress=False)
    services.personas_recompute_full(shop=shop)
    return shop


@pytest.mark.django_db
def test_full_recompute_finds_personas_with_summaries(simulated_shop):
    state = PersonaClustering.objects.get(shop=simulated_shop)
    personas = list(Persona.objects.filter(shop=simulated_shop, retired_at__isnull=True, is_new_visitors=False))
    assert 2 <= state.k == len(personas) <= 12 and state.silhouette is not None
    assert sum(p.size for p in personas) + Persona.objects.get(shop=simulated_shop, is_new_visitors=True).size \
        == Customer.objects.filter(shop=simulated_shop).count()
    for persona in personas:
        assert persona.top_keywords and persona.kansei and persona.name
        members = CustomerProfile.objects.filter(shop=simulated_shop, persona=persona)
        if members.exclude(demand_mix={}).exists():
            assert set(persona.demand_mix) == {"L0", "L1", "L2", "L3", "L4", "L5"}
            assert abs(sum(persona.demand_mix.values()) - 1) < 0.01
            assert 0 <= persona.sentiment <= 1
        else:  # the simulation is dated from today, and some days a small cluster has written no reviews
            assert persona.demand_mix == {}
    assert any(persona.demand_mix for persona in personas), "a simulated shop's reviews state demands"
    with_opinions = [p for p in personas if p.positive_opinions or p.negative_opinions]
    assert with_opinions, "a simulated shop has reviews, so personas have opinions"


@pytest.mark.django_db
def test_the_products_a_customer_touched_are_terms_of_the_fit_but_not_keywords(simulated_shop):
    profile = CustomerProfile.objects.filter(shop=simulated_shop).exclude(products={}).first()
    touched = set(Event.objects.filter(customer_id=profile.customer_id, product__isnull=False)
                  .values_list("product_id", flat=True))
    assert profile.products and {int(pk) for pk in profile.products} <= touched
    assert any(term.startswith("product:") for term in PersonaClustering.objects.get(shop=simulated_shop).vocabulary)
    for persona in Persona.objects.filter(shop=simulated_shop, retired_at__isnull=True):
        assert not any(word.startswith("product:") for word, _ in persona.top_keywords)


@pytest.mark.django_db
def test_persona_ids_are_stable_across_a_recluster_of_the_same_data(simulated_shop):
    before = {p.id: p.version for p in Persona.objects.filter(shop=simulated_shop, retired_at__isnull=True)}
    membership = dict(CustomerProfile.objects.filter(shop=simulated_shop).values_list("customer_id", "persona_id"))
    services.personas_recompute_full(shop=simulated_shop)
    after = {p.id: p.version for p in Persona.objects.filter(shop=simulated_shop, retired_at__isnull=True)}
    assert set(after) == set(before)
    assert all(after[pk] >= before[pk] for pk in before)
    again = dict(CustomerProfile.objects.filter(shop=simulated_shop).values_list("customer_id", "persona_id"))
    assert again == membership


@pytest.mark.django_db
def test_incremental_recompute_touches_only_changed_customers(simulated_shop):
    changed = list(Customer.objects.filter(shop=simulated_shop).order_by("id")[:5])
    product_id = simulated_shop.products.first().external_id
    events_ingest(shop=simulated_shop, raw_events=[
        {"event_id": f"new-{c.id}", "type": "view", "customer_id": c.external_id, "product_id": product_id,
         "occurred_at": datetime.now(timezone.utc).isoformat()} for c in changed])
    with mock.patch.object(services, "customer_keywords", wraps=services.customer_keywords) as keywords, \
            mock.patch("profiles.personas.services.customer_signals", wraps=services.customer_signals) as signals:
        outcome = services.personas_assign_incremental(shop=simulated_shop, customer_ids=[c.id for c in changed])
    assert outcome["mode"] == "incremental"
    assert keywords.call_count == 5
    assert sorted(signals.call_args.kwargs["customer_ids"]) == sorted(c.id for c in changed)


@pytest.mark.django_db
def test_drift_triggers_a_full_recluster(simulated_shop):
    many = list(Customer.objects.filter(shop=simulated_shop).values_list("id", flat=True))
    outcome = services.personas_assign_incremental(shop=simulated_shop, customer_ids=many)
    assert outcome["mode"] == "full"
    assert PersonaClustering.objects.get(shop=simulated_shop).version == 2


@pytest.mark.django_db
def test_an_old_fit_is_redone_in_full_at_the_next_refresh(simulated_shop, settings):
    one = list(Customer.objects.filter(shop=simulated_shop).values_list("id", flat=True)[:1])
    assert services.personas_assign_incremental(shop=simulated_shop, customer_ids=one)["mode"] == "incremental"
    settings.PERSONA_REFIT_DAYS = 7
    PersonaClustering.objects.filter(shop=simulated_shop).update(fitted_at=tz.now() - timedelta(days=8))
    outcome = services.personas_assign_incremental(shop=simulated_shop, customer_ids=one)
    assert outcome == {"mode": "full", "reason": "the last fit is more than 7 days old"}
    assert PersonaClustering.objects.get(shop=simulated_shop).fitted_at > tz.now() - timedelta(minutes=5)
    settings.PERSONA_REFIT_DAYS = 0
    PersonaClustering.objects.filter(shop=simulated_shop).update(fitted_at=tz.now() - timedelta(days=80))
    assert services.personas_assign_incremental(shop=simulated_shop, customer_ids=one)["mode"] == "incremental"


@pytest.mark.django_db
def test_a_shop_with_three_customers_gets_one_persona_and_says_why(shop):
    from profiles.services import product_upsert

    product_upsert(shop=shop, external_id="p", title="剪纸书签")
    events_ingest(shop=shop, raw_events=[
        {"event_id": f"e{n}", "type": "review", "customer_id": f"c{n}", "product_id": "p",
         "text": "剪纸图案很精致，送朋友很体面", "occurred_at": datetime.now(timezone.utc).isoformat()}
        for n in range(3)])
    state = services.personas_recompute_full(shop=shop)
    assert state.k == 1 and "cannot be chosen by silhouette" in state.note


@pytest.mark.django_db
def test_one_bad_customer_is_skipped_and_the_rest_recomputed(simulated_shop):
    real = services.customer_keywords
    calls = {"n": 0}

    def flaky(texts, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return real(texts, *args, **kwargs)

    ids = list(Customer.objects.filter(shop=simulated_shop).values_list("id", flat=True)[:4])
    with mock.patch.object(services, "customer_keywords", side_effect=flaky):
        profiles = services.customer_profiles_refresh(shop=simulated_shop, customer_ids=ids)
    assert len(profiles) == 3


@pytest.mark.django_db
def test_persona_and_profile_apis_are_scoped_by_shop(simulated_shop, other_shop):
    api, other = client_for(simulated_shop), client_for(other_shop)
    listing = api.get("/api/v1/personas").json()
    assert listing and {"id", "name", "size", "top_keywords", "demand_mix", "kansei", "sentiment"} <= set(listing[0])
    persona_id = listing[0]["id"]
    detail = api.get(f"/api/v1/personas/{persona_id}").json()
    assert "positive_opinions" in detail and "negative_opinions" in detail
    customer = CustomerProfile.objects.filter(shop=simulated_shop, review_count__gt=0).first().customer
    profile = api.get(f"/api/v1/customers/{customer.external_id}/profile").json()
    assert profile["persona"]["id"] and profile["keywords"] and profile["recent_reviews"]
    review = profile["recent_reviews"][0]
    assert review["label"] in ("pos", "neg") and 0 <= review["sentiment"] <= 1
    assert other.get("/api/v1/personas").json() == []
    assert other.get(f"/api/v1/personas/{persona_id}").status_code == 404
    assert other.get(f"/api/v1/customers/{customer.external_id}/profile").status_code == 404


@pytest.mark.django_db
def test_recompute_personas_command_with_charts(simulated_shop, tmp_path):
    out = io.StringIO()
    call_command("recompute_personas", "--shop", simulated_shop.name, "--full", "--charts", str(tmp_path),
                 stdout=out, stderr=io.StringIO())
    assert "Re-clustered" in out.getvalue()
    assert (tmp_path / "weekly_behaviour.png").stat().st_size > 5_000
    assert (tmp_path / "customer_tsne.png").stat().st_size > 5_000
