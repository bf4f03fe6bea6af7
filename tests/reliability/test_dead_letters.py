"""Poison messages (issue 8, item 5): a job that always fails lands in the dead-letter queue after
its retries, is listed with what/when/why/attempts, and is replayed from the command and the
dashboard; other shops' jobs keep flowing meanwhile. Runs on every broker (StubBroker, RabbitMQ, Redis)."""

from __future__ import annotations

import io
import time
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client

from analytics.actors import events_rollup
from analytics.models import DailyProductStats
from analytics.rollup import daily_stats_recount
from shop_ai.models import DeadLetter, MessageDelivery
from tests.dashboard.factories import owner_of
from tests.reliability.helpers import dead_letter_queue_size, sales_for, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
FAST_RETRIES = {"max_retries": 2, "min_backoff": 20, "max_backoff": 50}  # 3 attempts in well under a second


def broken_for(shop_id: int):
    """The rollup of one shop is 'broken' (say, a bad deploy); every other shop's works."""

    def recount(*, shop, cells):
        if shop.id == shop_id:
            raise RuntimeError(f"cannot recount shop {shop_id}: disk full")
        return daily_stats_recount(shop=shop, cells=cells)

    return recount


def test_a_poison_message_is_dead_lettered_listed_and_replayed_while_other_shops_flow(
        shop, other_shop, broker, worker, reliability):
    poisoned, healthy = sales_for(shop), sales_for(other_shop)
    started = time.monotonic()
    with mock.patch("analytics.rollup.daily_stats_recount", side_effect=broken_for(shop.id)):
        poison = events_rollup.send_with_options(args=(shop.id, poisoned), **FAST_RETRIES)
        flowing = [events_rollup.send_with_options(args=(other_shop.id, [cell]), **FAST_RETRIES) for cell in healthy]
        assert wait_for(lambda: DeadLetter.objects.filter(message_id=poison.message_id).exists(), 30)
        other_rows = DailyProductStats.objects.filter(shop=other_shop).count()
    dead_after = time.monotonic() - started

    letter = DeadLetter.objects.get(message_id=poison.message_id)
    assert (letter.shop_id, letter.actor_name, letter.queue_name, letter.attempts) == (shop.id, "events_rollup",
                                                                                      "analytics", 3)
    assert letter.reason == f"RuntimeError: cannot recount shop {shop.id}: disk full"
    assert "Traceback" in letter.traceback and letter.args == [shop.id, poisoned]
    assert wait_for(lambda: dead_letter_queue_size(broker, "analytics") == 1, 5), "not in the broker's XQ"
    assert other_rows == len(healthy), "the other shop's rollups did not flow while the poison was retried"
    assert DailyProductStats.objects.filter(shop=shop).count() == 0
    assert not MessageDelivery.objects.filter(message_id__in=[m.message_id for m in [poison, *flowing]]).exists()

    # Listed by the command (this shop only with --shop), and only on this shop's dashboard page.
    out = io.StringIO()
    call_command("dead_letters", "list", "--shop", str(shop.id), stdout=out)
    listed = out.getvalue()
    assert f"#{letter.id}  Revenue rollup (events_rollup) for {shop.name}" in listed
    assert "after 3 attempt(s)" in listed and "disk full" in listed
    out = io.StringIO()
    call_command("dead_letters", "list", "--shop", str(other_shop.id), stdout=out)
    assert "No dead letters" in out.getvalue()
    owner, stranger = Client(), Client()
    owner.force_login(owner_of(shop))
    stranger.force_login(owner_of(other_shop, username="stranger"))
    page = owner.get("/dashboard/failed-jobs/").content.decode()
    assert "disk full" in page and "Revenue rollup" in page and ">3<" in page
    assert "disk full" not in stranger.get("/dashboard/failed-jobs/").content.decode()
    assert stranger.post(f"/dashboard/failed-jobs/{letter.id}/replay/").status_code == 404

    # The cause is fixed: a replay from the dashboard runs it once more, with a fresh retry budget.
    response = owner.post(f"/dashboard/failed-jobs/{letter.id}/replay/")
    assert response.status_code == 302
    assert wait_for(lambda: DailyProductStats.objects.filter(shop=shop).count() == len(poisoned), 30)
    letter.refresh_from_db()
    assert letter.replayed_at is not None and letter.replay_message_id != letter.message_id
    assert "Replayed" in owner.get("/dashboard/failed-jobs/").content.decode()
    assert DeadLetter.objects.count() == 1
    reliability(sent=1 + len(flowing), stored=DailyProductStats.objects.count(), lost=0, duplicated=0,
                passed=True, notes=f"poison dead-lettered after 3 attempts in {dead_after:.1f}s; "
                                   f"{len(flowing)} other-shop jobs flowed; replayed from the dashboard",
                dead_letters=1)


def test_replay_all_from_the_command_and_a_second_replay_is_refused(shop, broker, worker, reliability):
    cells = sales_for(shop)
    with mock.patch("analytics.rollup.daily_stats_recount", side_effect=broken_for(shop.id)):
        messages = [events_rollup.send_with_options(args=(shop.id, [cell]), **FAST_RETRIES) for cell in cells]
        assert wait_for(lambda: DeadLetter.objects.count() == len(messages), 30)
    out = io.StringIO()
    call_command("dead_letters", "replay", "--all", stdout=out)
    assert f"{len(messages)} dead letter(s) replayed." in out.getvalue()
    assert wait_for(lambda: DailyProductStats.objects.filter(shop=shop).count() == len(cells), 30)
    first = DeadLetter.objects.order_by("id").first()
    with pytest.raises(Exception, match="already replayed"):
        call_command("dead_letters", "replay", str(first.id), stdout=io.StringIO())
    out = io.StringIO()
    call_command("dead_letters", "list", stdout=out)
    assert "No dead letters waiting" in out.getvalue()
    reliability(sent=len(messages), stored=DailyProductStats.objects.filter(shop=shop).count(), lost=0,
                duplicated=0, passed=True, notes="replay --all from the command; a second replay is refused")


def test_a_message_that_keeps_killing_its_worker_is_dead_lettered_before_it_runs_again(shop, broker, worker,
                                                                                     reliability, settings):
    """The crash cap, without killing anything: the ledger already shows `TASK_MAX_CRASHES` starts
    that never finished (what a SIGKILLed worker leaves), so the next delivery is not run."""
    cells = sales_for(shop)
    message = events_rollup.message(shop.id, cells)
    MessageDelivery.objects.create(message_id=message.message_id, actor_name="events_rollup",
                                   queue_name="analytics", deliveries=settings.TASK_MAX_CRASHES,
                                   unfinished=settings.TASK_MAX_CRASHES)
    broker.enqueue(message)
    assert wait_for(lambda: DeadLetter.objects.filter(message_id=message.message_id).exists(), 15)
    letter = DeadLetter.objects.get(message_id=message.message_id)
    assert letter.attempts == settings.TASK_MAX_CRASHES + 1
    assert letter.reason.startswith(f"The worker stopped mid-task {settings.TASK_MAX_CRASHES} times in a row")
    assert DailyProductStats.objects.filter(shop=shop).count() == 0, "the capped message ran anyway"
    assert not MessageDelivery.objects.exists()
    reliability(sent=1, stored=0, lost=0, duplicated=0, passed=True,
                notes=f"crash cap {settings.TASK_MAX_CRASHES}: dead-lettered unrun")


@pytest.mark.django_db
def test_admin_shows_every_shops_dead_letters_to_superusers_only(shop, other_shop, reliability):
    from django.contrib.auth import get_user_model

    for owner_shop, reason in [(shop, "RuntimeError: lotus"), (other_shop, "ValueError: crane")]:
        DeadLetter.objects.create(message_id=f"m-{owner_shop.id}", queue_name="analytics", actor_name="events_rollup",
                                  shop=owner_shop, args=[owner_shop.id, []], reason=reason, attempts=6)
    users = get_user_model().objects
    admin, staff = Client(), Client()
    admin.force_login(users.create_superuser("root", password="x" * 12))
    staff.force_login(users.create_user("clerk", password="x" * 12, is_staff=True))
    page = admin.get("/admin/shop_ai/deadletter/").content.decode()
    assert "lotus" in page and "crane" in page
    assert staff.get("/admin/shop_ai/deadletter/").status_code == 403
    owner = Client()
    owner.force_login(owner_of(shop))
    assert owner.get("/dashboard/failed-jobs/1/replay/").status_code == 405  # replay is a POST
    page = owner.get("/dashboard/failed-jobs/").content.decode()
    assert "lotus" in page and "crane" not in page and "Replay all 1 waiting" in page
    reliability(sent=2, stored=2, lost=0, duplicated=0, passed=True,
                notes="admin: superuser sees both shops, staff refused; dashboard: own shop only")
