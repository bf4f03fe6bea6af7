"""A request limit per API key: a fixed-window counter in the `ratelimit` cache.

With REDIS_URL set that cache is Redis, so every gunicorn worker and every machine counts against
the same limit; without it (the SQLite demo) each process counts alone. Requests without an API
key (signed webhooks, the browser snippet) are counted per client address instead, with their own
limits (`ClientAddressRateThrottle`): a flood of unsigned webhooks must not use up a shop's quota.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from profiles.models import ApiKey

logger = logging.getLogger(__name__)

WINDOWS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


@lru_cache(maxsize=32)  # read on every request; the settings change only in tests
def rate_parse(text: str, setting: str = "API_RATE_LIMIT") -> tuple[int, int] | None:
    """`"1000/s"` → (1000, 1); `"off"`, `""` or `"0"` → None (no limit)."""
    text = (text or "").strip().lower()
    if text in ("", "0", "off", "none"):
        return None
    count, _, unit = text.partition("/")
    if not count.isdigit() or unit not in WINDOWS:
        raise ImproperlyConfigured(f"{setting}={text!r}: write requests per window such as 1000/s, "
                                   "6000/min or 100000/hour, or off.")
    return (int(count), WINDOWS[unit]) if int(count) else None


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        rate = rate_parse(settings.API_RATE_LIMIT)
        if rate is None or not isinstance(request.auth, ApiKey):
            return True
        allowed, self.retry_after = _allow(f"key:{request.auth.pk}", rate)
        return allowed

    def wait(self) -> float:
        return self.retry_after


class ClientAddressRateThrottle(BaseThrottle):
    """Requests per client address for the views without an API key; the view names its setting
    (`rate_setting = "WEBHOOK_RATE_LIMIT"`). Behind a proxy, set DRF's NUM_PROXIES so the address
    is read from X-Forwarded-For."""

    def allow_request(self, request, view) -> bool:
        setting = getattr(view, "rate_setting", "")
        rate = rate_parse(getattr(settings, setting, ""), setting)
        if rate is None:
            return True
        allowed, self.retry_after = _allow(f"{setting.lower()}:{self.get_ident(request)}", rate)
        return allowed

    def wait(self) -> float:
        return self.retry_after


def _allow(counter: str, rate: tuple[int, int]) -> tuple[bool, float]:
    """One more request on this counter in the current window: (allowed, seconds to the next window)."""
    limit, window = rate
    now = time.time()
    slot = int(now // window)
    try:
        count = _count(f"ratelimit:{counter}:{window}:{slot}", window)
    except Exception:  # noqa: BLE001 - a cache outage must not take the API down with it
        logger.warning("Rate limit not counted: the ratelimit cache does not answer", exc_info=True)
        return True, 0.0
    return count <= limit, (slot + 1) * window - now


def _count(key: str, window: int) -> int:
    cache = caches["ratelimit"]
    redis = _redis_of(cache)
    if redis is not None:
        # One round trip: start the window's counter if it is new, then count this request. The
        # cache API's add + incr took two, and django-redis's incr sends a Lua script each time
        # (~0.1 CPU-ms more a request in the web process, measured on the storefront view).
        name = cache.make_key(key)
        pipe = redis.pipeline(transaction=False)
        pipe.set(name, 0, ex=window + 1, nx=True)
        pipe.incr(name)
        return pipe.execute()[1]
    cache.add(key, 0, timeout=window + 1)
    try:
        return cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        return 1


def _redis_of(cache):
    """The redis-py client behind a django-redis cache, or None for any other backend."""
    client = getattr(cache, "client", None)
    get_client = getattr(client, "get_client", None)
    return get_client(write=True) if get_client is not None else None
