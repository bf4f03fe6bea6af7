"""Helpers of the replay, cut-connection and load checks: simulated events, a real gunicorn on the
test database, a raw HTTP client, draining the queues and snapshots of what must not change."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from dramatiq.errors import QueueJoinTimeout

from analytics.models import DailyProductStats
from profiles.models import Customer, Event, Persona, PersonaClustering
from profiles.services import ProductRow, products_import
from shop_ai.simulator import SimulationConfig
from shop_ai.simulator.store import StoreSimulation

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PORTS = range(8710, 8720)  # this suite's servers listen here, on 127.0.0.1 only
QUEUES = ("profiles", "personas", "analytics")


# --------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------

needs_postgres_and_rabbitmq = pytest.mark.skipif(
    not (settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and settings.BROKER_URL.startswith("amqp")
         and shutil.which("rabbitmqctl")),
    reason="gunicorn and worker processes, queues counted with rabbitmqctl: Postgres + RabbitMQ (make reliability)",
)


@pytest.fixture(scope="session", autouse=True)
def rabbitmq_vhost():
    """A RabbitMQ BROKER_URL naming its own vhost (side-by-side runs) gets it created when missing."""
    url = urlsplit(settings.BROKER_URL)
    vhost = url.path.lstrip("/")
    if url.scheme not in ("amqp", "amqps") or not vhost or not shutil.which("rabbitmqctl"):
        return
    listed = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True).stdout.split()
    if vhost not in listed:
        subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
        subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, url.username or "guest", ".*", ".*", ".*"],
                       check=True, capture_output=True)


def database_url() -> str:
    """DATABASE_URL of the test database, for server and worker processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}/{db['NAME']}"


def server_env(**extra) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "shop_ai.settings", "DATABASE_URL": database_url(),
            "BROKER_URL": settings.BROKER_URL, "DEBUG": "false", "EMBEDDED_WORKER": "false",
            "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
            "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
            "SECRET_KEY": "reliability-only-" + os.urandom(8).hex(), **extra}


# --------------------------------------------------------------------------------------------
# Simulated events
# --------------------------------------------------------------------------------------------

def simulated_store(shop, *, events: int, seed: int = 11) -> list[dict]:
    """Write a simulated catalogue for the shop and return about `events` of its shoppers' events."""
    config = SimulationConfig(customers=max(20, events // 12), products=max(10, events // 100), weeks=3,
                              seed=seed, interactions=events, images=False)
    simulation = StoreSimulation(config)
    products_import(shop=shop, rows=[ProductRow(p.product_id, p.title, f"{p.title}，{'、'.join(p.tags)}", p.shape,
                                                p.price, tuple(p.tags)) for p in simulation.products])
    return simulation.generate_events()


# --------------------------------------------------------------------------------------------
# Processes on 127.0.0.1
# --------------------------------------------------------------------------------------------

def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


class Process:
    """A subprocess with its output in a file, stopped (and its group killed) on exit."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self._out = open(log, "wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self, grace: float = 15) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self._out.close()


@contextmanager
def gunicorn(tmp_path: Path, *, workers: int = 2, threads: int = 8):
    """gunicorn (gthread, as benchmarks/ingest.py measured best) on the test database; yields its port."""
    port = free_port()
    server = Process([str(BIN / "gunicorn"), "shop_ai.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
                      "-k", "gthread", "--threads", str(threads), "--timeout", "120"],
                     server_env(), tmp_path / "gunicorn.log")
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + server.tail())
            time.sleep(0.2)
        yield port
    finally:
        server.stop()


@contextmanager
def dramatiq_workers(tmp_path: Path, *, queues: tuple[str, ...] = QUEUES, processes: int = 1, threads: int = 2):
    """`manage.py rundramatiq` on these queues, against the test database."""
    worker = Process([str(BIN / "python"), "manage.py", "rundramatiq", "--processes", str(processes),
                      "--threads", str(threads), "--queues", *queues], server_env(),
                     tmp_path / f"workers-{'-'.join(queues)}.log")
    try:
        yield worker
    finally:
        worker.stop()


# --------------------------------------------------------------------------------------------
# Raw HTTP: one request on a fresh connection
# --------------------------------------------------------------------------------------------

def batch_request(port: int, key: str, events: list[dict]) -> bytes:
    return post_request(port, key, "/api/v1/events/batch", json.dumps({"events": events}, ensure_ascii=False).encode())


def post_request(port: int, key: str, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def post_raw(port: int, raw: bytes, timeout: float = 60) -> tuple[int, dict]:
    """Send a whole request, read the whole answer (the server closes: `Connection: close`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return status, json.loads(body) if body.strip() else {}


def _unchunk(data: bytes) -> bytes:
    body = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body, data = body + data[:size], data[size + 2:]
    return body


# --------------------------------------------------------------------------------------------
# Queues and snapshots
# --------------------------------------------------------------------------------------------

def drain(broker, worker, timeout: float = 180) -> None:
    """Wait until the in-process worker has run every message of the profiles, personas and analytics
    queues (and what those messages sent on: rollups, debounced persona refreshes)."""
    deadline = time.monotonic() + timeout
    for _ in range(3):  # a message handled late in one pass may have sent another
        if hasattr(broker, "get_queue_message_counts"):
            _join_rabbitmq_queues(broker, deadline)
        else:
            for queue in QUEUES:
                broker.join(queue, timeout=max(1, int((deadline - time.monotonic()) * 1000)))
        worker.join()


def _join_rabbitmq_queues(broker, deadline: float, polls: int = 10, every: float = 0.1) -> None:
    """RabbitMQ's own join, on all the queues at once: they must all be empty at `polls` counts in a row
    (it cannot count the messages a worker holds, so one empty count proves little). Joined one after
    another, each queue took its full second, and the first was no longer watched while the others were."""
    empty_counts = 0
    while empty_counts < polls:
        if time.monotonic() >= deadline:
            raise QueueJoinTimeout(", ".join(QUEUES))
        waiting = sum(sum(broker.get_queue_message_counts(queue)[:-1]) for queue in QUEUES)  # not dead letters
        empty_counts = empty_counts + 1 if waiting == 0 else 0
        broker.connection.sleep(every)


def dead_letters(broker) -> int:
    if hasattr(broker, "dead_letters"):  # StubBroker
        return len(broker.dead_letters)
    if hasattr(broker, "get_queue_message_counts"):  # RabbitMQ
        return sum(broker.get_queue_message_counts(queue)[-1] for queue in QUEUES)
    return sum(broker.client.zcard(f"{broker.namespace}:{queue}.XQ") for queue in QUEUES)  # Redis


def rabbitmq_outstanding() -> dict[str, int]:
    """Messages of the profiles, personas and analytics queues (and their delay queues) not yet acknowledged:
    ready, delayed, or held by a worker process (which the broker's own counts leave out)."""
    vhost = urlsplit(settings.BROKER_URL).path.lstrip("/") or "/"
    listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages"],
                            capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listed.splitlines()]
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[1].isdigit()
            and row[0].split(".")[0] in QUEUES and not row[0].endswith(".XQ")}


def events_snapshot(shop) -> list[tuple]:
    return list(Event.objects.filter(shop=shop).order_by("event_id").values_list(
        "event_id", "type", "customer__external_id", "product__external_id", "occurred_at", "quantity",
        "unit_price", "text", "rating"))


def revenue_snapshot(shop) -> list[tuple]:
    fields = [f.attname for f in DailyProductStats._meta.concrete_fields if f.name not in ("id", "updated_at")]
    return list(DailyProductStats.objects.filter(shop=shop).order_by("product_id", "day").values_list(*fields))


def personas_snapshot(shop) -> dict:
    clustering = PersonaClustering.objects.filter(shop=shop).first()
    return {"clustering_version": clustering.version if clustering else None,
            "personas": list(Persona.objects.filter(shop=shop).order_by("id").values_list("id", "version", "size",
                                                                                         "retired_at")),
            "customers": Customer.objects.filter(shop=shop).count()}


def stale_customers(shop) -> int:
    return Customer.objects.filter(shop=shop, profile_stale_since__isnull=False).count()
