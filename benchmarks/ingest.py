#!/usr/bin/env python
"""Ingestion benchmark (issue 2, "Proof"): the real server, a real database, one table.

In one run, on this machine:

1. drops and recreates a Postgres database (`shop_ai_bench`), migrates it, creates a shop, its
   API key (`manage.py create_shop`) and a catalogue (`profiles.services.product_upsert`);
2. starts gunicorn (2 workers) on a free port of 127.0.0.1 with DATABASE_URL on that database,
   BROKER_URL on RabbitMQ (so the after-commit message of every request really is published,
   with publisher confirms) and DEBUG=false; it is stopped at the end, also on error;
3. measures
   a. events/s through `POST /api/v1/events/batch`, 500 events a request, N concurrent clients
      (separate processes, keep-alive sockets, bodies serialised before the clock starts);
   b. requests/s and p50/p99 latency of `POST /api/v1/events` (one event a request);
   c. the raw ceiling: COPY (psycopg `cursor.copy`) of the same rows into the same, emptied,
      events table (same indexes, same foreign keys), committed;
   durably: `synchronous_commit` and `fsync` are read from the server and printed;
4. prints one table with the targets beside, PASS/FAIL, and checks that the events table holds
   exactly one row per unique event sent. `--json PATH` writes the same figures as JSON.

Run:  .venv/bin/python benchmarks/ingest.py [--events N] [--duration S] [--clients N] [--json out.json]

Worker class, chosen by measurement on this machine (2 workers, 15 s phases, same run order):
sync 9.4 k events/s and 152 req/s; gthread x2 threads 10.0 k and 166 req/s; gthread x8 threads
11.3 k and 268 req/s. A request mostly waits (Postgres commit fsync, RabbitMQ publisher confirm),
so threads overlap those waits; sync workers also close the connection after every request.

Under the table, "CPU seconds" say where the CPUs went during each phase (from /proc): gunicorn,
Postgres (its shared processes and the backends of the benchmark's database; backends of other
databases count as "other"), RabbitMQ, the client processes, and everything else on the machine.

The clients use the minimal socket client below, not `shop_ai_connect.client`: measured against a trivial
local server, `ShopAIClient.send_events` costs about 1.5 CPU-ms per one-event request and 3 per
500-event request (requests, JSON encoding at send time), the socket client about 0.3 with bodies
built before the clock. At the single-event target (700 req/s) the difference is about one of the
machine's two CPUs, taken from the server being measured. (`simulate_store --url` exercises the
HTTP path through `shop_ai_connect.client`.)
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg import sql
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cpu import cpu_snapshot, foreign_backends, is_postgres, is_rabbitmq, spent  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
BATCH_SIZE = 500
EVENT_TABLE = "profiles_event"
COPY_COLUMNS = ("shop_id", "event_id", "type", "customer_id", "product_id", "occurred_at", "client_occurred_at",
                "received_at", "quantity", "unit_price", "currency", "text", "rating", "properties")
TARGETS = {"batch_events_per_s": 30_000, "batch_pct_of_copy": 20.0, "single_req_per_s": 700, "single_p99_ms": 50.0}
REVIEW_TEXTS = (
    "扇面的祥云图案很精致，送给朋友很体面。", "包装很用心，颜色比图片还要好看。", "做工一般，边角有点毛糙。",
    "物流很快，书签的书法字很有味道。", "图案寓意好，老人很喜欢，会回购。", "价格偏贵，但是质量对得起这个价。",
)
EVENT_KINDS = ("view", "add_to_cart", "purchase", "review", "refund")
EVENT_WEIGHTS = (55, 20, 12, 8, 5)


# --------------------------------------------------------------------------------------------
# Events (generated in the client processes, before the clock starts)
# --------------------------------------------------------------------------------------------

def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_event(rng: random.Random, event_id: str, customers: int, products: int, now: datetime) -> dict:
    kind = rng.choices(EVENT_KINDS, EVENT_WEIGHTS)[0]
    event = {"event_id": event_id, "type": kind, "customer_id": f"c{rng.randrange(customers)}",
             "occurred_at": _iso(now - timedelta(seconds=rng.randrange(1, 7 * 86400)))}
    if kind != "review":
        event["product_id"] = f"p{rng.randrange(products)}"
    elif rng.random() < 0.8:
        event["product_id"] = f"p{rng.randrange(products)}"
    if kind in ("add_to_cart", "purchase", "refund"):
        event["quantity"] = rng.choice((1, 1, 1, 2, 3))
    if kind in ("purchase", "refund"):
        event["unit_price"] = f"{rng.randrange(500, 50_000) / 100:.2f}"
    if kind == "review":
        event["text"], event["rating"] = rng.choice(REVIEW_TEXTS), rng.randint(1, 5)
    if kind == "view" and rng.random() < 0.3:
        event["properties"] = {"source": rng.choice(("search", "home", "persona_variant")), "position": rng.randrange(40)}
    return event


def _event_id(rng: random.Random, tag: str, number: int) -> str:
    # Random prefix (uuid-like, so the unique index is hit at random places) + a unique suffix.
    return f"{rng.getrandbits(96):024x}-{tag}-{number}"


def http_request(port: int, key: str, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


# --------------------------------------------------------------------------------------------
# A minimal keep-alive HTTP/1.1 client: a few microseconds a request, so it is never the bottleneck
# --------------------------------------------------------------------------------------------

class Connection:
    def __init__(self, port: int):
        self.port, self.sock, self.buffer = port, None, b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def request(self, raw: bytes) -> tuple[int, bytes]:
        for attempt in range(2):
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=120)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.sock.sendall(raw)
                return self._response()
            except (ConnectionError, _Closed):
                # A keep-alive socket the server closed before answering: nothing was processed.
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _recv(self) -> bytes:
        chunk = self.sock.recv(262_144)
        if not chunk:
            raise _Closed
        return chunk

    def _response(self) -> tuple[int, bytes]:
        data = self.buffer
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if b"content-length" in headers:
            length = int(headers[b"content-length"])
            while len(rest) < length:
                rest += self._recv()
            body, self.buffer = rest[:length], rest[length:]
        elif headers.get(b"transfer-encoding") == b"chunked":
            body, self.buffer = self._chunked(rest)
        else:  # body until the server closes
            try:
                while True:
                    rest += self._recv()
            except _Closed:
                pass
            body, self.buffer = rest, b""
            self.close()
        if headers.get(b"connection") == b"close":
            self.close()
        return status, body

    def _chunked(self, data: bytes) -> tuple[bytes, bytes]:
        body = b""
        while True:
            while b"\r\n" not in data:
                data += self._recv()
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                data += self._recv()
            if size == 0:
                return body, data[2:]
            body, data = body + data[:size], data[size + 2:]


class _Closed(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Client processes
# --------------------------------------------------------------------------------------------

def batch_client(index: int, cfg: dict, batches: int, barrier, go, progress, results) -> None:
    rng = random.Random(cfg["seed"] * 1000 + index)
    now = datetime.now(timezone.utc)
    requests = []
    for number in range(batches):
        events = [make_event(rng, _event_id(rng, f"{cfg['tag']}{index}", number * BATCH_SIZE + k),
                             cfg["customers"], cfg["products"], now) for k in range(BATCH_SIZE)]
        body = json.dumps({"events": events, "sent_at": _iso(now)}, ensure_ascii=False).encode()
        requests.append(http_request(cfg["port"], cfg["key"], "/api/v1/events/batch", body))
    conn = Connection(cfg["port"])
    barrier.wait()
    go.wait()
    cpu0, start = time.process_time(), time.monotonic()
    deadline = start + cfg["duration"] if cfg.get("duration") else math.inf
    latencies, accepted, duplicates, rejected, failures, sent = [], 0, 0, 0, [], 0
    for raw in requests:
        if time.monotonic() >= deadline:
            break
        sent += BATCH_SIZE
        t0 = time.perf_counter()
        status, body = conn.request(raw)
        latencies.append(time.perf_counter() - t0)
        if status == 200:
            answer = json.loads(body)
            accepted += answer["accepted"]
            duplicates += answer["duplicates"]
            rejected += len(answer["rejected"])
            if answer["rejected"] and len(failures) < 3:
                failures.append(answer["rejected"][:2])
        elif len(failures) < 3:
            failures.append(f"HTTP {status}: {body[:300]!r}")
        progress[index] += BATCH_SIZE
    end = time.monotonic()
    conn.close()
    results.put({"index": index, "start": start, "end": end, "sent": sent, "accepted": accepted,
                 "duplicates": duplicates, "rejected": rejected, "failures": failures,
                 "latencies": latencies, "cpu": time.process_time() - cpu0,
                 "exhausted": deadline != math.inf and sent == batches * BATCH_SIZE})


def single_client(index: int, cfg: dict, capacity: int, barrier, go, progress, results) -> None:
    rng = random.Random(cfg["seed"] * 1000 + 500 + index)
    now = datetime.now(timezone.utc)
    requests = []
    for number in range(capacity):
        event = make_event(rng, _event_id(rng, f"{cfg['tag']}{index}", number), cfg["customers"], cfg["products"], now)
        event["sent_at"] = _iso(now)
        requests.append(http_request(cfg["port"], cfg["key"], "/api/v1/events",
                                     json.dumps(event, ensure_ascii=False).encode()))
    conn = Connection(cfg["port"])
    barrier.wait()
    go.wait()
    cpu0, start = time.process_time(), time.monotonic()
    deadline = start + cfg["duration"]
    latencies, accepted, duplicates, rejected, failures, sent = [], 0, 0, 0, [], 0
    for raw in requests:
        if time.monotonic() >= deadline:
            break
        t0 = time.perf_counter()
        status, body = conn.request(raw)
        latencies.append(time.perf_counter() - t0)
        sent += 1
        if status in (200, 201):
            answer = json.loads(body)
            accepted += answer["accepted"]
            duplicates += answer["duplicates"]
        else:
            rejected += 1
            if len(failures) < 3:
                failures.append(f"HTTP {status}: {body[:300]!r}")
        progress[index] += 1
    end = time.monotonic()
    conn.close()
    results.put({"index": index, "start": start, "end": end, "sent": sent, "accepted": accepted,
                 "duplicates": duplicates, "rejected": rejected, "failures": failures,
                 "latencies": latencies, "cpu": time.process_time() - cpu0,
                 "exhausted": sent == capacity})


def run_clients(target, count: int, cfg: dict, work: list[int], total: int | None, label: str,
                server: "Server") -> dict:
    """Start `count` client processes, wait until all have built their requests, start them at
    once, show progress, and return the combined figures (wall time from the common start)."""
    ctx = mp.get_context("spawn")
    barrier, go, results = ctx.Barrier(count + 1), ctx.Event(), ctx.Queue()
    progress = ctx.Array("q", count, lock=False)
    procs = [ctx.Process(target=target, args=(i, cfg, work[i], barrier, go, progress, results), daemon=True)
             for i in range(count)]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=600)
    cpu_before = cpu_snapshot()
    go.set()
    start = time.monotonic()
    collected = []
    unit = "ev" if target is batch_client else "req"
    with tqdm(total=total, desc=label, unit=unit, unit_scale=True, dynamic_ncols=True, leave=True) as bar:
        shown = 0
        while len(collected) < count:
            try:
                collected.append(results.get(timeout=0.25))
            except Exception:  # queue.Empty
                if not any(proc.is_alive() for proc in procs) and results.empty():
                    raise RuntimeError(f"{label}: a client process died; see its traceback above")
                if server.proc.poll() is not None:
                    raise RuntimeError("gunicorn exited during the benchmark; see its log above")
            done = sum(progress)
            bar.update(done - shown)
            shown = done
    end = max(item["end"] for item in collected)
    cpu_after = cpu_snapshot()
    foreign = foreign_backends(server.env["DATABASE_URL"])
    for proc in procs:
        proc.join(timeout=10)
    latencies = sorted(lat for item in collected for lat in item["latencies"])
    summary = {key: sum(item[key] for item in collected) for key in ("sent", "accepted", "duplicates", "rejected")}
    summary.update(
        wall=end - start, requests=len(latencies), clients=count,
        p50_ms=_percentile(latencies, 50) * 1000, p99_ms=_percentile(latencies, 99) * 1000,
        failures=[f for item in collected for f in item["failures"]][:5],
        exhausted=any(item.get("exhausted") for item in collected),
        cpu=cpu_breakdown(cpu_before, cpu_after, server, sum(item["cpu"] for item in collected), foreign),
    )
    return summary


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    rank = max(0, min(len(values) - 1, math.ceil(pct / 100 * len(values)) - 1))
    return values[rank]


# --------------------------------------------------------------------------------------------
# Where the CPU went (from /proc: gunicorn workers, Postgres backends, RabbitMQ, everything else)
# --------------------------------------------------------------------------------------------

def cpu_breakdown(before: dict, after: dict, server: "Server", clients_cpu: float,
                  foreign: set[int] = frozenset()) -> dict[str, float]:
    gunicorn = {server.proc.pid} | {pid for pid, process in after.items() if process.ppid == server.proc.pid}
    groups = {"gunicorn": 0.0, "postgres": 0.0, "rabbitmq": 0.0, "clients": clients_cpu, "other": 0.0}
    me = os.getpid()
    for pid, (process, seconds) in spent(before, after).items():
        if pid in gunicorn:
            groups["gunicorn"] += seconds
        elif is_postgres(process.comm) and pid not in foreign:
            groups["postgres"] += seconds
        elif is_rabbitmq(process.comm):
            groups["rabbitmq"] += seconds
        elif pid != me and process.ppid != me:
            groups["other"] += seconds
    return {name: round(value, 2) for name, value in groups.items()}


# --------------------------------------------------------------------------------------------
# Database, server, broker
# --------------------------------------------------------------------------------------------

def admin_conninfo(base_url: str) -> str:
    return base_url.rstrip("/") + "/postgres"


def recreate_database(base_url: str, name: str) -> None:
    with psycopg.connect(admin_conninfo(base_url), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                     "pg_backend_pid()", [name])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(args: list[str], env: dict) -> str:
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"manage.py {args[0]} failed ({done.returncode})")
    return done.stdout


CATALOGUE_CODE = """
from decimal import Decimal
from django.db import transaction
from profiles.models import Shop
from profiles.services import product_upsert
shop = Shop.objects.get(name={shop!r})
categories = ("fans", "bookmarks", "tea sets", "paper cuts", "silk scarves")
with transaction.atomic():
    for n in range({count}):
        product_upsert(shop=shop, external_id=f"p{{n}}", title=f"Product {{n}}", category=categories[n % 5],
                       price=Decimal(10 + n % 490).quantize(Decimal("0.01")), tags=["bench"])
print(shop.id)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, env: dict, workers: int, worker_class: str, threads: int, log_dir: Path):
        self.port = free_port()
        self.log = log_dir / "gunicorn.log"
        command = [PYTHON, "-m", "gunicorn", "shop_ai.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
                   "--keep-alive", "75", "--backlog", "2048", "--timeout", "120", "--log-level", "warning",
                   "--worker-tmp-dir", "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()]
        self.command = command
        self.env = env
        self._log_handle = open(self.log, "wb")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, key: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        raw = http_request(self.port, key, "/api/v1/events/batch", b'{"events": []}')
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = Connection(self.port)
                status, body = conn.request(raw)
                conn.close()
                if status == 200:
                    return
                raise RuntimeError(f"gunicorn answers {status}: {body[:300]!r}")
            except (OSError, _Closed):
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group of the master we started
                self.proc.wait(timeout=10)
        self._log_handle.close()


def rabbitmq_purge(broker_url: str, queues: tuple[str, ...] = ("profiles", "profiles.DQ", "personas", "personas.DQ")) -> dict[str, int]:
    """Purge our queues; return how many messages each held (the after-commit messages we caused)."""
    import pika

    counts = {}
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        for queue in queues:
            channel = connection.channel()
            try:
                counts[queue] = channel.queue_declare(queue=queue, passive=True).method.message_count
                channel.queue_purge(queue=queue)
            except pika.exceptions.ChannelClosedByBroker:
                counts[queue] = 0  # the queue does not exist yet
            finally:
                if channel.is_open:
                    channel.close()
    finally:
        connection.close()
    return counts


def checkpoint(db_url: str) -> None:
    """Flush the dirty pages of earlier phases first, so no phase pays for another's writes."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def copy_ceiling(db_url: str) -> dict:
    """COPY the rows the API stored back into the same (emptied) table: same indexes, same FKs."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in COPY_COLUMNS)
    select_columns = sql.SQL(", ").join(
        sql.SQL("{}::text").format(sql.Identifier(c)) if c == "properties" else sql.Identifier(c)
        for c in COPY_COLUMNS)
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(sql.SQL("SELECT {} FROM {} ORDER BY id").format(select_columns,
                                                                            sql.Identifier(EVENT_TABLE))).fetchall()
        # CASCADE: tables of later features that reference events (empty here) are emptied too.
        conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(EVENT_TABLE)))
        conn.commit()
        conn.execute("CHECKPOINT")  # not timed, as before each API phase
        cpu0 = cpu_snapshot()
        start = time.monotonic()
        with conn.cursor() as cursor, tqdm(total=len(rows), desc="COPY ceiling", unit="row", unit_scale=True,
                                           dynamic_ncols=True) as bar:
            with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(EVENT_TABLE), columns)) as copy:
                for offset in range(0, len(rows), 10_000):
                    for row in rows[offset:offset + 10_000]:
                        copy.write_row(row)
                    bar.update(min(10_000, len(rows) - offset))
        conn.commit()
        wall = time.monotonic() - start
        cpu1 = cpu_snapshot()
        stored = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(EVENT_TABLE))).fetchone()[0]
    postgres = sum(seconds for process, seconds in spent(cpu0, cpu1).values() if is_postgres(process.comm))
    return {"rows": len(rows), "stored": stored, "wall": wall, "rows_per_s": len(rows) / wall if wall else 0.0,
            "postgres_cpu": round(postgres, 2)}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def build_table(figures: dict) -> str:
    batch, single, copy = figures["batch"], figures["single"], figures["copy"]
    pct = figures["batch_pct_of_copy"]
    rows = [
        ("batch API, 500/request, %d clients (events/s)" % batch["clients"], f"{batch['events_per_s']:,.0f}",
         f">= {TARGETS['batch_events_per_s']:,}", verdict(batch["events_per_s"] >= TARGETS["batch_events_per_s"])),
        ("  batch request latency p50 / p99 (ms)", f"{batch['p50_ms']:.0f} / {batch['p99_ms']:.0f}", "", ""),
        ("single-event API, %d clients (req/s)" % single["clients"], f"{single['req_per_s']:,.0f}",
         f">= {TARGETS['single_req_per_s']:,}", verdict(single["req_per_s"] >= TARGETS["single_req_per_s"])),
        ("  single-event latency p50 (ms)", f"{single['p50_ms']:.1f}", "", ""),
        ("  single-event latency p99 (ms)", f"{single['p99_ms']:.1f}", f"< {TARGETS['single_p99_ms']:.0f}",
         verdict(single["p99_ms"] < TARGETS["single_p99_ms"])),
        ("COPY ceiling, same rows, 1 stream (rows/s)", f"{copy['rows_per_s']:,.0f}", "(reference)", ""),
        ("batch API as % of COPY", f"{pct:.1f} %", f">= {TARGETS['batch_pct_of_copy']:.0f} %",
         verdict(pct >= TARGETS["batch_pct_of_copy"])),
        ("events table rows == unique events sent", f"{figures['rows_stored']:,} == {figures['unique_sent']:,}",
         "equal", verdict(figures["rows_stored"] == figures["unique_sent"])),
    ]
    widths = [max(len(r[i]) for r in rows + [("measure", "measured", "target", "result")]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(("measure", "measured", "target", "result"), widths)), line]
    for row in rows:
        out.append("  ".join((row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]), row[3])))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=None,
                        help="events in the measured batch phase (default: as many as the clients send in --duration)")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds of the batch phase (unless --events) and of the single-event phase (default 20)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent batch clients (default 4)")
    parser.add_argument("--single-clients", type=int, default=8, help="concurrent single-event clients (default 8)")
    parser.add_argument("--workers", type=int, default=2)
    # Measured here (see the module docstring): gthread with 8 threads beats sync and gthread x2,
    # because each request mostly waits for two fsyncs (Postgres commit, RabbitMQ publisher confirm).
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (default gthread)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker (default 8)")
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
                        help="server URL without a database name")
    parser.add_argument("--database", default="shop_ai_bench")
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", dest="json_path", default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()
    started_at = datetime.now(timezone.utc)
    db_url = f"{args.database_url.rstrip('/')}/{args.database}"
    env = {**os.environ, "DATABASE_URL": db_url, "BROKER_URL": args.broker_url, "DEBUG": "false",
           "LOG_LEVEL": "WARNING", "EMBEDDED_WORKER": "false", "ALLOWED_HOSTS": "127.0.0.1,localhost",
           "SECRET_KEY": "benchmark-only-" + os.urandom(8).hex(), "PYTHONUNBUFFERED": "1",
           # Plain HTTP on loopback, no proxy in front: no redirect to https, no rate limit per key.
           "SECURE_SSL_REDIRECT": "false", "API_RATE_LIMIT": "off"}
    print(f"shop-ai ingestion benchmark, {started_at:%Y-%m-%d %H:%M:%S} UTC, {os.cpu_count()} CPUs, "
          f"load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")

    with tqdm(total=4, desc="setup", unit="step", dynamic_ncols=True) as bar:
        recreate_database(args.database_url, args.database)
        bar.update()
        manage(["migrate", "--noinput"], env)
        bar.update()
        key = manage(["create_shop", "Bench Shop"], env).strip().splitlines()[-1].strip()
        bar.update()
        manage(["shell", "-c", CATALOGUE_CODE.format(shop="Bench Shop", count=args.products)], env)
        bar.update()
    with psycopg.connect(db_url, autocommit=True) as conn:
        # Table statistics, as autovacuum gathers them within a minute of an import in any deployment.
        # This machine's Postgres runs with autovacuum=off: without them the planner found a product by
        # its shop_id index alone, filtering the whole catalogue (0.34 instead of 0.09 Postgres CPU-ms).
        conn.execute("ANALYZE")
        durability = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                      for name in ("synchronous_commit", "fsync", "wal_sync_method", "full_page_writes", "autovacuum")}
    rabbitmq_purge(args.broker_url)

    log_dir = Path(tempfile.mkdtemp(prefix="shop-ai-bench-"))
    server = Server(env, args.workers, args.worker_class, args.threads, log_dir)
    figures: dict = {}
    try:
        server.wait_ready(key)
        cfg = {"port": server.port, "key": key, "customers": args.customers, "products": args.products,
               "seed": args.seed, "duration": args.duration}

        # Warm-up (workers import lazily, open DB and broker connections): also sizes the batch phase.
        warm_batches = [4] * args.clients
        warm = run_clients(batch_client, args.clients, {**cfg, "tag": "w", "duration": None}, warm_batches,
                           sum(warm_batches) * BATCH_SIZE, "warm-up", server)
        warm_rate = warm["accepted"] / warm["wall"] if warm["wall"] else 1000.0
        if args.events:  # exactly this many events, however long it takes
            per_client, batch_cfg = math.ceil(args.events / BATCH_SIZE / args.clients), {"duration": None}
        else:  # --duration seconds: requests for max(3x the warm-up rate, 1.3x the target) are built, the rest unsent
            rate = max(3 * warm_rate, TARGETS["batch_events_per_s"] * 1.3)
            per_client = min(1000, max(20, math.ceil(rate * args.duration / BATCH_SIZE / args.clients)))
            batch_cfg = {"duration": args.duration}
        work = [per_client] * args.clients
        checkpoint(db_url)
        batch = run_clients(batch_client, args.clients, {**cfg, "tag": "b", **batch_cfg}, work,
                            None if batch_cfg["duration"] else sum(work) * BATCH_SIZE, "batch API", server)
        batch["events_per_s"] = batch["accepted"] / batch["wall"]

        capacity = math.ceil(args.duration * 3000 / args.single_clients) + 50
        single_warm = run_clients(single_client, args.single_clients, {**cfg, "tag": "v", "duration": 2.0},
                                  [capacity] * args.single_clients, None, "single warm-up", server)
        checkpoint(db_url)
        single = run_clients(single_client, args.single_clients, {**cfg, "tag": "s"},
                             [capacity] * args.single_clients, None, "single-event API", server)
        single["req_per_s"] = single["requests"] / single["wall"]
    finally:
        server.stop()
        if server.proc.returncode not in (0, None, -signal.SIGTERM):
            print("gunicorn log tail:\n" + server.log_tail(), file=sys.stderr)

    messages = rabbitmq_purge(args.broker_url)
    with psycopg.connect(db_url) as conn:
        rows_stored = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(EVENT_TABLE))).fetchone()[0]
        failed_events = conn.execute("SELECT count(*) FROM profiles_failedevent").fetchone()[0]
    unique_sent = sum(phase["sent"] for phase in (warm, batch, single_warm, single))
    accepted = sum(phase["accepted"] for phase in (warm, batch, single_warm, single))
    copy = copy_ceiling(db_url)
    load_end = os.getloadavg()

    figures = {
        "started_at": started_at.isoformat(), "cpus": os.cpu_count(),
        "server": {"workers": args.workers, "worker_class": args.worker_class,
                   "threads": args.threads if args.worker_class == "gthread" else 1},
        "durability": durability,
        "batch": {k: v for k, v in batch.items() if k != "failures"} | {"failures": batch["failures"]},
        "single": single, "copy": copy,
        "batch_pct_of_copy": 100 * batch["events_per_s"] / copy["rows_per_s"] if copy["rows_per_s"] else 0.0,
        "unique_sent": unique_sent, "accepted_reported": accepted, "rows_stored": rows_stored,
        "failed_events": failed_events, "copy_rows_stored": copy["stored"],
        "broker_messages_purged": messages,
        "loadavg_start": load_start, "loadavg_end": load_end,
    }
    figures["pass"] = {
        "batch_events_per_s": batch["events_per_s"] >= TARGETS["batch_events_per_s"],
        "batch_pct_of_copy": figures["batch_pct_of_copy"] >= TARGETS["batch_pct_of_copy"],
        "single_req_per_s": single["req_per_s"] >= TARGETS["single_req_per_s"],
        "single_p99_ms": single["p99_ms"] < TARGETS["single_p99_ms"],
        "rows_match": rows_stored == unique_sent == accepted and copy["stored"] == rows_stored,
    }
    figures["targets"] = TARGETS

    print()
    print(build_table(figures))
    print()
    print(f"server: gunicorn, {args.workers} workers, {args.worker_class}"
          + (f" ({args.threads} threads each)" if args.worker_class == "gthread" else "")
          + f"; Postgres {db_url}; broker {args.broker_url}")
    print("durability: " + ", ".join(f"{k}={v}" for k, v in durability.items()))
    print(f"batch phase: {batch['accepted']:,} events in {batch['requests']:,} requests, {batch['wall']:.1f} s; "
          f"single phase: {single['requests']:,} requests in {single['wall']:.1f} s; "
          f"COPY: {copy['rows']:,} rows in {copy['wall']:.2f} s")
    print(f"correctness: {unique_sent:,} unique events sent, {accepted:,} accepted by the API, {rows_stored:,} rows "
          f"in {EVENT_TABLE} ({copy['stored']:,} after COPY); {failed_events} failed events; "
          f"duplicates {sum(p['duplicates'] for p in (warm, batch, single_warm, single))}, "
          f"rejected {sum(p['rejected'] for p in (warm, batch, single_warm, single))}")
    print(f"broker: after-commit messages purged from RabbitMQ: {messages}")
    for name, phase in (("batch", batch), ("single", single)):
        cpu = phase["cpu"]
        print(f"CPU seconds in the {name} phase ({phase['wall']:.1f} s wall x {os.cpu_count()} CPUs = "
              f"{phase['wall'] * os.cpu_count():.1f} available): "
              + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    for name, phase, unit, count in (("batch", batch, "1,000 events", batch["accepted"] / 1000),
                                     ("single", single, "request", single["requests"])):
        cpu = phase["cpu"]
        ours = cpu["gunicorn"] + cpu["postgres"] + cpu["rabbitmq"]
        if count and ours:
            per = ours / count
            print(f"  {name}: the server side (gunicorn + Postgres + RabbitMQ) used {per * 1000:.2f} CPU-ms per {unit} "
                  f"(gunicorn {cpu['gunicorn'] / count * 1000:.2f}, Postgres {cpu['postgres'] / count * 1000:.2f}, "
                  f"RabbitMQ {cpu['rabbitmq'] / count * 1000:.2f}); if it had all {os.cpu_count()} CPUs: "
                  f"<= {os.cpu_count() / per * (1000 if name == 'batch' else 1):,.0f} "
                  f"{'events' if name == 'batch' else 'requests'}/s (an upper bound, not a measurement)")
    print(f"CPU seconds of Postgres during COPY: {copy['postgres_cpu']:.1f} in {copy['wall']:.1f} s")
    print(f"load average at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, "
          f"at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} "
          f"(the 2 CPUs are shared with whatever else runs here)")
    for name, phase in (("batch", batch), ("single", single)):
        if phase["failures"]:
            print(f"{name} failures (first few): {phase['failures']}")
    for name, phase in (("batch", batch), ("single-event", single)):
        if phase.get("exhausted"):
            print(f"note: a {name} client ran out of pre-built requests before --duration ended")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2, default=str))
        print(f"figures written to {args.json_path}")
    return 0 if all(figures["pass"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
