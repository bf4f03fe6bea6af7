"""Load on the ingestion API (issue 8, item 9), run by tests/reliability/test_load.py as
`locust --headless` in its own process (locust patches the standard library with gevent).

Two kinds of store: `BatchStore` posts 500-event batches, `SingleStore` one event a request, each at
a constant rate per user. Every event id is new; a request that fails is sent again, with the same
ids, by the same user's next task. At the end the file named by LOAD_RESULT receives what was sent
and every request not yet acknowledged (the test re-sends those, then counts rows).

Environment: LOAD_API_KEY, LOAD_RUN (id prefix), LOAD_RESULT, LOAD_BATCH_USERS, LOAD_BATCH_RATE
(requests/s per user), LOAD_BATCH_SIZE, LOAD_SINGLE_USERS, LOAD_SINGLE_RATE, LOAD_CUSTOMERS,
LOAD_PRODUCTS (ids p0…p{n-1}, created by the test).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from datetime import datetime, timedelta, timezone

from locust import FastHttpUser, constant_throughput, events, task

ENV = os.environ
RUN = ENV.get("LOAD_RUN", "load")
CUSTOMERS = int(ENV.get("LOAD_CUSTOMERS", "5000"))
PRODUCTS = int(ENV.get("LOAD_PRODUCTS", "200"))
BATCH_SIZE = int(ENV.get("LOAD_BATCH_SIZE", "500"))
HEADERS = {"Authorization": f"Bearer {ENV.get('LOAD_API_KEY', '')}", "Content-Type": "application/json"}
KINDS, WEIGHTS = ("view", "add_to_cart", "purchase", "review", "refund"), (60, 20, 12, 6, 2)
REVIEWS = ("扇面的祥云图案很精致，送给朋友很体面。", "包装很用心，颜色比图片还要好看。", "做工一般，边角有点毛糙。",
           "物流很快，书签的书法字很有味道。", "价格偏贵，但是质量对得起这个价。")

user_numbers = itertools.count()
sent = {"events": 0, "acknowledged": 0, "accepted": 0, "duplicates": 0, "rejected": 0}
pending: dict[str, tuple[str, str]] = {}  # request key -> (path, body) until a 2xx answer


def event(rng: random.Random, event_id: str, now: datetime) -> dict:
    kind = rng.choices(KINDS, WEIGHTS)[0]
    at = now - timedelta(seconds=rng.randrange(1, 3 * 86400))
    item = {"event_id": event_id, "type": kind, "customer_id": f"c{rng.randrange(CUSTOMERS)}",
            "product_id": f"p{rng.randrange(PRODUCTS)}", "occurred_at": at.isoformat().replace("+00:00", "Z")}
    if kind in ("add_to_cart", "purchase", "refund"):
        item["quantity"] = rng.choice((1, 1, 2))
    if kind in ("purchase", "refund"):
        item["unit_price"] = f"{rng.randrange(500, 20_000) / 100:.2f}"
    if kind == "review":
        item["text"], item["rating"] = rng.choice(REVIEWS), rng.randint(1, 5)
    return item


class Store(FastHttpUser):
    abstract = True
    path = ""
    size = 1

    def on_start(self):
        self.number = next(user_numbers)
        self.rng = random.Random(f"{RUN}-{self.number}")
        self.counter = itertools.count()
        self.request: tuple[str, str, int] | None = None  # (key, body, events) being sent

    def _next_request(self) -> tuple[str, str, int]:
        now = datetime.now(timezone.utc)
        batch = [event(self.rng, f"{RUN}-{self.number}-{next(self.counter)}", now) for _ in range(self.size)]
        body = json.dumps({"events": batch} if self.path.endswith("batch") else batch[0], ensure_ascii=False)
        key = batch[0]["event_id"]
        sent["events"] += self.size
        pending[key] = (self.path, body)
        return key, body, self.size

    @task
    def send(self):
        if self.request is None:
            self.request = self._next_request()
        key, body, size = self.request
        with self.client.post(self.path, data=body.encode(), headers=HEADERS, name=self.label,
                              catch_response=True) as response:
            if response.status_code not in (200, 201):
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
                return  # sent again, same ids, next time
            answer = response.json()
            sent["acknowledged"] += size
            for name in ("accepted", "duplicates"):
                sent[name] += answer[name]
            sent["rejected"] += len(answer["rejected"])
            pending.pop(key, None)
            self.request = None


class BatchStore(Store):
    fixed_count = int(ENV.get("LOAD_BATCH_USERS", "1"))
    wait_time = constant_throughput(float(ENV.get("LOAD_BATCH_RATE", "1")))
    path, size, label = "/api/v1/events/batch", BATCH_SIZE, "batch"


class SingleStore(Store):
    fixed_count = int(ENV.get("LOAD_SINGLE_USERS", "1"))
    wait_time = constant_throughput(float(ENV.get("LOAD_SINGLE_RATE", "1")))
    path, size, label = "/api/v1/events", 1, "single"


@events.quitting.add_listener
def write_result(environment, **kwargs):
    if path := ENV.get("LOAD_RESULT"):
        with open(path, "w", encoding="utf-8") as out:
            json.dump({**sent, "pending": list(pending.values())}, out, ensure_ascii=False)
