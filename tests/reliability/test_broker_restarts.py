"""Broker restarts (issue 8, item 4): 1,000 jobs while RabbitMQ (`rabbitmqctl stop_app`/`start_app`) or
Redis restarts 5 times: 0 lost, none stuck over 10 minutes, RabbitMQ with publisher confirms on.

How we survive each (the restarts themselves are `reliability_full`: they disturb shared services):
- RabbitMQ keeps durable queues and persistent messages across a restart; publishes wait for the
  broker's confirm and are retried with backoff through the outage (shop_ai/brokers.py); a
  worker's unacked messages are redelivered.
- Redis here keeps nothing on disk: a restart forgets every queued and unacked message. The
  database is the source of truth, and the sweeper (shop_ai/sweeper.py, `manage.py sweep_jobs
  --every 60`) sends again whatever the database says is still pending. The test reports how
  many jobs the broker lost and checks the sweep leaves none.
The fast checks below (every broker) cover the sweeper and the publish retries without a restart.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from datetime import timedelta
from unittest import mock

import dramatiq
import pytest
from django.conf import settings
from django.utils import timezone

from analytics.actors import events_rollup
from analytics.models import DailyProductStats
from generation.models import GenerationJob
from profiles.models import Customer
from profiles.services import shop_create
from shop_ai import brokers
from shop_ai.sweeper import stuck_work_sweep
from tests.dashboard.factories import persona_for, product_for
from tests.reliability.helpers import sales_for, wait_for
from tests.reliability.workers import WorkerProcess

JOBS, RESTARTS, SHOPS = 1000, 5, 5
STUCK_LIMIT = timedelta(minutes=10)


# ---- fast: the sweeper and the publish retries ------------------------------------------------

@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_the_sweeper_sends_again_what_lost_messages_never_did(shop, broker, reliability):
    cells = sales_for(shop, products=3)  # events stored, their rollup message lost
    customer = Customer.objects.get(shop=shop, external_id=f"buyer-{shop.id}")  # seen, never profiled
    persona = persona_for(shop)
    product = product_for(shop, "vase-9")
    job = GenerationJob.objects.create(shop=shop, product=product, persona=persona)  # queued, message lost
    sent_at = timezone.now() - timedelta(seconds=settings.GENERATION_RESEND_AFTER_SECONDS + 60)
    GenerationJob.objects.filter(pk=job.pk).update(created_at=sent_at, enqueued_at=sent_at)
    with mock.patch("profiles.actors.personas_refresh.send") as refresh, \
            mock.patch("generation.actors.run_generation_jobs.send") as generate:
        first = stuck_work_sweep(older_than=timedelta(minutes=2))
        assert refresh.call_count == 0, "a customer just found stale gets the normal pipeline's time first"
        Customer.objects.filter(pk=customer.pk).update(profile_stale_since=timezone.now() - timedelta(minutes=5))
        second = stuck_work_sweep(older_than=timedelta(minutes=2))
    assert first.cells_recounted == len(cells) and second.cells_recounted == 0  # each event recounted once
    assert DailyProductStats.objects.filter(shop=shop).count() == len(cells)
    assert all(row.revenue == 90 for row in DailyProductStats.objects.filter(shop=shop))
    assert first.generation_jobs == [job.id]
    generate.assert_called_with([job.id], shop_id=shop.id)
    refresh.assert_called_once_with(shop.id)
    assert second.persona_refreshes == [shop.id]
    reliability(sent=0, stored=len(cells), lost=0, duplicated=0, passed=True,
                notes="lost rollup, persona refresh and generation messages re-sent from the database")


def test_a_publish_rides_out_a_broker_blip_and_gives_up_after_the_deadline(settings):
    settings.ENQUEUE_RETRY_SECONDS = 1.0
    message = dramatiq.Message(queue_name="analytics", actor_name="events_rollup", args=(), kwargs={}, options={})
    failures = iter([dramatiq.errors.ConnectionClosed(OSError("connection refused"))] * 3)

    def flaky(msg, delay=None):
        error = next(failures, None)
        if error:
            raise error
        return msg

    assert brokers._with_retries(flaky, message, None) is message
    started = time.monotonic()
    with pytest.raises(dramatiq.errors.ConnectionClosed):
        brokers._with_retries(mock.Mock(side_effect=dramatiq.errors.ConnectionClosed(OSError("down"))), message, None)
    assert 0.5 < time.monotonic() - started < 2.5


# ---- full: real restarts under 1,000 jobs --------------------------------------------------------

@pytest.fixture
def restarted_broker():
    """The configured broker; afterwards its connections from before the restarts are dropped
    (they are dead: a purge through them would fail) and the queues are purged."""
    broker = dramatiq.get_broker()
    broker.flush_all()
    yield broker
    if hasattr(type(broker), "connection"):
        try:
            del broker.connection
        except Exception:  # noqa: BLE001 - closing a dead connection may complain; it is gone either way
            pass
    for attempt in range(3):  # a pooled Redis connection from before a restart fails once, then reconnects
        try:
            broker.flush_all()
            break
        except Exception:  # noqa: BLE001
            if attempt == 2:
                raise
            time.sleep(1)


def rabbitmq_restart() -> float:
    started = time.monotonic()
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
    subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
    return time.monotonic() - started


def rabbitmq_ensure_running() -> None:
    subprocess.run(["rabbitmqctl", "start_app"], capture_output=True, timeout=120)


class RedisServer:
    """Restart the Redis the tests use with exactly the settings it runs with now."""

    KEPT = ("bind", "port", "save", "appendonly", "dir", "logfile", "protected-mode", "databases")

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)
        config = {key: self.client.config_get(key)[key] for key in self.KEPT}
        self.command = ["redis-server", "--daemonize", "yes"]
        for key, value in config.items():
            self.command += [f"--{key}", *(value.split() if key == "bind" else [value])]

    def up(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:  # noqa: BLE001 - any failure means not up
            return False

    def restart(self) -> float:
        started = time.monotonic()
        try:
            self.client.shutdown(nosave=True)
        except Exception:  # noqa: BLE001 - redis-py reports the closed connection as an error
            pass
        wait_for(lambda: not self.up(), 10)
        self.start()
        return time.monotonic() - started

    def start(self) -> None:
        subprocess.run(self.command, check=True, capture_output=True, timeout=30)
        assert wait_for(self.up, 30), f"Redis did not come back with {' '.join(self.command)}"

    def ensure_running(self) -> None:
        if not self.up():
            self.start()


def produce(jobs: list[tuple[int, list]], seconds: float, unsent: list) -> None:
    pause = seconds / len(jobs)
    for shop_id, cell in jobs:
        try:
            events_rollup.send(shop_id, [cell])
        except Exception as exc:  # noqa: BLE001 - counted: the sweeper must recover these
            unsent.append((shop_id, cell, repr(exc)))
        time.sleep(pause)


def restarts_under_load(restart, reliability, kind: str, *, durable: bool) -> None:
    shops = [shop_create(name=f"Restart shop {n}") for n in range(SHOPS)]
    jobs = [(shop.id, cell) for shop in shops for cell in sales_for(shop, products=JOBS // SHOPS // 2, days=2,
                                                                     per_day=1)]
    assert len(jobs) == JOBS
    worker = WorkerProcess(queues=["analytics"], env={"PAUSE_BEFORE_ACK_SECONDS": "0"})
    worker.start()
    unsent, outages = [], []
    rows = DailyProductStats.objects.all
    try:
        events_rollup.send(jobs[0][0], [jobs[0][1]])  # the load starts once the worker consumes
        assert wait_for(lambda: rows().exists(), 180, every=0.2), "the worker never started"
        started = time.monotonic()
        producer = threading.Thread(target=produce, args=(jobs[1:], 45.0, unsent))
        producer.start()
        for _ in range(RESTARTS):
            time.sleep(6)
            outages.append(restart())
        producer.join()
        # Drain: wait until every job is done or nothing has moved for 30 s.
        last, still = -1, time.monotonic()
        while rows().count() < JOBS and time.monotonic() - still < 30 and time.monotonic() - started < 540:
            if rows().count() != last:
                last, still = rows().count(), time.monotonic()
            time.sleep(0.5)
        lost_by_broker = JOBS - rows().count()
        stuck_work_sweep(older_than=timedelta(0))  # what `sweep_jobs --every 60` does a minute later
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    stored = rows().count()
    wrong = sum(1 for row in rows() if row.revenue != 30)
    passed = (stored == JOBS and wrong == 0 and elapsed < STUCK_LIMIT.total_seconds()
              and (not durable or (lost_by_broker == 0 and not unsent)))
    reliability(sent=JOBS, stored=stored, lost=JOBS - stored, duplicated=0, passed=passed,
                notes=f"{kind}: {RESTARTS} restarts ({min(outages):.1f}-{max(outages):.1f}s each); broker lost "
                      f"{lost_by_broker}, {len(unsent)} publishes gave up, all swept; done in {elapsed:.0f}s",
                lost_by_broker=lost_by_broker, unsent=len(unsent), outages=outages)
    assert stored == JOBS and wrong == 0
    if durable:  # RabbitMQ itself must lose nothing: durable queues, confirms, publish retries
        assert lost_by_broker == 0 and not unsent, unsent[:3]
    assert elapsed < STUCK_LIMIT.total_seconds()


@pytest.mark.broker
@pytest.mark.reliability_full
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.BROKER_URL.startswith("amqp") or not shutil.which("rabbitmqctl"),
                    reason="restarts RabbitMQ with rabbitmqctl: needs BROKER_URL=amqp:// on this machine")
def test_rabbitmq_restarts_under_load(restarted_broker, reliability):
    broker = restarted_broker
    assert broker.confirm_delivery, "publisher confirms must be on"
    try:
        restarts_under_load(rabbitmq_restart, reliability, "RabbitMQ", durable=True)
    finally:
        rabbitmq_ensure_running()


@pytest.mark.broker
@pytest.mark.reliability_full
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.BROKER_URL.startswith("redis") or not shutil.which("redis-server"),
                    reason="restarts Redis: needs BROKER_URL=redis:// and redis-server on this machine")
def test_redis_restarts_under_load(restarted_broker, reliability):
    server = RedisServer(settings.BROKER_URL)
    try:
        restarts_under_load(server.restart, reliability, "Redis", durable=False)
    finally:
        server.ensure_running()
