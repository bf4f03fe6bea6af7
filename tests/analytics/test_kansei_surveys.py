"""Kansei surveys: made by the owner, rated through a token link, shown per rater group on the report."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.test import Client

from analytics.kansei_surveys import kansei_profiles, kansei_survey_create
from analytics.models import KanseiRating
from profiles.models import Product
from tests.analytics.factories import listing_live, persona_for
from tests.dashboard.factories import owner_of

WORDS = ("emotional", "simple", "light", "fashionable", "warm", "effortless")
LIVE = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _product(shop, external_id="fan-1", variants=2):
    product = Product.objects.create(shop=shop, external_id=external_id, title="青花折扇", category="fan", price=68)
    for index in range(variants):
        listing_live(shop=shop, product=product, persona=persona_for(shop, f"persona {index}"), published_at=LIVE)
    return product


def _scores(value=5, **override):
    return {**{word: str(value) for word in WORDS}, **override}


def _next_design(client, token) -> int:
    page = client.get(f"/kansei/{token}/")
    assert page.status_code == 200
    return int(page.content.decode().split('name="design" value="')[1].split('"')[0])


@pytest.mark.django_db
def test_a_rater_rates_each_design_once_and_the_ratings_go_through_the_kansei_service(shop):
    _product(shop)
    survey = kansei_survey_create(shop=shop, product_external_id="fan-1", rater_kind="expert")
    assert survey.designs.count() == 3 and survey.designs.first().listing is None  # the original first
    rater = Client()
    page = rater.get(f"/kansei/{survey.token}/").content.decode()
    assert page.count('type="range"') == 6 and "温暖的 · warm" in page and "Design 1 / 3" in page
    assert 'name="viewport"' in page
    first = _next_design(rater, survey.token)
    assert rater.post(f"/kansei/{survey.token}/", {"design": first, **_scores(6)}).status_code == 302
    assert KanseiRating.objects.filter(shop=shop, rater_kind="expert", score=6).count() == 6
    again = rater.post(f"/kansei/{survey.token}/", {"design": first, **_scores(2)})
    assert again.status_code == 400 and "already rated this design" in again.content.decode()
    assert not KanseiRating.objects.filter(score=2).exists()
    assert _next_design(rater, survey.token) != first
    for _ in range(2):
        rater.post(f"/kansei/{survey.token}/", {"design": _next_design(rater, survey.token), **_scores(4)})
    assert "rated all 3 designs" in rater.get(f"/kansei/{survey.token}/").content.decode()
    assert KanseiRating.objects.filter(shop=shop).count() == 18


@pytest.mark.django_db
@pytest.mark.parametrize(("scores", "message"), [
    (_scores(warm="9"), "&#x27;warm&#x27; must be from 1 to 7, not 9"),
    (_scores(warm="0"), "must be from 1 to 7, not 0"),
    (_scores(warm="hot"), "move the slider for &#x27;warm&#x27;"),
    ({"emotional": "3"}, "move the slider for &#x27;simple&#x27;"),
])
def test_out_of_range_or_missing_scores_are_refused_and_nothing_is_stored(shop, scores, message):
    _product(shop)
    survey = kansei_survey_create(shop=shop, product_external_id="fan-1")
    rater = Client()
    answer = rater.post(f"/kansei/{survey.token}/", {"design": _next_design(rater, survey.token), **scores})
    assert answer.status_code == 400 and message in answer.content.decode()
    assert not KanseiRating.objects.exists()


@pytest.mark.django_db
def test_closed_surveys_unknown_tokens_and_another_shops_designs_are_refused(shop, other_shop, client):
    _product(shop)
    _product(other_shop, variants=1)
    ours = kansei_survey_create(shop=shop, product_external_id="fan-1")
    theirs = kansei_survey_create(shop=other_shop, product_external_id="fan-1")
    rater = Client()
    their_design = theirs.designs.first().id
    wrong = rater.post(f"/kansei/{ours.token}/", {"design": their_design, **_scores()})
    assert wrong.status_code == 400 and "not part of this survey" in wrong.content.decode()
    assert rater.get("/kansei/no-such-token/").status_code == 404
    for junk in ("abc", "", "-1", "99999999999999999999"):
        answer = rater.post(f"/kansei/{ours.token}/", {"design": junk, **_scores()})
        assert answer.status_code == 400 and "not part of this survey" in answer.content.decode()
    # The owner can close their own survey, not another shop's.
    client.force_login(owner_of(shop))
    assert client.post(f"/dashboard/kansei/{theirs.id}/close/").status_code == 404
    assert client.post(f"/dashboard/kansei/{ours.id}/close/").status_code == 302
    design = ours.designs.first().id
    closed = rater.post(f"/kansei/{ours.token}/", {"design": design, **_scores()})
    assert closed.status_code == 400 and "closed" in closed.content.decode()
    assert "This survey is closed" in rater.get(f"/kansei/{ours.token}/").content.decode()
    assert not KanseiRating.objects.exists()


@pytest.mark.django_db
def test_the_owner_makes_a_survey_and_sees_its_link(shop, client):
    _product(shop)
    client.force_login(owner_of(shop))
    made = client.post("/dashboard/kansei/", {"product": "fan-1", "rater_kind": "shopper", "title": ""})
    assert made.status_code == 302
    page = client.get("/dashboard/kansei/").content.decode()
    survey = shop.kansei_surveys.get()
    assert f"http://testserver/kansei/{survey.token}/" in page and "Customers" in page
    assert client.post("/dashboard/kansei/", {"product": "nope", "rater_kind": "shopper"}).status_code == 400


@pytest.mark.django_db
def test_profiles_give_cis_rater_counts_and_the_difference_from_the_original_per_group(shop):
    product = _product(shop, variants=1)
    experts = kansei_survey_create(shop=shop, product_external_id="fan-1", rater_kind="expert")
    customers = kansei_survey_create(shop=shop, product_external_id="fan-1", rater_kind="shopper")
    original, variant = experts.designs.all()
    from analytics.kansei_surveys import kansei_survey_submit

    for rater, (before, after) in enumerate([(3, 6), (4, 6), (3, 7)]):
        kansei_survey_submit(survey=experts, design_id=original.id, rater=f"e{rater}", scores=_scores(before))
        kansei_survey_submit(survey=experts, design_id=variant.id, rater=f"e{rater}", scores=_scores(after))
    kansei_survey_submit(survey=customers, design_id=customers.designs.last().id, rater="c1", scores=_scores(5))
    profiles = {(p.key): p for p in kansei_profiles(shop=shop, product_ids=[product.id])}
    listing_key = f"listing:{variant.listing_id}"
    expert_warm = profiles[listing_key].groups["expert"]["warm"]
    assert expert_warm.mean == pytest.approx(6.33, abs=0.01) and expert_warm.raters == 3
    assert expert_warm.difference == pytest.approx(19 / 3 - 10 / 3)
    assert expert_warm.difference_low > 0  # clearly warmer than the original for the experts
    assert profiles[listing_key].raters == {"expert": 3, "shopper": 1}
    customer_warm = profiles[listing_key].groups["shopper"]["warm"]
    assert customer_warm.ci_low is None and customer_warm.difference is None  # one rater, no original rated


@pytest.mark.django_db
def test_the_owner_sets_the_smallest_lift_worth_having(shop, client):
    from analytics.selectors import smallest_lift_worth_having

    client.force_login(owner_of(shop))
    assert smallest_lift_worth_having(shop=shop) == 0.05
    assert "Smallest lift worth having" in client.get("/dashboard/settings/").content.decode()
    assert client.post("/dashboard/settings/experiment/", {"smallest_lift": "8"}).status_code == 302
    assert smallest_lift_worth_having(shop=shop) == pytest.approx(0.08)
    refused = client.post("/dashboard/settings/experiment/", {"smallest_lift": "0"})
    assert refused.status_code == 400 and smallest_lift_worth_having(shop=shop) == pytest.approx(0.08)
