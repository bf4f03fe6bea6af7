"""The `report.ready` webhook: a shop's benefit report, computed and announced to the endpoints that
subscribed, so the shop's own systems (a BI tool, a chat channel) hear what the AI earned.

Run weekly by `manage.py announce_benefit_reports` (cron) through the `analytics` queue. One
announcement per shop and report window: a retried message or a second cron run sends nothing new.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from analytics.exports import report_as_dict
from analytics.reports import BenefitReportError, benefit_report, report_window
from generation.models import WebhookDelivery, WebhookTopic
from generation.webhooks import webhook_subscribers, webhooks_announce
from profiles.models import Shop

SUMMARY_FIELDS = ("currency", "start", "end", "headline", "estimates", "power", "notes", "experiment", "decisions")


def benefit_report_announce(*, shop: Shop, end: date | None = None) -> list[WebhookDelivery]:
    """Announce the report of the default window ending `end` (yesterday when None); returns the
    deliveries queued, none when nobody listens or this window was announced already."""
    if not webhook_subscribers(shop_id=shop.id, topic=WebhookTopic.REPORT_READY):
        return []
    start, end = report_window(shop=shop, start=None, end=end)
    if _announced(shop, end):
        return []
    try:
        report = benefit_report(shop=shop, start=start, end=end)
    except BenefitReportError as problem:
        data = {"start": start.isoformat(), "end": end.isoformat(), "error": str(problem)}
    else:
        data = {key: value for key, value in report_as_dict(report).items() if key in SUMMARY_FIELDS}
    data["links"] = _links(start, end)
    return webhooks_announce(shop_id=shop.id, topic=WebhookTopic.REPORT_READY, data=data)


def _announced(shop: Shop, end: date) -> bool:
    return WebhookDelivery.objects.filter(shop=shop, topic=WebhookTopic.REPORT_READY,
                                          payload__data__end=end.isoformat()).exists()


def _links(start: date, end: date) -> dict:
    """Where to read the whole report: the API (with the shop's API key) and the manager page."""
    base, query = settings.PUBLIC_URL.rstrip("/"), urlencode({"start": start.isoformat(), "end": end.isoformat()})
    return {"json": f"{base}{reverse('reports-benefit')}?{query}",
            "csv": f"{base}{reverse('reports-benefit')}?{query}&format=csv",
            "page": f"{base}{reverse('dashboard:report-benefit')}?{query}"}


def shops_listening_for_reports() -> list[Shop]:
    """Every shop with an active endpoint that takes `report.ready` (or every topic)."""
    return [shop for shop in Shop.objects.filter(webhook_endpoints__is_active=True).distinct().order_by("id")
            if webhook_subscribers(shop_id=shop.id, topic=WebhookTopic.REPORT_READY)]
