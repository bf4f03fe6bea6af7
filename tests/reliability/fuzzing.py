"""Schemathesis against our own OpenAPI schema, in-process through the WSGI app.

`fuzz_api` walks every operation of `/api/v1/schema/` in positive and negative mode, with random
path ids and with ids of objects that exist, sends each case with a valid API key and, where the
operation takes one, again without a key and with a wrong one. It counts every request and every
5xx (with the exception behind it, from Django's `got_request_exception`), and runs schemathesis'
conformance checks (status code, content type, response schema, headers) on the valid-key answers.
"""

from __future__ import annotations

import sys
import traceback
from collections import Counter
from dataclasses import dataclass, field

import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

CONFORMANCE = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
               st_checks.response_schema_conformance, st_checks.response_headers_conformance]
UNAUTHENTICATED = {401, 403}


@dataclass
class FuzzReport:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # "<operation>: <exception> at <our frame>"
    mismatches: list[str] = field(default_factory=list)  # schema conformance failures, one line each
    auth_leaks: list[str] = field(default_factory=list)  # an unauthenticated call that was not 401/403

    @property
    def errors_5xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


def _our_frame(tb) -> str:
    frames = [f for f in traceback.extract_tb(tb) if "/site-packages/" not in f.filename]
    return f"{'/'.join(frames[-1].filename.rsplit('/', 2)[-2:])}:{frames[-1].lineno}" if frames else "?"


def fuzz_api(*, api_key: str, known_ids: dict[str, dict], examples: int) -> FuzzReport:
    """`known_ids`: operation label → path/query parameters of objects that exist (a second pass)."""
    app = get_wsgi_application()
    auth = {"Authorization": f"Bearer {api_key}"}
    report = FuzzReport()

    def note_exception(sender, request, **kwargs):
        kind, value, tb = sys.exc_info()
        report.server_errors.append(f"{request.method} {request.path[:60]}: {kind.__name__}: {str(value)[:160]} "
                                    f"at {_our_frame(tb)}")

    got_request_exception.connect(note_exception)
    # As Django's test client does: the test's transaction must outlive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app, headers=auth)
        for result in schema.get_all_operations():
            operation = result.ok()
            passes = [{}]
            if operation.label in known_ids:
                passes.append(known_ids[operation.label])
            for fixed in passes:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _fuzz_operation(operation, mode, fixed, auth, examples, report)
    finally:
        got_request_exception.disconnect(note_exception)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return report


def _fuzz_operation(operation, mode, fixed: dict, auth: dict, examples: int, report: FuzzReport) -> None:
    needs_key = bool(operation.definition.raw.get("security"))
    strategy = operation.as_strategy(mode, path_parameters=fixed.get("path"), query=fixed.get("query"))

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        headers = {name: value for name, value in (case.headers or {}).items() if name.lower() != "authorization"}
        case.headers = {**headers, **auth} if needs_key else headers
        response = _send(case, report)
        if mode is GenerationMode.POSITIVE:
            try:
                case.validate_response(response, checks=CONFORMANCE, headers=case.headers)
            except BaseException as failure:  # noqa: BLE001 - schemathesis raises a FailureGroup
                report.mismatches.append(f"{operation.label} [{response.status_code}]: "
                                         f"{' '.join(str(failure).split())[:300]}")
        if needs_key:
            wrong_keys = ({}, {"Authorization": "Bearer sk_not-a-key"},
                          {"Authorization": auth["Authorization"].replace("Bearer", "Token")})
            for wrong in wrong_keys:
                case.headers = {**headers, **wrong}
                refused = _send(case, report)
                if _refused_before_any_view(refused):
                    continue  # no URL pattern takes the path (a float for an int id), or a NUL in the URL
                if refused.status_code not in UNAUTHENTICATED or set(_json(refused)) != {"code", "detail"}:
                    report.auth_leaks.append(f"{operation.label} with {wrong or 'no key'}: {refused.status_code} "
                                             f"{refused.content[:120]!r}")

    run()


def _refused_before_any_view(response) -> bool:
    body = _json(response)
    return ((response.status_code == 404 and body.get("detail", "").startswith("No API endpoint at"))
            or (response.status_code == 400 and body.get("code") == "nul_character"))


def _json(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _send(case, report: FuzzReport):
    response = case.call()
    report.sent += 1
    report.statuses[response.status_code] += 1
    return response
