"""Shared fixtures. The suite runs on whatever DATABASE_URL / BROKER_URL say (see Makefile)."""

from __future__ import annotations

import os
import sys

# Test data is tiny: one thread per BLAS/OpenMP pool. With more, idle threads spin-wait and a busy
# machine runs K-means and the TextCNN tens of times slower (measured: 25 ms a K-means fit → 1 ms).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import hashlib
from datetime import datetime, timedelta, timezone

import dramatiq
import pytest
from django.db import transaction
from rest_framework.test import APIClient

from profiles.services import api_key_create, shop_create


@pytest.fixture(autouse=True, scope="session")
def staging_cuts_out_each_photo_once():
    """The cut-out and its check are deterministic (their GrabCut and k-means are seeded), and the job
    tests stage the same few photos again and again; so the staging code's calls are memoised for the
    session, per exact input. The first call per input runs the real segmenter and check; the imaging
    tests call them directly, unmemoised."""
    import generation.product_staging as staging
    from generation.imaging.cutout import NoClearProduct

    cut_outs, confidences = {}, {}

    def cut_out_once(photo, **marks):
        key = (_digest(photo.tobytes()), photo.mode, photo.size, repr(sorted(marks.items())))
        if key not in cut_outs:
            try:
                cut_outs[key] = real_cut_out(photo, **marks)
            except NoClearProduct as refusal:  # a refusal is as deterministic as a cut-out
                cut_outs[key] = refusal
        cached = cut_outs[key]
        if isinstance(cached, NoClearProduct):
            raise NoClearProduct(*cached.args)
        return type(cached)(alpha=cached.alpha.copy(), source=cached.source)

    def confidence_once(photo_rgb, alpha, **options):
        key = (_digest(photo_rgb.tobytes()), photo_rgb.shape, _digest(alpha.tobytes()), repr(sorted(options.items())))
        if key not in confidences:
            confidences[key] = real_confidence(photo_rgb, alpha, **options)
        return confidences[key]

    real_cut_out, real_confidence = staging.cut_out, staging.cutout_confidence
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staging, "cut_out", cut_out_once)
        patch.setattr(staging, "cutout_confidence", confidence_once)
        yield


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@pytest.fixture
def shop(db):
    return shop_create(name="Lotus & Ink")


@pytest.fixture
def other_shop(db):
    return shop_create(name="Paper Cranes")


def built_once(django_db_blocker, build):
    """For a fixture of module or class scope (`yield from built_once(django_db_blocker, build)`): what
    `build()` makes, kept in a transaction that each test's own nests in as a savepoint, and rolled back
    after the last test, as Django's TestCase.setUpTestData does. A test still requests `db` (then its
    changes go at its end, as always) and may not be transactional (its flush would empty the tables)."""
    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
        try:
            built = build()
        except BaseException:
            outer.__exit__(*sys.exc_info())
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def client_for(shop) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(shop=shop).raw_key}")
    return client


@pytest.fixture
def api(shop) -> APIClient:
    return client_for(shop)


@pytest.fixture
def other_api(other_shop) -> APIClient:
    return client_for(other_shop)


@pytest.fixture
def broker():
    broker = dramatiq.get_broker()
    broker.flush_all()
    _forget_unfinished(broker)
    yield broker
    broker.flush_all()
    _forget_unfinished(broker)


def _forget_unfinished(broker) -> None:
    """A worker stopped while it held prefetched messages leaves the StubBroker counting them as
    unfinished (it cannot requeue them), and every later `broker.join` of that queue would wait
    forever: after a flush nothing is left, so the count starts again at zero."""
    if not hasattr(broker, "dead_letters"):  # only the StubBroker keeps in-process queues
        return
    for queue in broker.queues.values():
        with queue.all_tasks_done:  # holds the queue's mutex: read its length directly
            queue.unfinished_tasks = len(queue.queue)
            queue.all_tasks_done.notify_all()


@pytest.fixture
def worker(broker):
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    yield worker
    worker.stop()


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def recent(minutes_ago: float = 5) -> str:
    return iso(datetime.now(timezone.utc) - timedelta(minutes=minutes_ago))


# What a test must request to reach the database or a broker (pytest-django refuses database access
# to any other test).
BACKEND_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                    "live_server", "broker"}
ALWAYS_ON_EVERY_BACKEND = ("tests/reliability/", "tests/browser/", "tests/integrations/")


def pytest_collection_modifyitems(config, items):
    """With BACKEND_TESTS_ONLY=1 (tests/run_suites.sh sets it for the Postgres + RabbitMQ pass), leave out
    the tests that touch neither the database nor a broker: the SQLite + StubBroker pass runs them, and
    on another backend they would only do exactly the same again (about half the suite)."""
    if os.environ.get("BACKEND_TESTS_ONLY") != "1":
        return
    kept, left_out = [], []
    for item in items:
        touches_backend = (BACKEND_FIXTURES & set(item.fixturenames) or item.get_closest_marker("django_db")
                           or item.get_closest_marker("broker") or item.nodeid.startswith(ALWAYS_ON_EVERY_BACKEND))
        (kept if touches_backend else left_out).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    """The reliability suite's table (tests/reliability/summary.py), when any of it ran."""
    from tests.reliability.summary import ROWS, json_path, render_table, write_json

    if not ROWS:
        return
    terminalreporter.section("reliability summary")
    terminalreporter.write_line(render_table(ROWS))
    if path := json_path():
        write_json(path, ROWS)
        terminalreporter.write_line(f"(written to {path})")
