"""SIGKILL a real `rundramatiq` worker mid-job: the message is redelivered and the job finishes once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from generation.models import GeneratedImage, GenerationJob, GenerationSettings, Listing
from generation.services import generation_jobs_request

ROOT = Path(__file__).resolve().parents[3]
LOG = open(os.environ.get("WORKER_LOG", os.devnull), "ab")  # noqa: SIM115 - kept open for the workers
pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(not settings.BROKER_URL.startswith("amqp"),
                       reason="needs RabbitMQ: it redelivers a killed worker's unacked message at once "
                              "(runs in the Postgres + RabbitMQ pass of `make test`)"),
]


def start_worker(weights: Path) -> subprocess.Popen:
    database = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                                          f"{database['NAME']}",
           "BROKER_URL": settings.BROKER_URL, "GENERATION_MODEL_DIR": str(weights), "GENERATION_STEPS": "400", "GENERATION_TORCH_THREADS": "1",
           "MEDIA_ROOT": str(settings.MEDIA_ROOT), "DJANGO_SETTINGS_MODULE": "shop_ai.settings",
           "EMBEDDED_WORKER": "false"}
    return subprocess.Popen([sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1",
                             "--queues", "gpu"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=LOG, stderr=subprocess.STDOUT)


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_job_gives_exactly_one_image_set_and_one_listing(shop, product, personas, tiny_weights, broker):
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0)
    request = generation_jobs_request(shop=shop, product=product, personas=personas)
    ids = [job.id for job in request.jobs]
    worker = start_worker(tiny_weights)
    try:
        assert wait_for(lambda: GenerationJob.objects.filter(id__in=ids, status="running").count() == 2, 90), \
            "the worker never started the jobs"
        time.sleep(0.5)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert GenerationJob.objects.filter(id__in=ids, status="succeeded").count() == 0, "killed too late"
        worker = start_worker(tiny_weights)
        assert wait_for(lambda: GenerationJob.objects.filter(id__in=ids, status="succeeded").count() == 2, 120)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    jobs = GenerationJob.objects.filter(id__in=ids)
    assert {job.attempts for job in jobs} == {2}
    assert GeneratedImage.objects.filter(job__in=jobs).count() == 2
    assert Listing.objects.filter(job__in=jobs).count() == 2
    generated = Path(settings.MEDIA_ROOT) / "shops" / str(shop.id) / "generated"
    assert sorted(p.name for p in generated.rglob("*") if p.is_file()) == sorted(
        Path(field.name).name for image in GeneratedImage.objects.filter(job__in=jobs) for field in image.files)
