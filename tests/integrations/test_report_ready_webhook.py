"""`report.ready`: the benefit report announced to the endpoints that want it, once per window."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.management import call_command

from analytics.announcements import benefit_report_announce
from generation.models import DeliveryStatus, WebhookDelivery
from generation.webhooks import webhook_endpoint_create
from tests.integrations.test_webhooks_outbound import readme_verifier, wait_until

WINDOW_END = date(2026, 11, 29)


@pytest.mark.django_db
def test_the_report_is_announced_with_its_headline_and_links_once_per_window(
        shop, other_shop, receiver_factory, django_capture_on_commit_callbacks):
    wants_reports = webhook_endpoint_create(shop=shop, url=receiver_factory([200]).url, topics=["report.ready"])
    webhook_endpoint_create(shop=shop, url=receiver_factory([200]).url, topics=["listing.published"])
    webhook_endpoint_create(shop=other_shop, url=receiver_factory([200]).url)
    with django_capture_on_commit_callbacks():
        deliveries = benefit_report_announce(shop=shop, end=WINDOW_END)
    assert [delivery.endpoint for delivery in deliveries] == [wants_reports]
    data = deliveries[0].payload["data"]
    assert (data["start"], data["end"]) == ("2026-10-05", "2026-11-29") and data["currency"] == shop.currency
    assert data["headline"].startswith("Not enough data yet") and "products" not in data
    assert data["links"]["csv"].endswith("/api/v1/reports/benefit?start=2026-10-05&end=2026-11-29&format=csv")
    assert data["links"]["page"].endswith("/dashboard/reports/benefit/?start=2026-10-05&end=2026-11-29")
    assert benefit_report_announce(shop=shop, end=WINDOW_END) == []  # a second cron run or a retried message
    assert benefit_report_announce(shop=other_shop, end=WINDOW_END)[0].endpoint.shop == other_shop
    assert WebhookDelivery.objects.filter(shop=shop).count() == 1


@pytest.mark.django_db
def test_a_shop_nobody_listens_to_is_not_computed(shop, receiver_factory, django_assert_max_num_queries):
    webhook_endpoint_create(shop=shop, url=receiver_factory([200]).url, topics=["listing.retired"])
    with django_assert_max_num_queries(1):
        assert benefit_report_announce(shop=shop, end=WINDOW_END) == []


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_the_weekly_command_sends_signed_reports_through_the_queue(shop, other_shop, receiver_factory, worker):
    receiver = receiver_factory([200])
    endpoint = webhook_endpoint_create(shop=shop, url=receiver.url)
    call_command("announce_benefit_reports", end=WINDOW_END)
    wait_until(lambda: WebhookDelivery.objects.filter(shop=shop, status=DeliveryStatus.DELIVERED).exists(), 60)
    (headers, body), = receiver.requests
    assert headers["X-ShopAI-Topic"] == "report.ready" and readme_verifier()(endpoint.secret, headers, body)
    assert json.loads(body)["data"]["end"] == "2026-11-29"
    assert not WebhookDelivery.objects.filter(shop=other_shop).exists()
