"""Read a JSON request body with a hard size cap, whatever Content-Length says.

Django reads at most Content-Length bytes; a chunked request has none, so its body is read
from the WSGI stream directly, and never more than the cap (+1 byte to notice the excess).
Numbers are parsed straight to Decimal so money is never a float.
"""

from __future__ import annotations

import json
from decimal import Decimal

from rest_framework import exceptions

from shop_ai.api_errors import PayloadTooLarge

READ_CHUNK = 64 * 1024


class MalformedBody(exceptions.ParseError):
    default_code = "malformed_json"


class IncompleteBody(exceptions.ParseError):
    """The client sent less than its Content-Length, or its connection broke, before the body ended.
    Nobody is left to read the answer, and nothing was sent in full: the request is not kept as a
    failed event (the client retries the whole request with the same event ids)."""

    default_code = "incomplete_body"


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body exceeds {limit} bytes; send at most 500 events per batch.")


def _read_capped(stream, limit: int) -> bytes:
    chunks, total = [], 0
    while True:
        try:
            chunk = stream.read(min(READ_CHUNK, limit + 1 - total))
        except OSError:  # connection reset mid-body (Django's UnreadablePostError, gunicorn's NoMoreData)
            raise IncompleteBody("The connection broke before the request body ended.") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)


def read_body(request, limit: int) -> bytes:
    django_request = getattr(request, "_request", request)
    meta = django_request.META
    declared = meta.get("CONTENT_LENGTH")
    if declared:
        try:
            length = int(declared)
        except ValueError:
            raise MalformedBody("Content-Length is not a number.") from None
        if length > limit:
            raise _too_large(limit)
        body = _read_capped(django_request, limit)
        if len(body) < length:
            raise IncompleteBody(f"The request body ended after {len(body)} of its {length} bytes (Content-Length).")
        return body
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and "wsgi.input" in meta:
        return _read_capped(meta["wsgi.input"], limit)
    return b""


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(body: bytes):
    if not body.strip():
        raise MalformedBody("The request body is empty; send a JSON object.")
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise MalformedBody("The request body is not UTF-8.") from None
    except (ValueError, RecursionError) as exc:
        raise MalformedBody(f"The request body is not valid JSON: {exc}") from None
