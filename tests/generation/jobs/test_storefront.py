"""The storefront: the persona's published variant, the original for the holdout, exposures logged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generation.models import Exposure, GenerationSettings, Listing
from generation.services import generation_jobs_request, generation_jobs_run
from generation.storefront import exposure_log, in_holdout
from profiles.models import Customer, CustomerProfile
from tests.conftest import client_for
from tests.generation.jobs.conftest import cutout_confirmed

pytestmark = pytest.mark.django_db


def test_holdout_is_deterministic_and_close_to_the_share():
    members = [in_holdout(shop_id=1, customer_external_id=f"c{n}", share=Decimal("0.2")) for n in range(5000)]
    again = [in_holdout(shop_id=1, customer_external_id=f"c{n}", share=Decimal("0.2")) for n in range(5000)]
    assert members == again
    assert 0.18 < sum(members) / len(members) < 0.22


def customer_of(shop, persona, external_id: str) -> Customer:
    from django.utils import timezone

    customer = Customer.objects.create(shop=shop, external_id=external_id, first_seen_at=timezone.now(),
                                       last_seen_at=timezone.now())
    CustomerProfile.objects.create(customer=customer, shop=shop, persona=persona)
    return customer


def find_customer(shop, holdout: bool) -> str:
    share = GenerationSettings.objects.get(shop=shop).holdout_share
    return next(f"c{n}" for n in range(1000)
                if in_holdout(shop_id=shop.id, customer_external_id=f"c{n}", share=share) == holdout)


def test_variant_for_the_persona_original_for_the_holdout_and_both_exposures_stored(
        shop, product, personas, tiny_weights):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=0.0)
    cutout_confirmed(product)
    request = generation_jobs_request(shop=shop, product=product, personas=personas[:1])
    generation_jobs_run(job_ids=[request.jobs[0].id])
    listing = Listing.objects.get(job=request.jobs[0])
    assert listing.status == "published"
    exposed, held_out = find_customer(shop, holdout=False), find_customer(shop, holdout=True)
    customer_of(shop, personas[0], exposed)
    customer_of(shop, personas[0], held_out)
    api = client_for(shop)

    variant = api.get(f"/api/v1/storefront/products/{product.external_id}?customer_id={exposed}")
    original = api.get(f"/api/v1/storefront/products/{product.external_id}?customer_id={held_out}")
    stranger = api.get(f"/api/v1/storefront/products/{product.external_id}?customer_id=never-seen")
    assert variant.json()["variant"] == f"persona:{personas[0].id}" and variant.json()["holdout"] is False
    assert variant.json()["title"] == listing.title and "generated" in variant.json()["image_url"]
    assert original.json()["variant"] == "original" and original.json()["holdout"] is True
    assert stranger.json()["variant"] == "original"
    assert "max-age" in variant["Cache-Control"]
    exposure_log.flush()
    rows = {e.customer_external_id: e for e in Exposure.objects.filter(shop=shop)}
    assert rows[exposed].listing_id == listing.id and rows[exposed].holdout is False
    # The holdout shopper saw the original, and the exposure names the variant withheld from them.
    assert rows[held_out].variant == "original" and rows[held_out].holdout is True
    assert rows[held_out].listing_id == listing.id
    assert rows[exposed].customer_id is not None and rows["never-seen"].customer_id is None


def test_storefront_is_scoped_by_shop(shop, product, other_shop):
    assert client_for(other_shop).get(f"/api/v1/storefront/products/{product.external_id}").status_code == 404


def test_html_store_pages_show_the_variant_with_alt_text_and_log_the_view(shop, product, personas, tiny_weights):
    from django.test import Client

    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=0.0)
    cutout_confirmed(product)
    request = generation_jobs_request(shop=shop, product=product, personas=personas[:1])
    generation_jobs_run(job_ids=[request.jobs[0].id])
    listing = Listing.objects.get(job=request.jobs[0])
    viewer = find_customer(shop, holdout=False)
    customer_of(shop, personas[0], viewer)
    browser = Client()
    page = browser.get(f"/store/{shop.id}/products/{product.external_id}?customer={viewer}")
    html = page.content.decode()
    assert page.status_code == 200 and f'alt="{listing.title}"' in html and "Drawn for this shopper" in html
    assert listing.image.best_file.url in html
    grid = browser.get(f"/store/{shop.id}/?customer={viewer}").content.decode()
    assert listing.title in grid and "a customer of" in grid
    exposure_log.flush()
    assert Exposure.objects.filter(shop=shop, customer_external_id=viewer, listing=listing).count() == 1
    assert browser.get(f"/store/{shop.id}/products/nope").status_code == 404


def test_the_demo_switcher_finds_a_holdout_customer_behind_the_first_member_of_each_persona(shop, personas):
    from generation.pages import _demo_customers

    generation_settings = GenerationSettings.objects.get_or_create(shop=shop)[0]
    share = generation_settings.holdout_share
    seen = [f"c{n}" for n in range(1000) if not in_holdout(shop_id=shop.id, customer_external_id=f"c{n}", share=share)]
    held = next(f"c{n}" for n in range(1000) if in_holdout(shop_id=shop.id, customer_external_id=f"c{n}", share=share))
    heritage, green = personas
    for persona, external_id in ((heritage, seen[0]), (heritage, held), (green, seen[1])):
        customer_of(shop, persona, external_id)
    switcher = _demo_customers(shop)
    assert [choice["id"] for choice in switcher] == [seen[0], seen[1], held]
    assert "holdout" in switcher[-1]["label"]


def test_the_storefront_lookup_answers_as_the_orm_path_does_with_fewer_queries(shop, personas, django_assert_num_queries):
    """`storefront_lookup` (the API's one-query path) agrees with `storefront_product` on the
    product, the holdout bucket and the persona; the shop's holdout share is read fresh each time."""
    from generation.storefront import storefront_lookup, storefront_product
    from profiles.services import product_upsert

    product = product_upsert(shop=shop, external_id="fan-1", title="团扇", price=Decimal("30.50"),
                             tags=["丝绸", "fan"])[0]
    GenerationSettings.objects.create(shop=shop, holdout_share=Decimal("0.5"))
    customer_of(shop, personas[1], "member")
    for customer in ("member", "stranger", None):
        # One query: product, share and persona; a member's persona's live variant is a second.
        with django_assert_num_queries(2 if customer == "member" else 1):
            fast = storefront_lookup(shop=shop, product_external_id=product.external_id,
                                     customer_external_id=customer)
        slow = storefront_product(shop=shop, product=product, customer_external_id=customer)
        assert (fast.product, fast.holdout, fast.persona_id, fast.variant) == \
            (slow.product, slow.holdout, slow.persona_id, slow.variant)
        assert (fast.product.title, fast.product.tags, fast.product.price, fast.product.created_at) == \
            (product.title, product.tags, product.price, product.created_at)
    GenerationSettings.objects.filter(shop=shop).update(holdout_share=Decimal("0"))
    assert storefront_lookup(shop=shop, product_external_id=product.external_id,
                             customer_external_id=find_customer(shop, holdout=False)).holdout is False
    assert storefront_lookup(shop=shop, product_external_id="missing", customer_external_id="member") is None


def test_a_flush_returns_only_once_a_batch_the_background_thread_took_is_written(monkeypatch):
    """A report read right after flush() must see every exposure recorded before it, including a batch the
    background flusher took from the buffer a moment earlier and is still writing."""
    import threading
    import time

    from generation.storefront import ExposureLog

    log, written, writing = ExposureLog(), [], threading.Event()

    def slow_write(batch):
        writing.set()
        time.sleep(0.3)
        written.extend(batch)

    monkeypatch.setattr(log, "_write", slow_write)
    log._buffer.append(("exposure",))
    background = threading.Thread(target=log.flush)
    background.start()
    assert writing.wait(5)
    assert log.flush() == 0  # nothing left for this call to write ...
    assert written == [("exposure",)]  # ... but it returned only after the background batch was written
    background.join()


@pytest.mark.django_db(transaction=True)  # the foreign keys are checked when the insert commits
def test_exposures_of_a_deleted_product_or_listing_do_not_hold_back_the_rest(shop, other_shop, product, personas,
                                                                              tiny_weights):
    from generation.storefront import ExposureLog, ShownProduct
    from profiles.services import product_upsert

    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, auto_approve_threshold=None)
    job = generation_jobs_request(shop=shop, product=product, personas=personas[:1]).jobs[0]
    generation_jobs_run(job_ids=[job.id])
    listing = Listing.objects.get(job=job)
    doomed = product_upsert(shop=shop, external_id="doomed", title="a product about to be deleted")[0]
    kept = product_upsert(shop=shop, external_id="kept", title="a product that stays")[0]
    log = ExposureLog()
    log.record(shop=shop, shown=ShownProduct(product, listing, False, personas[0].id), customer_external_id="a")
    log.record(shop=shop, shown=ShownProduct(doomed, None, False, None), customer_external_id="b")
    log.record(shop=shop, shown=ShownProduct(kept, None, False, None), customer_external_id="c")
    log.record(shop=other_shop, shown=ShownProduct(kept, None, False, None), customer_external_id="d")
    doomed.delete()
    listing.delete()

    assert log.flush() == 4 and log._buffer == []  # nothing is put back to fail again
    rows = {row.customer_external_id: row for row in Exposure.objects.filter(shop=shop)}
    assert set(rows) == {"a", "c"}  # as if the deletes had cascaded over them
    assert not Exposure.objects.filter(shop=other_shop).exists()  # no shop is credited with another's product
    assert rows["a"].product_id == product.id and rows["a"].listing_id is None and rows["a"].variant != "original"
