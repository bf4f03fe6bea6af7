"""gunicorn settings read automatically from the working directory (`gunicorn shop_ai.wsgi`)."""


def worker_exit(server, worker):
    """Write the exposures a worker still holds in memory before it goes."""
    try:
        from generation.storefront import exposure_log

        exposure_log.flush()
    except Exception:  # noqa: BLE001 - never block a shutdown; the error is in the log
        server.log.exception("Could not flush exposures at worker exit")
