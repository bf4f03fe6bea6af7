"""Test settings: the same module, with fast hashing and a throwaway media dir.

DATABASE_URL and BROKER_URL still come from the environment, so `make test` can run the
suite on Postgres + RabbitMQ and again on SQLite + StubBroker.
"""

import os
import tempfile

from shop_ai.settings import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="shop-ai-test-media-")
EMBEDDED_WORKER = False
# Tests flush the storefront's exposure log themselves: a background thread would write outside
# the test's database access (and lose its batch at the test's end).
EXPOSURE_BACKGROUND_FLUSH = False
# Each ingested batch sends its own `customers_changed` at commit, so a test sees it at once
# (tests of the coalescing set it themselves).
EVENT_ANNOUNCE_SECONDS = 0
# The webhook tests' receivers listen on 127.0.0.1; tests/integrations turn this off to check the refusal.
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
# Every test client is 127.0.0.1: the keyless endpoints' per-address limits are tested with overrides.
WEBHOOK_RATE_LIMIT = BROWSER_RATE_LIMIT = "1000/s"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Two test runs on one machine (say, two people or two checkouts) each set their own suffix so
# they do not drop each other's test database.
_TEST_DB_SUFFIX = os.environ.get("SHOP_AI_TEST_DB_SUFFIX", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory, so threaded tests get real locking and WAL like the demo.
    _name = f"test-shop-ai{'-' + _TEST_DB_SUFFIX if _TEST_DB_SUFFIX else ''}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / _name)}  # noqa: F405
elif _TEST_DB_SUFFIX:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_TEST_DB_SUFFIX}"}  # noqa: F405
