#!/usr/bin/env python
"""Generation service benchmark (issue 5, "Proof"): one run, one table.

1. Jobs: 100 generation jobs (20 products × 5 personas, one message per product) through RabbitMQ to
   real `rundramatiq` worker processes on the `gpu` queue, with 1 and then 2 worker processes:
   jobs/minute and p50/p95 job latency (created → finished). The products are the real photos of
   generation/real_photos (benchmark split); each job is one 1024 px listing image end to end (cut-out
   once per product, scene sampling, ×4 upscaling, composite, fidelity, encoding): target ≥ 20 a minute. The generator is the shipped UPCDM
   (generation/weights) when present, else a tiny randomly initialised one (said in the table).
2. Storefront: `GET /api/v1/storefront/products/{id}?customer_id=…` under gunicorn with exposure
   logging on, several keep-alive clients: requests/s and p50/p95 latency (target ≥ 500 req/s,
   p95 < 30 ms), and a check that every served view became an exposure row.

Run:  .venv/bin/python benchmarks/generation_service.py [--jobs 100] [--duration 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.ingest import Connection, Server, cpu_breakdown, cpu_snapshot, recreate_database  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432"
DB = "shop_ai_bench_generation"
BROKER = "amqp://guest:guest@127.0.0.1:5672/"
PERSONAS = 5
TARGETS = {"storefront_rps": 500, "storefront_p95_ms": 30.0, "variants_per_minute": 20.0}


def environment(media: Path, weights: Path, threads: int) -> dict:
    return {**os.environ, "DATABASE_URL": f"{PG}/{DB}", "BROKER_URL": BROKER, "DJANGO_SETTINGS_MODULE": "shop_ai.settings",
            "EMBEDDED_WORKER": "false", "DEBUG": "false", "MEDIA_ROOT": str(media), "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "benchmark-only-" + os.urandom(8).hex(), "SECURE_SSL_REDIRECT": "false",
            "API_RATE_LIMIT": "off",
            "GENERATION_MODEL_DIR": str(weights), "GENERATION_TORCH_THREADS": str(threads)}


def setup_django(env: dict) -> None:
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "BROKER_URL", "DJANGO_SETTINGS_MODULE", "EMBEDDED_WORKER",
                                           "MEDIA_ROOT", "GENERATION_MODEL_DIR", "LOG_LEVEL")})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def weights_dir(tmp: Path) -> tuple[Path, str]:
    shipped = ROOT / "generation" / "weights"
    if (shipped / "unet").is_dir():
        return shipped, "shipped UPCDM"
    from tests.generation.model.conftest import randomise_zero_convs, tiny_models
    from generation.model.pipeline_upcdm import UPCDMPipeline, sampling_scheduler, training_scheduler

    unet, controlnet = tiny_models()
    randomise_zero_convs(controlnet)
    UPCDMPipeline(unet=unet, scheduler=sampling_scheduler("dpmsolver++", training_scheduler()),
                  controlnet=controlnet).save_weights(tmp / "weights")
    return tmp / "weights", "tiny random UPCDM (no shipped weights found)"


def make_shop(products: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from generation.models import GenerationSettings
    from generation.real_photos import real_photos
    from generation.rendering import random_persona_vector
    from profiles.models import Persona
    from profiles.services import api_key_create, product_upsert, shop_create
    import numpy as np

    shop = shop_create(name="bench")
    GenerationSettings.objects.create(shop=shop, fidelity_threshold=0.0, daily_job_budget=100_000)
    rng = np.random.default_rng(0)
    photos = real_photos(split="benchmark")
    catalogue = []
    for number in range(products):
        photo = photos[number % len(photos)]
        upload = SimpleUploadedFile(photo.path.name, photo.path.read_bytes(), content_type="image/jpeg")
        catalogue.append(product_upsert(shop=shop, external_id=f"p{number}", title=f"产品{number}",
                                        category=photo.category, image=upload)[0])
    personas = []
    for number in range(PERSONAS):
        vector = random_persona_vector(rng)
        personas.append(Persona.objects.create(
            shop=shop, name=f"persona {number}", size=100, sentiment=float((vector[6] + 1) / 2),
            demand_mix={f"L{i}": float(vector[i]) for i in range(6)},
            kansei={w: float(vector[7 + i]) for i, w in enumerate(
                ("emotional", "simple", "light", "fashionable", "warm", "effortless"))}))
    return shop, catalogue, personas, api_key_create(shop=shop).raw_key


def purge(queues=("gpu", "gpu.DQ", "gpu.XQ")) -> None:
    import dramatiq

    broker = dramatiq.get_broker()
    for queue in queues:
        try:
            broker.channel.queue_purge(queue)
        except Exception:  # noqa: BLE001 - a queue that does not exist yet has nothing to purge
            pass


def run_jobs(shop, catalogue, personas, processes: int, env: dict, log: Path) -> dict:
    import numpy as np

    from generation.models import GenerationJob, Listing
    from generation.services import generation_jobs_request

    Listing.objects.filter(shop=shop).delete()  # a fresh run: no job may be deduplicated away
    GenerationJob.objects.filter(shop=shop).delete()
    worker = subprocess.Popen([sys.executable, "manage.py", "rundramatiq", "--processes", str(processes),
                               "--threads", "1", "--queues", "gpu"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    try:
        time.sleep(8)  # boot: imports and model loading happen before the clock
        started = time.monotonic()
        ids = []
        for product in catalogue:
            ids += [job.id for job in generation_jobs_request(shop=shop, product=product, personas=personas).jobs]
        from tqdm import tqdm

        with tqdm(total=len(ids), desc=f"jobs, {processes} worker process(es)", unit="job") as bar:
            done = 0
            while done < len(ids) and time.monotonic() - started < 1800:
                now_done = GenerationJob.objects.filter(id__in=ids, status__in=["succeeded", "failed"]).count()
                bar.update(now_done - done)
                done = now_done
                time.sleep(0.5)
        seconds = time.monotonic() - started
        jobs = list(GenerationJob.objects.filter(id__in=ids))
        latencies = [(j.finished_at - j.created_at).total_seconds() for j in jobs if j.finished_at]
        return {"processes": processes, "jobs": len(ids), "succeeded": sum(j.status == "succeeded" for j in jobs),
                "seconds": seconds, "jobs_per_minute": 60 * done / seconds,
                "p50_s": float(np.percentile(latencies, 50)), "p95_s": float(np.percentile(latencies, 95))}
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)


def storefront_client(port: int, key: str, paths: list[str], seconds: float, barrier, results) -> None:
    connection = Connection(port)
    raws = [(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n").encode()
            for path in paths]
    barrier.wait()
    cpu0 = time.process_time()
    latencies, statuses, deadline, index = [], {}, time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        status, _ = connection.request(raws[index % len(raws)])
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
        index += 1
    results.put((latencies, statuses, time.process_time() - cpu0))


def run_storefront(shop, catalogue, key: str, env: dict, seconds: float, clients: int, log_dir: Path) -> dict:
    import numpy as np

    from generation.models import Exposure

    Exposure.objects.filter(shop=shop).delete()
    server = Server(env, workers=2, worker_class="gthread", threads=4, log_dir=log_dir)
    try:
        wait_until_up(server.port, key, catalogue[0].external_id)
        Exposure.objects.filter(shop=shop).delete()
        paths = [f"/api/v1/storefront/products/{p.external_id}?customer_id=c{n}" for n in range(200)
                 for p in catalogue[:5]]
        barrier, results = mp.Barrier(clients + 1), mp.Queue()
        procs = [mp.Process(target=storefront_client, args=(server.port, key, paths[i::clients], seconds, barrier,
                                                             results)) for i in range(clients)]
        for proc in procs:
            proc.start()
        barrier.wait()
        cpu_before = cpu_snapshot()
        gathered = [results.get(timeout=seconds + 120) for _ in procs]
        cpu = cpu_breakdown(cpu_before, cpu_snapshot(), server, sum(item[2] for item in gathered))
        for proc in procs:
            proc.join()
    finally:
        server.stop()  # SIGTERM: the workers flush their exposure buffers on exit
    latencies = [value for chunk, _, _ in gathered for value in chunk]
    statuses: dict[int, int] = {}
    for _, counts, _ in gathered:
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
    return {"requests": len(latencies), "rps": len(latencies) / seconds, "statuses": statuses,
            "p50_ms": 1000 * float(np.percentile(latencies, 50)), "p95_ms": 1000 * float(np.percentile(latencies, 95)),
            "exposures": Exposure.objects.filter(shop=shop).count(), "cpu": cpu,
            # gunicorn (requests and the exposure flushes) + Postgres, per request served
            "server_cpu_ms": 1000 * (cpu["gunicorn"] + cpu["postgres"]) / max(1, len(latencies)),
            "gunicorn_cpu_ms": 1000 * cpu["gunicorn"] / max(1, len(latencies))}


def wait_until_up(port: int, key: str, product_id: str, timeout: float = 90) -> None:
    raw = f"GET /api/v1/storefront/products/{product_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = Connection(port)
            if connection.request(raw.encode())[0] == 200:
                connection.close()
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100, help="Jobs per worker-count run (multiple of 5).")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--storefront-only", action="store_true",
                        help="Skip the jobs phase (the storefront phase is the same: its customers have no persona).")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="shop-ai-bench-generation-"))
    recreate_database(PG, DB)
    weights, generator = weights_dir(tmp)
    setup_django(environment(tmp / "media", weights, 1))
    shop, catalogue, personas, key = make_shop(max(1, args.jobs // PERSONAS))
    from django.db import connection

    with connection.cursor() as cursor:  # statistics, as autovacuum would gather (off on this machine)
        cursor.execute("ANALYZE")
    purge()
    runs = [] if args.storefront_only else [
        run_jobs(shop, catalogue, personas, n, environment(tmp / "media", weights, max(1, 2 // n)), tmp / "workers.log")
        for n in (1, 2)]
    store = run_storefront(shop, catalogue, key, environment(tmp / "media", weights, 1), args.duration,
                           args.clients, tmp)
    figures = {"generator": generator, "jobs": runs, "storefront": store, "load_average": os.getloadavg()}
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def print_table(f: dict) -> None:
    rows = [("measure", "value", "target", "result")]
    best = max((run["jobs_per_minute"] for run in f["jobs"]), default=None)
    for run in f["jobs"]:
        fastest = run["jobs_per_minute"] == best
        rows.append((f"1024 px variants/minute, {run['processes']} worker process(es)",
                     f"{run['jobs_per_minute']:.1f} ({run['succeeded']}/{run['jobs']} succeeded)",
                     f"≥ {TARGETS['variants_per_minute']:.0f}" if fastest else "",
                     ("PASS" if run["jobs_per_minute"] >= TARGETS["variants_per_minute"] else "FAIL") if fastest else ""))
        rows.append((f"  job latency p50 / p95, {run['processes']} process(es)",
                     f"{run['p50_s']:.1f} / {run['p95_s']:.1f} s", "", ""))
    s = f["storefront"]
    rows.append(("storefront requests/s (exposures on)", f"{s['rps']:.0f}", f"≥ {TARGETS['storefront_rps']}",
                 "PASS" if s["rps"] >= TARGETS["storefront_rps"] else "FAIL"))
    rows.append(("storefront latency p50 / p95", f"{s['p50_ms']:.1f} / {s['p95_ms']:.1f} ms",
                 f"p95 < {TARGETS['storefront_p95_ms']:.0f} ms",
                 "PASS" if s["p95_ms"] < TARGETS["storefront_p95_ms"] else "FAIL"))
    rows.append(("exposure rows == views served", f"{s['exposures']} == {s['requests']}", "equal",
                 "PASS" if s["exposures"] == s["requests"] else "FAIL"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    print()
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print(f"\nstorefront phase CPU seconds ({s['requests'] / s['rps']:.0f} s x {os.cpu_count()} CPUs): "
          + ", ".join(f"{k} {v:.1f}" for k, v in s["cpu"].items())
          + f"; server side (gunicorn + Postgres) {s['server_cpu_ms']:.2f} CPU-ms per request "
            f"(gunicorn {s['gunicorn_cpu_ms']:.2f})")
    print(f"generator: {f['generator']}; load average: {f['load_average']}")


if __name__ == "__main__":
    main()
