"""shop-ai settings: one module, read from the environment once (django-environ).

Defaults give the embedded set-up (SQLite file, dramatiq StubBroker with an in-process
worker). Production sets DATABASE_URL (postgres://), BROKER_URL (amqp:// or redis://),
SECRET_KEY, DEBUG=false and ALLOWED_HOSTS. See .env.example.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # never overrides variables already set

DEBUG = env.bool("DEBUG", default=True)
# Secrets come from the environment only: with DEBUG off there is no default key to fall back on.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default="")
if SECRET_KEY in ("", DEV_SECRET_KEY, "change-me-to-a-long-random-string"):
    if not DEBUG:
        raise environ.ImproperlyConfigured(
            "SECRET_KEY is not set (or is the example value) and DEBUG is off: set SECRET_KEY in the environment "
            "or .env to a long random string, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`.")
    SECRET_KEY = DEV_SECRET_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS, on by default when DEBUG is off. Behind a proxy that terminates TLS, Django learns that a
# request came in over https from the proxy's header (X-Forwarded-Proto; the proxy must set it and
# drop what clients send); SECURE_PROXY_SSL_HEADER= (empty) turns that off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="" if DEBUG else "HTTP_X_FORWARDED_PROTO")
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
# Joining the browsers' HSTS preload list is the domain owner's decision (SECURE_HSTS_PRELOAD=true).
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_dramatiq",
    "shop_ai",
    "profiles",
    "generation",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "shop_ai.middleware.refuse_nul_characters",
    # Sessions, users and messages: for pages, not for API calls (see shop_ai/middleware.py). CSRF
    # stays Django's own, which `check --deploy` looks for by name (DRF views are CSRF-exempt).
    "shop_ai.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "shop_ai.middleware.AuthenticationMiddleware",
    "shop_ai.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop_ai.urls"
WSGI_APPLICATION = "shop_ai.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'shop_ai.sqlite3'}")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the in-process worker and the web server share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Ingestion's few hot statements are prepared (profiles/ingestion/storage.py `_fetch_prepared`):
    # psycopg prepares only when asked (a threshold no query reaches by repetition; Django's own
    # cursors bind on the client and never prepare), and Postgres keeps one generic plan for them
    # instead of re-planning every call for its array parameters. Nothing else is prepared.
    # DB_PREPARED_STATEMENTS=false behind a pooler that refuses startup options or prepared
    # statements (PgBouncer in transaction mode before 1.21).
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            prepare_threshold=2**31 - 1, options="-c plan_cache_mode=force_generic_plan")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Ingestion limits (DESIGN §3). Requests are read with these caps whatever Content-Length says.
MAX_REQUEST_BYTES = 1024 * 1024
MAX_EVENT_BYTES = 32 * 1024
MAX_EVENTS_PER_BATCH = 500
EVENT_MAX_FUTURE_SECONDS = env.int("EVENT_MAX_FUTURE_SECONDS", default=24 * 3600)
EVENT_MAX_AGE_DAYS = env.int("EVENT_MAX_AGE_DAYS", default=5 * 365)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
MAX_PRODUCT_IMAGE_BYTES = 10 * 1024 * 1024
# Where shop-ai is reachable from outside (e.g. https://shop-ai.example.com): makes the image URLs of
# outbound webhooks absolute. Empty: they are paths.
PUBLIC_URL = env.str("PUBLIC_URL", default="")
# Outbound webhooks to localhost or private addresses (SSRF) are refused unless this is on.
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["profiles.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["profiles.api.auth.IsShopClient"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "shop_ai.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["profiles.api.throttling.ApiKeyRateThrottle"],
}

# Requests per API key and window (1000/s, 6000/min, 100000/hour; off for none). Counted in Redis
# when REDIS_URL is set, so the limit holds across gunicorn workers and machines; without it (the
# SQLite demo) each process counts in its own memory.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="1000/s")
# A shop's personas are re-clustered in full when the last fit is this old (0: only on drift), at
# the next refresh its events bring.
PERSONA_REFIT_DAYS = env.int("PERSONA_REFIT_DAYS", default=7)
# The keyless endpoints, per client address: signed store webhooks and the browser snippet's
# batches (a shopper's browser sends a batch every few seconds; a store a burst per import).
WEBHOOK_RATE_LIMIT = env.str("WEBHOOK_RATE_LIMIT", default="100/s")
BROWSER_RATE_LIMIT = env.str("BROWSER_RATE_LIMIT", default="20/s")
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": ({"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "shop-ai",
                   "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2}}
                  if REDIS_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                     "LOCATION": "ratelimit"}),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "shop-ai API",
    "DESCRIPTION": "Events in, personas and persona-drawn listings out, benefit reports for managers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "shop_ai.api_schema.closed_objects",
                             "shop_ai.api_schema.shared_errors"],
}


def _broker_settings(url: str) -> dict:
    """Map BROKER_URL onto django_dramatiq's broker settings."""
    middleware = [
        # Before Retries: its after-hooks see Retries' verdict. Counts crashes, records dead letters.
        "shop_ai.deliveries.DeliveryLedger",
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Retries",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
        # Actors read the message they run (generation claims its jobs by message id).
        "dramatiq.middleware.CurrentMessage",
    ]
    if url.startswith("stub://"):
        return {"BROKER": "dramatiq.brokers.stub.StubBroker", "OPTIONS": {}, "MIDDLEWARE": middleware}
    if url.startswith(("amqp://", "amqps://")):
        options = {"url": url, "confirm_delivery": True}
        return {"BROKER": "shop_ai.brokers.RetryingRabbitmqBroker", "OPTIONS": options, "MIDDLEWARE": middleware}
    if url.startswith(("redis://", "rediss://")):
        return {"BROKER": "shop_ai.brokers.RetryingRedisBroker", "OPTIONS": {"url": url}, "MIDDLEWARE": middleware}
    raise environ.ImproperlyConfigured(
        f"BROKER_URL {url!r} is not supported: use stub://, amqp://user:pass@host:5672/ or redis://host:6379/0"
    )


BROKER_URL = env.str("BROKER_URL", default="stub://")
DRAMATIQ_BROKER = _broker_settings(BROKER_URL)
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]
# A message that stopped its worker (SIGKILL, OOM) this many times in a row is dead-lettered, not run again.
TASK_MAX_CRASHES = env.int("TASK_MAX_CRASHES", default=3)
# Publishing retries this long through a broker blip before it gives up (and the sweeper takes over).
ENQUEUE_RETRY_SECONDS = env.float("ENQUEUE_RETRY_SECONDS", default=10.0)
# A queued generation job whose message was sent this long ago counts as lost: the sweeper sends it again.
GENERATION_RESEND_AFTER_SECONDS = env.float("GENERATION_RESEND_AFTER_SECONDS", default=900.0)
# Stored events are announced to the profiles queue (`customers_changed`) by each process once per
# this many seconds, one message per shop, not one per request (profiles/ingestion/announcements.py);
# 0: one message per batch, sent at commit.
EVENT_ANNOUNCE_SECONDS = env.float("EVENT_ANNOUNCE_SECONDS", default=0.2)
# With the StubBroker nothing else would consume messages, so the web process runs a worker.
EMBEDDED_WORKER = env.bool("EMBEDDED_WORKER", default=BROKER_URL.startswith("stub://"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pika": {"level": "WARNING"}, "jieba": {"level": "WARNING"}},
}

# Generation (DESIGN §5.2). Workers on the `gpu` queue load the generator once per process.
EXPOSURE_BACKGROUND_FLUSH = env.bool("EXPOSURE_BACKGROUND_FLUSH", default=True)
GENERATION_BACKEND = env.str("GENERATION_BACKEND", default="upcdm")
GENERATION_MODEL_DIR = env.path("GENERATION_MODEL_DIR", default=BASE_DIR / "generation" / "weights")
# sd-controlnet only: a local BLIP-2 folder for base captions; empty: the product title is the caption.
GENERATION_CAPTIONER_DIR = env.str("GENERATION_CAPTIONER_DIR", default="")
GENERATION_STEPS = env.int("GENERATION_STEPS", default=20)
GENERATION_MAX_TRIES = env.int("GENERATION_MAX_TRIES", default=3)
# Long side of a listing image in px (1024-2048): the product's own pixels over the persona's scene.
LISTING_LONG_SIDE = env.int("LISTING_LONG_SIDE", default=1024)
# Intra-op threads for the model; 0 keeps torch's default (all cores). Use 1 on a shared CPU.
GENERATION_TORCH_THREADS = env.int("GENERATION_TORCH_THREADS", default=0)
