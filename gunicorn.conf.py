"""gunicorn settings read automatically from the working directory (`gunicorn shop_ai.wsgi`).

Command-line flags override these. Threads by default: a request mostly waits (the Postgres commit,
a broker confirm), so threads overlap those waits, and a gthread worker keeps a client's connection
open between requests, where the sync worker closes it after each one (benchmarks/ingest.py on 2
CPUs, 2 workers: sync 152 single-event requests/s, gthread with 8 threads 268). Each thread holds
its own database connection (CONN_MAX_AGE): workers x threads connections per machine.
"""

import os

worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Longer than a load balancer's usual idle timeout (60 s), so gunicorn is never the side that closes
# a connection the balancer is about to reuse.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))


def worker_exit(server, worker):
    """Write the exposures and send the change announcements a worker still holds in memory before it goes."""
    try:
        from generation.storefront import exposure_log

        exposure_log.flush()
    except Exception:  # noqa: BLE001 - never block a shutdown; the error is in the log
        server.log.exception("Could not flush exposures at worker exit")
    try:
        from profiles.ingestion.announcements import announcer

        announcer.flush()
    except Exception:  # noqa: BLE001 - the sweeper finds what was not announced
        server.log.exception("Could not send the pending change announcements at worker exit")
