"""Per-event validation, written lean on purpose.

DRF serializers in `many=True` mode cost about 4x this on the ingest path (issue 2's
benchmark), so events are checked by plain functions; `profiles.api.serializers.EventSchema`
documents the same rules for the OpenAPI schema and must be kept in step with this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

EVENT_TYPES = ("view", "add_to_cart", "purchase", "refund", "review")
NEEDS_PRODUCT = frozenset({"view", "add_to_cart", "purchase", "refund"})
NEEDS_PRICE = frozenset({"purchase", "refund"})
HAS_QUANTITY = frozenset({"add_to_cart", "purchase", "refund"})
KNOWN_FIELDS = frozenset(
    {"event_id", "type", "customer_id", "product_id", "occurred_at", "sent_at",
     "quantity", "unit_price", "currency", "text", "rating", "properties"}
)
MAX_ID_CHARS = 100
MAX_TEXT_CHARS = 5000
MAX_QUANTITY = 10_000
MAX_UNIT_PRICE = Decimal("100000000")
NUL_REASON = "must not contain NUL (\\u0000) characters"
# Minor units per currency; anything not listed has two decimals.
CURRENCY_DECIMALS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3}


@dataclass(slots=True)
class CleanEvent:
    event_id: str
    type: str
    customer_id: str
    product_id: str | None
    occurred_at: datetime
    client_occurred_at: datetime
    quantity: int | None
    unit_price: Decimal | None
    currency: str
    text: str
    rating: int | None
    properties: dict | None


@dataclass(slots=True)
class Limits:
    now: datetime
    shop_currency: str
    max_future: timedelta
    max_age: timedelta
    max_event_bytes: int


def parse_timestamp(value) -> datetime:
    """ISO 8601; a time without a zone is taken as UTC (as Segment does)."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string, e.g. 2026-11-22T08:30:00Z")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp, e.g. 2026-11-22T08:30:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def has_nul(value) -> bool:
    """A NUL character anywhere in a string, key or nested value (PostgreSQL stores none)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def _identifier(value, field: str, errors: dict) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors[field] = "must be a string (or an integer) identifier"
        return None
    text = str(value).strip()
    if not text:
        errors[field] = "must not be empty"
    elif "\x00" in text:
        errors[field] = NUL_REASON
    elif len(text) > MAX_ID_CHARS:
        errors[field] = f"must be at most {MAX_ID_CHARS} characters"
    else:
        return text
    return None


def _quantity(value, errors: dict) -> int | None:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            value = int(value)
        else:
            errors["quantity"] = "must be a whole number"
            return None
    if value < 1:
        errors["quantity"] = "must be at least 1"
    elif value > MAX_QUANTITY:
        errors["quantity"] = f"must be at most {MAX_QUANTITY}"
    else:
        return value
    return None


def _money(value, currency: str, errors: dict) -> Decimal | None:
    """Money arrives as a JSON number (parsed straight to Decimal, never float) or a string."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        errors["unit_price"] = "must be a decimal number or a string such as \"19.90\""
        return None
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        errors["unit_price"] = f"{value!r} is not a decimal number"
        return None
    if not amount.is_finite():
        errors["unit_price"] = "must be a finite number"
        return None
    decimals = CURRENCY_DECIMALS.get(currency, 2)
    if amount < 0:
        errors["unit_price"] = "must not be negative"
    elif amount > MAX_UNIT_PRICE:  # before quantize, which cannot hold more than 28 digits
        errors["unit_price"] = f"must be at most {MAX_UNIT_PRICE}"
    elif amount.as_tuple().exponent < -decimals and amount != amount.quantize(Decimal(1).scaleb(-decimals)):
        errors["unit_price"] = f"has more than {decimals} decimal places for {currency}"
    else:
        return amount
    return None


def _event_size_error(raw: dict, limits: Limits) -> str | None:
    # Only free-text fields can make an event big; the rest are bounded by their own checks.
    if "text" not in raw and "properties" not in raw:
        return None
    size = len(json.dumps(raw, ensure_ascii=False, default=str).encode())
    if size > limits.max_event_bytes:
        return f"event is {size} bytes; the limit is {limits.max_event_bytes} bytes"
    return None


def _times(raw: dict, limits: Limits, errors: dict) -> tuple[datetime, datetime] | None:
    """Return (corrected, as sent). With `sent_at`, the client clock's skew is removed."""
    try:
        client_time = parse_timestamp(raw.get("occurred_at"))
    except ValueError as exc:
        errors["occurred_at"] = "is required" if raw.get("occurred_at") is None else str(exc)
        return None
    corrected = client_time
    if raw.get("sent_at") is not None:
        try:
            sent_at = parse_timestamp(raw["sent_at"])
        except ValueError as exc:
            errors["sent_at"] = str(exc)
            return None
        try:
            corrected = client_time + (limits.now - sent_at)
        except OverflowError:  # e.g. occurred_at 0001-01-01 sent_at 9999-12-31
            errors["sent_at"] = "is too far from occurred_at; check the client clock"
            return None
    if corrected > limits.now + limits.max_future:
        errors["occurred_at"] = "is too far in the future; check the client clock or send `sent_at`"
    elif corrected < limits.now - limits.max_age:
        errors["occurred_at"] = f"is older than {limits.max_age.days} days"
    else:
        return corrected, client_time
    return None


def validate_event(raw, limits: Limits) -> tuple[CleanEvent | None, dict]:
    """Check one event. Returns (event, {}) or (None, {field: reason})."""
    if not isinstance(raw, dict):
        return None, {"event": "must be a JSON object"}
    errors: dict[str, str] = {}
    too_big = _event_size_error(raw, limits)
    if too_big:
        return None, {"event": too_big}
    unknown = sorted(set(raw) - KNOWN_FIELDS)
    if unknown:
        errors["event"] = f"unknown field(s) {', '.join(unknown)}; put custom data under `properties`"

    event_id = None
    if raw.get("event_id") is None:
        errors["event_id"] = "is required"
    else:
        event_id = _identifier(raw["event_id"], "event_id", errors)
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        errors["type"] = f"must be one of {', '.join(EVENT_TYPES)}"
        kind = None  # a list or an object here would not even hash in the checks below
    customer_id = None
    if raw.get("customer_id") is None:
        errors["customer_id"] = "is required"
    else:
        customer_id = _identifier(raw["customer_id"], "customer_id", errors)
    product_id = None
    if raw.get("product_id") is not None:
        product_id = _identifier(raw["product_id"], "product_id", errors)
    elif kind in NEEDS_PRODUCT:
        errors["product_id"] = f"is required for {kind} events"
    times = _times(raw, limits, errors)

    currency = raw.get("currency") or limits.shop_currency
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        errors["currency"] = "must be a three-letter ISO 4217 code such as CNY"
    elif currency.upper() != limits.shop_currency:
        errors["currency"] = f"{currency} differs from the shop's currency {limits.shop_currency}"
    currency = limits.shop_currency

    quantity = unit_price = None
    if kind in HAS_QUANTITY:
        quantity = _quantity(raw.get("quantity"), errors)
    elif raw.get("quantity") is not None:
        errors["quantity"] = "is only allowed on add_to_cart, purchase and refund events"
    if kind in NEEDS_PRICE:
        if raw.get("unit_price") is None:
            errors["unit_price"] = f"is required for {kind} events"
        else:
            unit_price = _money(raw["unit_price"], currency, errors)
    elif raw.get("unit_price") is not None:
        errors["unit_price"] = "is only allowed on purchase and refund events"

    text = raw.get("text")
    if kind == "review":
        if not isinstance(text, str) or not text.strip():
            errors["text"] = "is required for review events and must be a non-empty string"
        elif len(text) > MAX_TEXT_CHARS:
            errors["text"] = f"must be at most {MAX_TEXT_CHARS} characters"
        elif "\x00" in text:
            errors["text"] = NUL_REASON
    elif text is not None:
        errors["text"] = "is only allowed on review events"
    rating = raw.get("rating")
    if rating is not None and (kind != "review" or isinstance(rating, bool) or not isinstance(rating, int)
                               or not 1 <= rating <= 5):
        errors["rating"] = "must be a whole number from 1 to 5, on review events only"
    properties = raw.get("properties")
    if properties is not None and not isinstance(properties, dict):
        errors["properties"] = "must be a JSON object"
    elif has_nul(properties):
        errors["properties"] = NUL_REASON

    if errors:
        return None, errors
    return CleanEvent(
        event_id=event_id, type=kind, customer_id=customer_id, product_id=product_id,
        occurred_at=times[0], client_occurred_at=times[1], quantity=quantity, unit_price=unit_price,
        currency=currency, text=text.strip() if kind == "review" else "", rating=rating,
        properties=properties,
    ), {}
