"""Issue 8, item 8: configuration. Production settings pass `check --deploy`, secrets come only from
the environment, API keys are stored hashed, and the rate limit per key holds across processes
(Redis-backed), shown with two gunicorn servers sharing one limit.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from http.client import HTTPConnection

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from profiles.models import ApiKey
from profiles.services import api_key_create
from tests.reliability.servers import ROOT, serving

REDIS_URL = "redis://127.0.0.1:6379/7"
PRODUCTION = {"DJANGO_SETTINGS_MODULE": "shop_ai.settings", "DEBUG": "0", "ALLOWED_HOSTS": "shop-ai.example.com",
              "SECRET_KEY": "x7Gq2-production-like-" + os.urandom(24).hex(), "DATABASE_URL": "sqlite:////tmp/unused.db",
              "BROKER_URL": "stub://"}


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "REDIS_URL")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**environment, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy_and_are_https_only(reliability):
    """One process with production settings: `check --deploy --fail-level WARNING`, then what a plain
    http request and one through the TLS proxy get."""
    probe = ("import io, json; from django.conf import settings as s; from django.core.management import "
             "call_command; from django.test import Client; out = io.StringIO(); "
             "call_command('check', deploy=True, fail_level='WARNING', stdout=out); "
             "c = Client(HTTP_HOST='shop-ai.example.com'); plain = c.get('/api/v1/personas'); "
             "tls = c.get('/api/v1/personas', headers={'X-Forwarded-Proto': 'https'}); "
             "print(json.dumps([out.getvalue().strip(), s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
             "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, plain.status_code, plain.get('Location'), "
             "tls.status_code, tls.get('Strict-Transport-Security')]))")
    result = _manage("shell", "-c", probe, env=PRODUCTION)
    reliability(passed=result.returncode == 0, notes="check --deploy --fail-level WARNING, DEBUG=0: " + (
        json.loads(result.stdout.splitlines()[-1])[0] if result.returncode == 0 else "failed"))
    assert result.returncode == 0, result.stdout + result.stderr  # check --deploy raises on any warning
    check, redirect, hsts, session_secure, csrf_secure, plain, location, tls, sts = json.loads(
        result.stdout.splitlines()[-1])
    assert check == "System check identified no issues (1 silenced)."  # W021: HSTS preload is the owner's call
    assert redirect and hsts >= 365 * 24 * 3600 and session_secure and csrf_secure
    assert plain == 301 and location == "https://shop-ai.example.com/api/v1/personas"
    assert tls == 401 and sts == "max-age=31536000; includeSubDomains"  # behind the proxy: no redirect, HSTS


@pytest.mark.parametrize("secret", [None, "", "change-me-to-a-long-random-string", "dev-only-insecure-key-change-me"])
def test_without_a_secret_key_production_refuses_to_start(secret):
    env = {**PRODUCTION, "SECRET_KEY": secret} if secret is not None else {
        k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr and "secrets.token_urlsafe" in result.stderr


@pytest.mark.django_db
def test_api_keys_are_stored_hashed(reliability, shop):
    issued = [api_key_create(shop=shop, label=f"key {n}") for n in range(3)]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued[0].raw_key}")
    assert client.get("/api/v1/personas").status_code == 200
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)  # every table of the database
    found = [key.raw_key for key in issued if key.raw_key in dump.getvalue() or key.raw_key[10:] in dump.getvalue()]
    reliability(sent=len(issued), stored=ApiKey.objects.filter(shop=shop).count(), passed=not found,
                notes="raw keys (or their secret part) found in a dump of every table: " + str(len(found)))
    assert found == []
    assert all(len(key.api_key.digest) == 64 and key.api_key.prefix == key.raw_key[:10] for key in issued)


# --------------------------------------------------------------------------------------------
# Rate limit per API key
# --------------------------------------------------------------------------------------------

@pytest.mark.django_db
@override_settings(API_RATE_LIMIT="3/min")
def test_the_rate_limit_counts_per_key_and_answers_429_in_json(shop, other_shop):
    caches["ratelimit"].clear()
    first, second = APIClient(), APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(shop=shop).raw_key}")
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(shop=other_shop).raw_key}")
    statuses = [first.get("/api/v1/personas").status_code for _ in range(4)]
    refused = first.get("/api/v1/personas")
    assert statuses == [200, 200, 200, 429] and refused.status_code == 429
    assert refused.json()["code"] == "throttled" and "available in" in refused.json()["detail"]
    assert 0 < int(refused["Retry-After"]) <= 60
    assert second.get("/api/v1/personas").status_code == 200  # another key has its own count
    assert APIClient().get("/api/v1/personas").status_code == 401  # no key: refused before counting


@pytest.mark.django_db
@override_settings(WEBHOOK_RATE_LIMIT="2/min", BROWSER_RATE_LIMIT="2/min")
def test_keyless_endpoints_count_per_client_address(shop):
    """Webhooks and the browser snippet have no API key: a flood from one address is refused (even
    unsigned, so it cannot use up anything of the shop's), other addresses keep their own count."""
    from profiles.connect.services import store_connection_for

    caches["ratelimit"].clear()
    key = store_connection_for(shop=shop).publishable_key
    flood, other = APIClient(REMOTE_ADDR="203.0.113.7"), APIClient(REMOTE_ADDR="198.51.100.9")

    def webhook(client):
        return client.post(f"/api/v1/webhooks/generic?shop={shop.id}", data=b"{}", content_type="application/json")

    def beacon(client):
        return client.post("/api/v1/browser/events", data=json.dumps({"key": key, "events": []}),
                           content_type="text/plain", headers={"Origin": "https://store.example.com"})

    assert [webhook(flood).status_code for _ in range(2)] == [401, 401]  # unsigned, refused, counted
    refused = webhook(flood)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert webhook(other).status_code == 401  # another address: its own count
    assert [beacon(flood).status_code for _ in range(2)] == [200, 200]  # browser counts apart from webhooks
    answer = beacon(flood)
    assert answer.status_code == 429 and answer["Access-Control-Allow-Origin"] == "https://store.example.com"


def _redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL} ({exc}); the shared rate limit needs it")
    return client


def _get(port: int, key: str) -> int:
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/api/v1/failed-events", headers={"Authorization": f"Bearer {key}"})
    status = connection.getresponse().status
    connection.close()
    return status


def _spread(ports: list[int], key: str, requests: int) -> list[int]:
    """Requests alternating over the servers, inside one hour window of the limit (retried once if an
    hour began during the run)."""
    for _ in range(2):
        hour = int(time.time() // 3600)
        statuses = [_get(ports[n % len(ports)], key) for n in range(requests)]
        if int(time.time() // 3600) == hour:
            return statuses
    raise AssertionError("two hour boundaries in two runs")


def _shared_limit(reliability, shop, tmp_path, *, control: bool):
    redis_db = _redis()
    redis_db.flushdb()  # db 7 is this test's
    key = api_key_create(shop=shop).raw_key
    limit, sent = 20, 30
    env = {"REDIS_URL": REDIS_URL, "API_RATE_LIMIT": f"{limit}/hour"}
    with serving(env=env, log=tmp_path / "one.log") as one, serving(env=env, log=tmp_path / "two.log") as two:
        shared = _spread([one, two], key, sent)
    redis_db.flushdb()
    local = []
    if control:  # the same without Redis: each process counts alone
        with serving(env={"API_RATE_LIMIT": f"{limit}/hour"}, log=tmp_path / "three.log") as three, \
                serving(env={"API_RATE_LIMIT": f"{limit}/hour"}, log=tmp_path / "four.log") as four:
            local = _spread([three, four], key, sent)
    accepted = shared.count(200)
    reliability(sent=sent, stored=accepted, errors_5xx=sum(s >= 500 for s in shared + local),
                passed=accepted == limit and shared.count(429) == sent - limit,
                notes=f"2 gunicorn processes, limit {limit}/hour: {accepted} accepted with Redis"
                      + (f", {local.count(200)} with each process counting alone" if control else ""))
    assert accepted == limit and shared.count(429) == sent - limit, shared
    assert shared[:limit] == [200] * limit  # the first 20, whichever process took them
    if control:
        assert local.count(200) == sent  # without Redis each process allows 20: the limit would be 40


@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_holds_across_processes_with_redis(reliability, shop, tmp_path):
    _shared_limit(reliability, shop, tmp_path, control=False)


@pytest.mark.reliability_full
@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_holds_across_processes_only_with_redis(reliability, shop, tmp_path):
    _shared_limit(reliability, shop, tmp_path, control=True)
