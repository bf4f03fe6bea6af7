"""A request limit per API key: a fixed-window counter in the `ratelimit` cache.

With REDIS_URL set that cache is Redis, so every gunicorn worker and every machine counts against
the same limit; without it (the SQLite demo) each process counts alone. Requests without an API
key (webhooks, the browser snippet) are not counted here.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from profiles.models import ApiKey

logger = logging.getLogger(__name__)

WINDOWS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def rate_parse(text: str) -> tuple[int, int] | None:
    """`"1000/s"` → (1000, 1); `"off"`, `""` or `"0"` → None (no limit)."""
    text = (text or "").strip().lower()
    if text in ("", "0", "off", "none"):
        return None
    count, _, unit = text.partition("/")
    if not count.isdigit() or unit not in WINDOWS:
        raise ImproperlyConfigured(f"API_RATE_LIMIT={text!r}: write requests per window such as 1000/s, "
                                   "6000/min or 100000/hour, or off.")
    return (int(count), WINDOWS[unit]) if int(count) else None


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        rate = rate_parse(settings.API_RATE_LIMIT)
        if rate is None or not isinstance(request.auth, ApiKey):
            return True
        limit, window = rate
        now = time.time()
        slot = int(now // window)
        self.retry_after = (slot + 1) * window - now
        try:
            count = _count(f"ratelimit:key:{request.auth.pk}:{window}:{slot}", window)
        except Exception:  # noqa: BLE001 - a cache outage must not take the API down with it
            logger.warning("Rate limit not counted: the ratelimit cache does not answer", exc_info=True)
            return True
        return count <= limit

    def wait(self) -> float:
        return self.retry_after


def _count(key: str, window: int) -> int:
    cache = caches["ratelimit"]
    cache.add(key, 0, timeout=window + 1)
    try:
        return cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        return 1
