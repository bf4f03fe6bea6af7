"""Dramatiq broker helpers: the embedded in-process worker of the default set-up."""

from __future__ import annotations

import logging
import threading

import dramatiq

logger = logging.getLogger(__name__)
_embedded_worker: dramatiq.Worker | None = None
_lock = threading.Lock()


def start_embedded_worker(worker_threads: int = 2) -> dramatiq.Worker:
    """Consume every queue inside this process (for the StubBroker, where nothing else would)."""
    global _embedded_worker
    with _lock:
        if _embedded_worker is None:
            broker = dramatiq.get_broker()
            broker.emit_after("process_boot")
            _embedded_worker = dramatiq.Worker(broker, worker_threads=worker_threads, worker_timeout=100)
            _embedded_worker.start()
            logger.info("Embedded dramatiq worker consuming %s", sorted(broker.get_declared_queues()))
        return _embedded_worker


def stop_embedded_worker() -> None:
    global _embedded_worker
    with _lock:
        if _embedded_worker is not None:
            _embedded_worker.stop()
            _embedded_worker = None
