"""The webhook signature, both ways: stores sign what they send to shop-ai, receivers check what
shop-ai sends them. Standard library only, so a store can vendor this file.

    X-ShopAI-Webhook-Id:  the sender's id of this delivery (the same on every retry)
    X-ShopAI-Timestamp:   Unix seconds when this attempt was signed
    X-ShopAI-Signature:   v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The timestamp is inside the signed text, so a captured request cannot be replayed later with a fresh
timestamp; receivers refuse timestamps further than `TOLERANCE_SECONDS` from their clock, and
remember webhook ids to refuse replays inside that window.

Shopify's own signature is accepted too (`shopify_webhook_verify`), so a Shopify store can send its
webhooks straight to shop-ai: X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256(secret, raw body), with
X-Shopify-Webhook-Id. It signs no timestamp; replays are stopped by the remembered webhook ids.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

WEBHOOK_ID_HEADER = "X-ShopAI-Webhook-Id"
TIMESTAMP_HEADER = "X-ShopAI-Timestamp"
SIGNATURE_HEADER = "X-ShopAI-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300
SHOPIFY_HMAC_HEADER = "X-Shopify-Hmac-Sha256"
SHOPIFY_WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"


class SignatureError(ValueError):
    """The request is not signed by the holder of the secret, or not recently. `code` is stable."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def webhook_headers(*, secret: str, body: bytes, webhook_id: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers to send with `body` (the exact bytes that go on the wire)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        WEBHOOK_ID_HEADER: webhook_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SCHEME}={signature(secret=secret, timestamp=timestamp, body=body)}",
        "Content-Type": "application/json",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _offered_signatures(header: str) -> list[str]:
    # "v1=abc, v1=def": a sender rotating its secret may sign with both, old and new.
    offered = []
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and value:
            offered.append(value)
    return offered


def webhook_verify(*, secrets: list[str], headers: Mapping[str, str], body: bytes, now: float | None = None,
                   tolerance: int = TOLERANCE_SECONDS) -> str:
    """Check a delivery; return its webhook id. Raises `SignatureError` saying what is wrong.
    `secrets`: the current secret, and during a rotation the previous one too."""
    webhook_id, stamp, offered = (_header(headers, name) for name in
                                  (WEBHOOK_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    missing = [name for name, value in ((WEBHOOK_ID_HEADER, webhook_id), (TIMESTAMP_HEADER, stamp),
                                        (SIGNATURE_HEADER, offered)) if not value]
    if missing:
        raise SignatureError("missing_signature", f"Send the headers {', '.join(missing)} (see the README, "
                                                  "“Signed webhooks”).")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("bad_timestamp", f"{TIMESTAMP_HEADER} must be Unix seconds, e.g. 1790000000.") from None
    skew = (time.time() if now is None else now) - timestamp
    if abs(skew) > tolerance:
        raise SignatureError("stale_timestamp", f"{TIMESTAMP_HEADER} is {abs(int(skew))} s "
                                                f"{'old' if skew > 0 else 'in the future'}; the limit is "
                                                f"{tolerance} s. Sign each attempt when you send it, and check "
                                                "the sender's clock.")
    expected = [signature(secret=secret, timestamp=timestamp, body=body) for secret in secrets if secret]
    # compare_digest against every candidate: no early exit that would tell which part matched
    matches = [hmac.compare_digest(candidate, given) for candidate in expected
               for given in _offered_signatures(offered)]
    if not any(matches):
        raise SignatureError("bad_signature", f"{SIGNATURE_HEADER} does not match: sign "
                                              "\"<timestamp>.<raw body>\" with HMAC-SHA256 and the shop's "
                                              "webhook secret, hex-encoded, as v1=<hex>.")
    return webhook_id


def shopify_signature(*, secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def is_shopify_signed(headers: Mapping[str, str]) -> bool:
    return bool(_header(headers, SHOPIFY_HMAC_HEADER))


def shopify_webhook_verify(*, secret: str, headers: Mapping[str, str], body: bytes) -> str:
    """Check a delivery Shopify signed itself; return its webhook id. Raises `SignatureError`."""
    offered, webhook_id = _header(headers, SHOPIFY_HMAC_HEADER) or "", _header(headers, SHOPIFY_WEBHOOK_ID_HEADER)
    if not webhook_id:
        raise SignatureError("missing_signature", f"Send the header {SHOPIFY_WEBHOOK_ID_HEADER} (Shopify does).")
    if not secret:
        raise SignatureError("no_shopify_secret", "This delivery is signed by Shopify, but the shop has no Shopify "
                                                  "signing secret yet: paste the one Shopify shows for webhooks "
                                                  "into the dashboard settings.")
    if not hmac.compare_digest(shopify_signature(secret=secret, body=body), offered.strip()):
        raise SignatureError("bad_signature", f"{SHOPIFY_HMAC_HEADER} does not match: check that the Shopify "
                                              "signing secret in the dashboard settings is the one Shopify shows "
                                              "for these webhooks, and that nothing rewrites the body on the way.")
    return webhook_id
