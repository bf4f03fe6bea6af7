"""`EventBatcher`: collect events (and the products they need) in memory and send them in batches
from a background thread, so a web request that records an event never waits for shop-ai.

Products go before events in every flush: an event for a product shop-ai has not seen is rejected.
A flush that cannot reach shop-ai keeps its events (same ids, so the retry deduplicates) and tries
again on the next tick; a refusal (4xx: wrong key, malformed) is logged and dropped, because
sending the same request again would be refused again.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable

from shop_ai_connect.client.client import MAX_EVENTS_PER_BATCH, IngestResult, ShopAIClient, ShopAIError, ShopAIUnavailable

logger = logging.getLogger("shop_ai_connect.client")


class EventBatcher:
    def __init__(self, client: ShopAIClient, *, flush_interval: float = 1.0, max_buffered: int = 50_000,
                 on_result: Callable[[IngestResult], None] | None = None):
        self.client = client
        self.flush_interval = flush_interval
        self.on_result = on_result
        self._events: deque[dict] = deque(maxlen=max_buffered)  # a long outage drops the oldest
        self._products: OrderedDict[str, dict] = OrderedDict()  # the latest fields per product id
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._closes_at_exit = False
        self.totals = IngestResult()

    def add(self, event: dict) -> None:
        with self._lock:
            self._events.append(event)
            full = len(self._events) >= MAX_EVENTS_PER_BATCH
        if full:
            self._wake.set()

    def add_product(self, product_id: str, **fields) -> None:
        """Queue an upsert (fields as `ShopAIClient.upsert_product` takes them)."""
        with self._lock:
            self._products[product_id] = fields
            self._products.move_to_end(product_id)

    def pending(self) -> int:
        with self._lock:
            return len(self._events) + len(self._products)

    def flush(self) -> IngestResult:
        """Send everything queued now, in this thread. Raises `ShopAIUnavailable` (nothing is lost)."""
        with self._send_lock:
            self._send_products()
            return self._send_events()

    def _send_products(self) -> None:
        while True:
            with self._lock:
                if not self._products:
                    return
                product_id, fields = next(iter(self._products.items()))
            try:
                self.client.upsert_product(product_id, **fields)
            except ShopAIUnavailable:
                raise
            except ShopAIError as refused:
                logger.error("shop-ai refused product %r: %s %s", product_id, refused, refused.errors or "")
            with self._lock:
                if self._products.get(product_id) is fields:  # not re-queued with newer fields meanwhile
                    del self._products[product_id]

    def _send_events(self) -> IngestResult:
        result = IngestResult()
        while True:
            with self._lock:
                batch = [self._events.popleft() for _ in range(min(MAX_EVENTS_PER_BATCH, len(self._events)))]
            if not batch:
                break
            try:
                answer = self.client.send_events(batch)
            except ShopAIUnavailable:
                with self._lock:
                    self._events.extendleft(reversed(batch))
                raise
            except ShopAIError as refused:
                logger.error("shop-ai refused a batch of %d events: %s", len(batch), refused)
                continue
            for item in answer.rejected:
                logger.warning("shop-ai rejected event %s: %s", item["event_id"], item["errors"])
            result.merge(answer)
        self.totals.merge(result)
        if self.on_result is not None and (result.accepted or result.duplicates or result.rejected):
            self.on_result(result)
        return result

    # -- background sending ------------------------------------------------------------------

    def start(self) -> EventBatcher:
        if self._thread is None or not self._thread.is_alive():
            self._stopped.clear()
            self._thread = threading.Thread(target=self._run, name="shop-ai-batcher", daemon=True)
            self._thread.start()
            if not self._closes_at_exit:
                atexit.register(self.close)
                self._closes_at_exit = True
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and send what is left (as far as shop-ai answers within the retries)."""
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            self.flush()
        except ShopAIUnavailable as problem:
            logger.warning("shop-ai unreachable at exit; %d items not sent: %s", self.pending(), problem)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self.flush()
            except ShopAIUnavailable as problem:
                logger.warning("shop-ai unreachable, %d items kept for the next try: %s", self.pending(), problem)
            except Exception:  # noqa: BLE001 - the sender thread must survive anything one flush meets
                logger.exception("shop-ai batch sender")
