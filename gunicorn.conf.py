"""gunicorn settings read automatically from the working directory (`gunicorn shop_ai.wsgi`)."""


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
