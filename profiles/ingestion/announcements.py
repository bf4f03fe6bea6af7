"""After-commit announcements of stored events (`customers_changed`), coalesced per process.

Every batch that stored events must reach the profiles queue as `customers_changed(shop, customers,
product days)`. One message per request cost a single-event request about 1 CPU-ms (pika's publish
and wait for the publisher confirm in the web worker, and RabbitMQ's side of it): about as much as
the insert itself. So with `EVENT_ANNOUNCE_SECONDS` > 0 a process gathers what its requests
committed and a daemon thread sends, every interval, one message per shop with the union of their
customers and (product, day) cells; the worker treats it exactly as it treats the separate ones.
With 0 (the tests' setting) every commit sends its own message at once, as before.

Nothing is lost if the process dies before its thread sends (at most one interval's worth): the
events are committed first, and the sweeper (`manage.py sweep_jobs`, shop_ai/sweeper.py) re-derives
stale customers from `last_seen_at > profiled_at` and recounts the revenue cells of every event
received since its last pass. A graceful stop (gunicorn's worker_exit, atexit) sends what is left.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)
# One message carries at most this many customers (and cells): a few hundred KB of JSON.
MESSAGE_MAX_ITEMS = 5_000
# While the broker is unreachable, at most this many customers wait in memory; beyond it the
# sweeper finds them (their events are in the database).
MAX_PENDING_CUSTOMERS = 200_000


def _send(shop_id: int, customer_ids: list[int], product_days: list) -> None:
    # Imported here: actors load the broker, which the ingestion path should not need at import.
    from profiles.actors import customers_changed

    customers_changed.send(shop_id, customer_ids, product_days)


class ChangeAnnouncer:
    def __init__(self):
        self._pending: dict[int, tuple[set[int], set[tuple[int, str]]]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def announce(self, shop_id: int, customer_ids, product_days) -> None:
        """Called after commit with what the batch stored."""
        interval = settings.EVENT_ANNOUNCE_SECONDS
        if interval <= 0:
            _send(shop_id, sorted(customer_ids), [list(cell) for cell in product_days])
            return
        with self._lock:
            customers, cells = self._pending.setdefault(shop_id, (set(), set()))
            customers.update(customer_ids)
            cells.update(tuple(cell) for cell in product_days)
        self._ensure_thread()

    def pending(self) -> dict[int, tuple[set[int], set]]:
        with self._lock:
            return {shop_id: (set(c), set(d)) for shop_id, (c, d) in self._pending.items()}

    def discard(self) -> None:
        """Forget what is waiting (what a crash does; tests use it)."""
        with self._lock:
            self._pending = {}

    def flush(self) -> int:
        """Send what is waiting: one message per shop (split past MESSAGE_MAX_ITEMS). Returns the
        number of messages sent; what could not be sent waits for the next round."""
        with self._lock:
            batch, self._pending = self._pending, {}
        sent = 0
        shops = sorted(batch)
        for number, shop_id in enumerate(shops):
            customers, cells = batch[shop_id]
            customer_list, cell_list = sorted(customers), [list(cell) for cell in sorted(cells)]
            parts = max(1, -(-max(len(customer_list), len(cell_list)) // MESSAGE_MAX_ITEMS))
            try:
                for part in range(parts):
                    window = slice(part * MESSAGE_MAX_ITEMS, (part + 1) * MESSAGE_MAX_ITEMS)
                    _send(shop_id, customer_list[window], cell_list[window])
                    sent += 1
            except Exception:
                for unsent in shops[number:]:  # resending a part that got out is harmless (idempotent)
                    self._put_back(unsent, *batch[unsent])
                raise
        return sent

    def _put_back(self, shop_id: int, customers: set[int], cells: set) -> None:
        with self._lock:
            waiting = sum(len(c) for c, _ in self._pending.values())
            if waiting + len(customers) > MAX_PENDING_CUSTOMERS:
                logger.warning("Dropped the change announcement of %d customers of shop %s (broker down too "
                               "long); the sweeper will find them", len(customers), shop_id)
                return
            mine, my_cells = self._pending.setdefault(shop_id, (set(), set()))
            mine.update(customers)
            my_cells.update(cells)

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # forked after the thread started: it did not come along
            self._pid, self._thread = os.getpid(), None
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="change-announcer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(max(settings.EVENT_ANNOUNCE_SECONDS, 0.01))
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - keep going; what failed is put back for the next round
                logger.exception("Could not announce changed customers")


announcer = ChangeAnnouncer()


def _flush_at_exit() -> None:
    try:
        announcer.flush()
    except Exception as problem:  # noqa: BLE001 - the process is ending; the sweeper takes over
        logger.warning("Change announcements still pending at exit could not be sent: %s", problem)


atexit.register(_flush_at_exit)
