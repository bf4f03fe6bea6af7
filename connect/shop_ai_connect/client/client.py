"""`ShopAIClient`: the shop-ai HTTP API from Python, with retries that are safe to repeat.

Every call it retries is idempotent on the server: events are deduplicated by `event_id`, products
are upserts, reads are reads. So a timeout after the server stored a batch costs a retry that comes
back as duplicates, never a second row.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, NotRequired, TypedDict
from urllib.parse import quote

import requests

MAX_EVENTS_PER_BATCH = 500
MAX_BATCH_BYTES = 1024 * 1024 - 4096  # the server's cap is 1 MB; leave room for the envelope
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class Event(TypedDict):
    """One event as the API takes it (`POST /api/v1/events/batch`)."""

    event_id: str
    type: str  # view, add_to_cart, purchase, refund, review
    customer_id: str
    occurred_at: str | datetime
    product_id: NotRequired[str]
    quantity: NotRequired[int]
    unit_price: NotRequired[str | Decimal]
    currency: NotRequired[str]
    text: NotRequired[str]
    rating: NotRequired[int]
    properties: NotRequired[dict]


class ShopAIError(Exception):
    """The API refused a request (4xx), or answered with something that is not its JSON."""

    def __init__(self, status: int, code: str, detail: str, errors: Any = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.errors = status, code, detail, errors


class ShopAIUnavailable(ShopAIError):
    """The server could not be reached, or kept failing (5xx, 429) through every retry."""


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)  # {"index", "event_id", "errors"}; index into your list

    def add(self, answer: dict, offset: int = 0) -> None:
        """Count in one API answer for the batch that started at `offset` of the caller's list."""
        self.accepted += answer["accepted"]
        self.duplicates += answer["duplicates"]
        self.rejected += [{**item, "index": item["index"] + offset} for item in answer["rejected"]]

    def merge(self, other: IngestResult) -> None:
        self.add({"accepted": other.accepted, "duplicates": other.duplicates, "rejected": other.rejected})


@dataclass(frozen=True)
class StorefrontProduct:
    product_id: str
    title: str
    description: str
    image_url: str | None
    variant: str  # "persona:<id>" or "original"
    holdout: bool


def _json_default(value):
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every call: json.dumps with options builds a new encoder each time, which cost
# more than the encoding itself for small events.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_json_default, separators=(",", ":"))


def encode(payload) -> bytes:
    return _ENCODER.encode(payload).encode()


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def _by_size(offset: int, events: Sequence[dict]) -> Iterator[tuple[int, bytes]]:
    start, size, chunk = 0, 0, []
    for index, event in enumerate(events):
        encoded = encode(event)
        if chunk and size + len(encoded) + 1 > MAX_BATCH_BYTES:
            yield offset + start, b"[" + b",".join(chunk) + b"]"
            start, size, chunk = index, 0, []
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        yield offset + start, b"[" + b",".join(chunk) + b"]"


def batches(events: Sequence[dict]) -> Iterator[tuple[int, bytes]]:
    """(offset, JSON array) chunks of at most 500 events and about 1 MB each. A chunk is encoded
    in one go; only one over the size cap is encoded again event by event, to split it."""
    for offset in range(0, len(events), MAX_EVENTS_PER_BATCH):
        chunk = list(events[offset:offset + MAX_EVENTS_PER_BATCH])
        encoded = encode(chunk)
        if len(encoded) <= MAX_BATCH_BYTES:
            yield offset, encoded
        else:
            yield from _by_size(offset, chunk)


def _batch_body(encoded_events: bytes) -> bytes:
    return b'{"events":' + encoded_events + b',"sent_at":' + encode(_now_iso()) + b"}"


class ShopAIClient:
    """A shop's client: `ShopAIClient("https://shop-ai.example.com", api_key="sk_…")`.

    Retries connection errors, timeouts, 429 and 5xx answers `retries` times with exponential
    backoff and jitter (honouring Retry-After); 4xx answers raise `ShopAIError` at once."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0, retries: int = 3,
                 backoff: float = 0.5, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {api_key}", "Accept": "application/json",
                                     "User-Agent": "shop-ai-python-client/1"})

    def __enter__(self) -> ShopAIClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # -- events ------------------------------------------------------------------------------

    def send_events(self, events: Sequence[Event | dict]) -> IngestResult:
        """Send any number of events (split into batches the API accepts); rejected events come
        back with their index in `events` and the reasons. Bad events never fail the call."""
        result = IngestResult()
        for offset, chunk in batches(events):
            answer = self._request("POST", "/api/v1/events/batch", body=lambda chunk=chunk: _batch_body(chunk))
            result.add(answer, offset)
        return result

    def failed_events(self) -> list[dict]:
        """The shop's most recent refused events, with their reasons."""
        return self._request("GET", "/api/v1/failed-events")

    # -- products ----------------------------------------------------------------------------

    def upsert_product(self, product_id: str, *, title: str, description: str = "", category: str = "",
                       price: Decimal | str | None = None, tags: Iterable[str] = (), image: bytes | None = None,
                       image_name: str = "photo.png") -> dict:
        """Create or update a product (with its photo, if given). Send products before their events."""
        fields = {"title": title, "description": description, "category": category,
                  "price": None if price is None else str(price), "tags": list(tags)}
        path = f"/api/v1/products/{quote(product_id, safe='')}"
        if image is None:
            return self._request("PUT", path, body=lambda: encode(fields))
        form = [(name, value) for name, value in fields.items() if name != "tags" and value is not None]
        form += [("tags", tag) for tag in fields["tags"]]
        return self._request("PUT", path, form=form, files={"image": (image_name, image)})

    # -- storefront --------------------------------------------------------------------------

    def storefront_product(self, product_id: str, *, customer_id: str | None = None) -> StorefrontProduct:
        """What this customer should see of the product: their persona's variant, or the original."""
        params = {"customer_id": customer_id} if customer_id else None
        answer = self._request("GET", f"/api/v1/storefront/products/{quote(product_id, safe='')}", params=params)
        return StorefrontProduct(**{name: answer[name] for name in StorefrontProduct.__dataclass_fields__})

    # -- transport ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, body=None, form=None, files=None, params=None):
        for attempt in range(self.retries + 1):
            # The body is built per attempt, so `sent_at` is the clock at this attempt.
            data, headers = (body(), {"Content-Type": "application/json"}) if body else (form, None)
            try:
                response = self.session.request(method, self.base_url + path, data=data, files=files,
                                                params=params, headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.retries:
                    raise ShopAIUnavailable(0, "unreachable", f"{self.base_url} did not answer: {exc}") from exc
                self._sleep(attempt, None)
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            return self._answer(response)
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * 2 ** attempt * (0.5 + random.random() / 2)
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(delay)

    @staticmethod
    def _answer(response: requests.Response):
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code < 400 and payload is not None:
            return payload
        error = payload if isinstance(payload, dict) else {}
        kind = ShopAIUnavailable if response.status_code in RETRY_STATUSES else ShopAIError
        raise kind(response.status_code, error.get("code", "http_error"),
                   error.get("detail", response.text[:300] or response.reason), error.get("errors"))
