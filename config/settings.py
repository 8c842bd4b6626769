"""Django settings for promidata-sync.

All values come from the environment through ``config.env.env``; see ``.env.example`` and the
README for the full list. Defaults are safe for a developer's machine: SQLite and local files
under ``var/``, no broker, DEBUG off.
"""

import socket
from pathlib import Path
from urllib.parse import urlsplit

from config.env import BASE_DIR, env

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The development key is public (it is in this file): the web application refuses to start
# with it, or with none, when DEBUG is off (config/security.py), and check --deploy fails.
DEV_SECRET_KEY = "insecure-development-key-set-DJANGO_SECRET_KEY-in-production"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# HTTPS hardening for production (docs/deployment.md lists the values that pass check
# --deploy). Off by default: the quick start and the tests serve plain HTTP on localhost.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    # Behind a proxy that terminates TLS and sets X-Forwarded-Proto (and strips it from clients).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Django's debug page, without our secrets (the import URL's GUID, Redis passwords...).
DEFAULT_EXCEPTION_REPORTER = "promidata_sync.debug_page.SecretsReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "promidata_sync.debug_page.SecretsFilter"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_dramatiq",
    "ninja",
    "catalog",
    "promidata_sync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS and JS) from STATIC_ROOT, with DEBUG off too: run
    # `collectstatic` at each deployment. Right after SecurityMiddleware, as WhiteNoise asks.
    "promidata_sync.static_files.StaticFilesMiddleware",
    "promidata_sync.middleware.RefuseNulCharacters",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# --- Database ---------------------------------------------------------------------------------
# Default: a SQLite file under var/, so the project runs with nothing but Python.
VAR_DIR = Path(env.str("PROMIDATA_VAR_DIR", default=str(BASE_DIR / "var")))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if "DATABASE_URL" not in env.ENVIRON:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/ yet
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the admin read while a sync writes; IMMEDIATE transactions take the write lock
    # up front, so concurrent writers (worker threads and processes) wait for each other
    # within the timeout instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# A kept connection is checked before it is reused (a PostgreSQL restart breaks them all).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Worker processes keep each thread's database connection this long (seconds) instead of
# opening one per job: a new PostgreSQL connection costs more than a small job's queries.
PROMIDATA_WORKER_CONN_MAX_AGE = env.int("PROMIDATA_WORKER_CONN_MAX_AGE", default=600)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Static and media files -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    # Media keys are content-addressed: the same key always holds the same bytes, so a write
    # may overwrite (a renamed copy would break the addressing).
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"allow_overwrite": True},
    },
    # collectstatic writes a gzip copy of each file next to it; WhiteNoise serves that one to
    # clients that take it. No manifest: pages still render before collectstatic has run.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Django's own view serves MEDIA_ROOT only when this is on (default: with DEBUG). In
# production the web server (nginx, docs/deployment.md) or the S3 bucket serves media.
PROMIDATA_SERVE_MEDIA = env.bool("PROMIDATA_SERVE_MEDIA", default=DEBUG)
# Setting AWS_STORAGE_BUCKET_NAME moves media to S3 or an S3-compatible store (Cloudflare R2,
# MinIO) through django-storages; docs/storage.md has examples. Read into local names only:
# module-level AWS_* settings would become silent fallbacks for every S3Storage instance.
_media_bucket = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if _media_bucket:
    from django.core.exceptions import ImproperlyConfigured

    _s3_keys = {
        name: env.str(name, default="") for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    if not all(_s3_keys.values()):
        _missing = " and ".join(name for name, value in _s3_keys.items() if not value)
        raise ImproperlyConfigured(
            f"AWS_STORAGE_BUCKET_NAME is set ({_media_bucket!r}) but {_missing} "
            f"{'is' if ' and ' not in _missing else 'are'} not: set the bucket's access keys, "
            "or unset AWS_STORAGE_BUCKET_NAME to keep media on the local disk"
        )
    _media_domain = env.str("AWS_S3_CUSTOM_DOMAIN", default="")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _media_bucket,
            "access_key": _s3_keys["AWS_ACCESS_KEY_ID"],
            "secret_key": _s3_keys["AWS_SECRET_ACCESS_KEY"],
            # Empty means AWS itself; R2 needs https://<account id>.r2.cloudflarestorage.com.
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            # R2 takes "auto"; AWS needs the bucket's region (e.g. eu-central-1).
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            # "path" for stores without virtual-host buckets (MinIO, loopback); empty = boto's.
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            "custom_domain": _media_domain or None,
            # A public custom domain needs no signed URLs; a private bucket does.
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=not _media_domain),
            # Keys are content-addressed: the same key always holds the same bytes.
            "file_overwrite": True,
            "default_acl": None,  # the bucket's own policy decides; R2 has no object ACLs
            # An object never changes under its key, so caches may keep it for good.
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------------------------
# Every line, whoever logs it (Dramatiq included), is redacted: feed URLs masked, secrets
# replaced. Tracebacks go to PROMIDATA_LOG_FILE; the console gets one line per problem (with
# an empty PROMIDATA_LOG_FILE, the console gets the tracebacks too).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FILE = env.str("PROMIDATA_LOG_FILE", default=str(VAR_DIR / "log" / "promidata-sync.log"))
if LOG_FILE:
    try:
        Path(LOG_FILE).parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only deployment: the console keeps the tracebacks
        LOG_FILE = ""
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "console": {
            "()": "promidata_sync.log_format.RedactingFormatter",
            "format": _LOG_FORMAT,
            "tracebacks": not LOG_FILE,
        },
        "full": {"()": "promidata_sync.log_format.RedactingFormatter", "format": _LOG_FORMAT},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "console"},
        **(
            {
                "file": {
                    "class": "logging.handlers.WatchedFileHandler",  # logrotate-friendly
                    "filename": LOG_FILE,
                    "formatter": "full",
                    "delay": True,
                }
            }
            if LOG_FILE
            else {}
        ),
    },
    "root": {"handlers": ["console", *(["file"] if LOG_FILE else [])], "level": "WARNING"},
    "loggers": {
        "promidata_sync": {
            "handlers": ["console", *(["file"] if LOG_FILE else [])],
            "level": LOG_LEVEL,
            "propagate": False,
        },
        "django": {"level": "WARNING"},
        # pika logs every failed connect with socket reprs; Dramatiq and broker_check already
        # say it in one line each.
        "pika": {"level": "CRITICAL"},
    },
}

# --- Promidata feed ---------------------------------------------------------------------------
# The profile's Import.txt URL. It holds the profile GUID, which is the only access control
# Promidata has: treat it as a secret (it is never logged whole).
PROMIDATA_IMPORT_URL = env.str("PROMIDATA_IMPORT_URL", default="")
# Preferred price regions, best first; a variant without any of them uses its first region.
PROMIDATA_PRICE_REGIONS = env.list("PROMIDATA_PRICE_REGIONS", default=["EURO", "DEU", "BENELUX"])
# Preferred languages, best first, for single-language fields (colour, size).
PROMIDATA_LANGUAGES = env.list("PROMIDATA_LANGUAGES", default=["en", "de", "nl", "fr"])
# Hosts that feed URLs (family JSON, CAT.csv, images) may point to. Default: the import URL's
# host plus Promidata's known hosts.
PROMIDATA_KNOWN_HOSTS = [
    "promi-dl.de",
    "images.promi-dl.de",
    "promidatabase.s3.eu-central-1.amazonaws.com",
]
_import_host = urlsplit(PROMIDATA_IMPORT_URL).hostname if PROMIDATA_IMPORT_URL else None
PROMIDATA_ALLOWED_HOSTS = env.list(
    "PROMIDATA_ALLOWED_HOSTS",
    default=[*([_import_host] if _import_host else []), *PROMIDATA_KNOWN_HOSTS],
)
PROMIDATA_HTTP_TIMEOUT_SECONDS = env.float("PROMIDATA_HTTP_TIMEOUT_SECONDS", default=30.0)
PROMIDATA_FETCH_CONCURRENCY = env.int("PROMIDATA_FETCH_CONCURRENCY", default=8)
# Attempts per request for transient failures (timeouts, 429, 5xx), with exponential backoff.
PROMIDATA_HTTP_ATTEMPTS = env.int("PROMIDATA_HTTP_ATTEMPTS", default=4)
PROMIDATA_HTTP_BACKOFF_SECONDS = env.float("PROMIDATA_HTTP_BACKOFF_SECONDS", default=1.0)
PROMIDATA_HTTP_BACKOFF_MAX_SECONDS = env.float("PROMIDATA_HTTP_BACKOFF_MAX_SECONDS", default=30.0)
PROMIDATA_USER_AGENT = env.str("PROMIDATA_USER_AGENT", default="promidata-sync/0.1")
# The stock service's URL of one variant, "{Sku}" standing for its URL-quoted SKU (the
# Shopware plugin's form: https://stock.promidata.com/stockinfo/{Sku}). Empty: stock is off.
# Its host is allowed like the import URL's, and checked by the same URL rules.
PROMIDATA_STOCK_URL_TEMPLATE = env.str("PROMIDATA_STOCK_URL_TEMPLATE", default="")
# Response size limits (bytes): a feed that sends more is refused, not read to the end.
PROMIDATA_MAX_INDEX_BYTES = env.int("PROMIDATA_MAX_INDEX_BYTES", default=100 * 1024 * 1024)
PROMIDATA_MAX_CATEGORIES_BYTES = env.int("PROMIDATA_MAX_CATEGORIES_BYTES", default=10 * 1024**2)
PROMIDATA_MAX_FAMILY_BYTES = env.int("PROMIDATA_MAX_FAMILY_BYTES", default=20 * 1024 * 1024)
PROMIDATA_MAX_IMAGE_BYTES = env.int("PROMIDATA_MAX_IMAGE_BYTES", default=25 * 1024 * 1024)
PROMIDATA_MAX_IMAGE_PIXELS = env.int("PROMIDATA_MAX_IMAGE_PIXELS", default=40_000_000)
# A family with more children than this is refused whole (the largest real one has 48).
PROMIDATA_MAX_CHILDREN_PER_FAMILY = env.int("PROMIDATA_MAX_CHILDREN_PER_FAMILY", default=1000)
# Overall time one download may take, on top of the per-read timeout: a server that dribbles
# a byte a second never trips a read timeout. Sized for the largest family (20 MB) at 100 KB/s.
PROMIDATA_HTTP_DEADLINE_SECONDS = env.float("PROMIDATA_HTTP_DEADLINE_SECONDS", default=300.0)
# Feed hosts must resolve to public (globally routable) addresses. Networks listed here (CIDR)
# are allowed besides, e.g. an internal mirror; the tests' loopback feed uses 127.0.0.0/8.
PROMIDATA_ALLOWED_NETWORKS = env.list("PROMIDATA_ALLOWED_NETWORKS", default=[])
# Family JSON files parsed at once in one process: parsing is where memory goes (a 20 MB file
# of tiny objects takes hundreds of MB while it is decoded), not fetching.
PROMIDATA_PARSE_CONCURRENCY = env.int("PROMIDATA_PARSE_CONCURRENCY", default=2)
# Images decoded at once per process: one of 40 megapixels takes 160 MB while it is checked.
PROMIDATA_IMAGE_DECODE_CONCURRENCY = env.int("PROMIDATA_IMAGE_DECODE_CONCURRENCY", default=2)
# A supplier whose Import.txt entry count falls below this share of its last complete run
# deactivates nothing unless the sync is forced (a truncated or half-published feed).
PROMIDATA_MASS_DEACTIVATION_RATIO = env.float("PROMIDATA_MASS_DEACTIVATION_RATIO", default=0.5)

# --- Runs that nobody finishes ----------------------------------------------------------------
# A run worked on inside one process (direct mode, or queue mode without Redis) records its
# owner (host, pid) and a heartbeat. Another process that finds it with its owner gone, or
# silent for PROMIDATA_RUN_DEAD_AFTER_SECONDS, finishes it as failed ("process died").
PROMIDATA_RUN_HEARTBEAT_SECONDS = env.float("PROMIDATA_RUN_HEARTBEAT_SECONDS", default=10.0)
PROMIDATA_RUN_DEAD_AFTER_SECONDS = env.float("PROMIDATA_RUN_DEAD_AFTER_SECONDS", default=300.0)
# Queue runs whose pending work has no message left in the broker (a Redis that lost its data,
# workers killed together) and that made no progress for this long are reconciled: their
# pending items are enqueued again (work the broker still holds is never sent twice). The
# worker supervisor does it every interval, with the broker's maintenance (a dead worker's
# messages back on their queues) and the job records of jobs no live worker holds;
# promidata_reconcile does it from cron. Defaults: lost work is re-sent within 75 s, a dead
# worker's messages requeued within 45 s.
PROMIDATA_RECONCILE_AFTER_SECONDS = env.float("PROMIDATA_RECONCILE_AFTER_SECONDS", default=60.0)
PROMIDATA_RECONCILE_INTERVAL_SECONDS = env.float(
    "PROMIDATA_RECONCILE_INTERVAL_SECONDS", default=15.0
)
# promidata_sync --wait gives up (exit 1) after this long, so a cron job never hangs.
PROMIDATA_WAIT_TIMEOUT_SECONDS = env.float("PROMIDATA_WAIT_TIMEOUT_SECONDS", default=6 * 3600.0)
# The supplier stage holds a lease in Redis for its supplier, renewed while it runs: a killed
# worker's lease lapses after this many seconds instead of blocking the supplier.
PROMIDATA_SUPPLIER_LEASE_SECONDS = env.float("PROMIDATA_SUPPLIER_LEASE_SECONDS", default=30.0)

# --- HTTP API ---------------------------------------------------------------------------------
# Programs send "Authorization: Bearer <key>" with an API key created in the admin (stored
# hashed, shown once, scoped). PROMIDATA_API_TOKEN, when set, is one more key holding every
# scope (the shared token of earlier versions); empty (the default) turns it off.
PROMIDATA_API_TOKEN = env.str("PROMIDATA_API_TOKEN", default="")
# Requests per minute per key (a key's own limit in the admin overrides it); 0: unlimited.
PROMIDATA_API_REQUESTS_PER_MINUTE = env.int("PROMIDATA_API_REQUESTS_PER_MINUTE", default=600)
# GET /metrics (Prometheus) takes "Authorization: Bearer <this token>", or an API key with the
# scope metrics:read; empty (the default): keys only (docs/metrics.md).
PROMIDATA_METRICS_TOKEN = env.str("PROMIDATA_METRICS_TOKEN", default="")
# Django's cache holds the throttle counts: local memory counts per process; a Redis URL
# (redis://host:6379/2) shares them between web processes.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# A failed CSRF check under api/ answers {"error": ...} like the rest of the API.
CSRF_FAILURE_VIEW = "promidata_sync.http.errors.csrf_failure"

# --- Webhooks ---------------------------------------------------------------------------------
# Signed POSTs to the admin's webhook endpoints when a run finishes (docs/webhooks.md).
# Receivers must resolve to public addresses; networks listed here (CIDR) are allowed besides,
# and only they are reached over plain http. Separate from PROMIDATA_ALLOWED_NETWORKS on
# purpose: opening an internal feed mirror's network to the fetcher must not let a URL typed
# into the admin post to every other service on that network.
PROMIDATA_WEBHOOK_ALLOWED_NETWORKS = env.list("PROMIDATA_WEBHOOK_ALLOWED_NETWORKS", default=[])
# Seconds one attempt may take in all (connect, send, answer); redirects are not followed.
PROMIDATA_WEBHOOK_TIMEOUT_SECONDS = env.float("PROMIDATA_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Attempts before a delivery is failed; the wait between two doubles from the first value up
# to the second (seconds): with the defaults, 8 attempts over about two hours.
PROMIDATA_WEBHOOK_MAX_ATTEMPTS = env.int("PROMIDATA_WEBHOOK_MAX_ATTEMPTS", default=8)
PROMIDATA_WEBHOOK_BACKOFF_SECONDS = env.float("PROMIDATA_WEBHOOK_BACKOFF_SECONDS", default=60.0)
PROMIDATA_WEBHOOK_BACKOFF_MAX_SECONDS = env.float(
    "PROMIDATA_WEBHOOK_BACKOFF_MAX_SECONDS", default=3600.0
)

# --- Notifications (docs/notifications.md) ---------------------------------------------------
# E-mail of the notification rules: smtp://user:password@host:25, smtp+tls://…:587 or
# smtp+ssl://…:465 (percent-encode an @ in the password), consolemail:// to print them.
# Unset: nothing is sent and each message records "e-mail is not configured".
_email = env.email_url("EMAIL_URL", default="dummymail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
# Seconds one SMTP conversation may take: a mail server that hangs never holds up a worker.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="promidata-sync@localhost")
# This site's address (https://sync.example.com), for links to run pages in messages.
PROMIDATA_SITE_URL = env.str("PROMIDATA_SITE_URL", default="").rstrip("/")
# Attempts at one notification before it stays failed (the admin's "Send again" adds one).
PROMIDATA_NOTIFY_MAX_ATTEMPTS = env.int("PROMIDATA_NOTIFY_MAX_ATTEMPTS", default=5)

# --- Queue (Dramatiq) -------------------------------------------------------------------------
# With REDIS_URL (redis:// or rediss://) the queues live in Redis and any number of worker
# machines share them. Without it, an in-memory broker with an in-process worker: queue mode
# still works inside one process, but nothing survives that process.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    try:
        _redis = urlsplit(REDIS_URL)
        _redis.port  # noqa: B018  (raises for a malformed port)
    except ValueError:
        _redis = None
    if _redis is None or _redis.scheme not in ("redis", "rediss", "unix"):
        from django.core.exceptions import ImproperlyConfigured

        from promidata_sync.redaction import masked_redis_url

        raise ImproperlyConfigured(
            f"REDIS_URL {masked_redis_url(REDIS_URL)} is not a redis://, rediss:// or unix:// URL"
        )
# BROKER_URL (amqp:// or amqps://) selects RabbitMQ instead (docs/brokers.md); REDIS_URL may
# then stay set for the results store, but the queues and leases no longer use it.
BROKER_URL = env.str("BROKER_URL", default="")
if BROKER_URL:
    try:
        _amqp = urlsplit(BROKER_URL)
        _amqp.port  # noqa: B018  (raises for a malformed port)
    except ValueError:
        _amqp = None
    if _amqp is None or _amqp.scheme not in ("amqp", "amqps") or not _amqp.hostname:
        from django.core.exceptions import ImproperlyConfigured

        from promidata_sync.redaction import masked_redis_url

        raise ImproperlyConfigured(
            f"BROKER_URL {masked_redis_url(BROKER_URL)} is not an amqp:// or amqps:// URL "
            "with a host (for Redis, set REDIS_URL instead)"
        )
# "rabbitmq", "redis" or "memory": which of the three brokers the settings below configure.
BROKER_KIND = "rabbitmq" if BROKER_URL else ("redis" if REDIS_URL else "memory")
# Job time limits in milliseconds (the old system's BULLMQ_JOB_TIMEOUT_* values).
PROMIDATA_JOB_TIMEOUT_SUPPLIER = env.int("PROMIDATA_JOB_TIMEOUT_SUPPLIER", default=1_800_000)
PROMIDATA_JOB_TIMEOUT_FAMILY = env.int("PROMIDATA_JOB_TIMEOUT_FAMILY", default=300_000)
PROMIDATA_JOB_TIMEOUT_IMAGE = env.int("PROMIDATA_JOB_TIMEOUT_IMAGE", default=120_000)
# One webhook attempt (bounded by PROMIDATA_WEBHOOK_TIMEOUT_SECONDS itself), in ms.
PROMIDATA_JOB_TIMEOUT_WEBHOOK = env.int("PROMIDATA_JOB_TIMEOUT_WEBHOOK", default=60_000)
# Reading one family's stock levels (ms; a stock job of several families gets as many times it).
PROMIDATA_JOB_TIMEOUT_STOCK = env.int("PROMIDATA_JOB_TIMEOUT_STOCK", default=120_000)
# Retries of transient failures, with exponential backoff between these bounds (ms).
PROMIDATA_JOB_MAX_RETRIES = env.int("PROMIDATA_JOB_MAX_RETRIES", default=5)
PROMIDATA_JOB_RETRY_MIN_BACKOFF_MS = env.int("PROMIDATA_JOB_RETRY_MIN_BACKOFF_MS", default=5_000)
PROMIDATA_JOB_RETRY_MAX_BACKOFF_MS = env.int("PROMIDATA_JOB_RETRY_MAX_BACKOFF_MS", default=600_000)
# A message older than this (ms) is not processed any more (a backlog from days ago).
PROMIDATA_JOB_MAX_AGE_MS = env.int("PROMIDATA_JOB_MAX_AGE_MS", default=3 * 86_400_000)
# A paused queue's messages go back to it and are looked at again after this long (ms).
PROMIDATA_PAUSE_RECHECK_MS = env.int("PROMIDATA_PAUSE_RECHECK_MS", default=5_000)
# Threads per worker group; a group's prefetch never exceeds its threads.
PROMIDATA_CONCURRENCY_SUPPLIER = env.int("PROMIDATA_CONCURRENCY_SUPPLIER", default=1)
PROMIDATA_CONCURRENCY_FAMILIES = env.int("PROMIDATA_CONCURRENCY_FAMILIES", default=3)
PROMIDATA_CONCURRENCY_IMAGES = env.int("PROMIDATA_CONCURRENCY_IMAGES", default=10)
# Webhook attempts at once: threads of the "webhooks" worker group, and of a process's own
# sender (direct mode).
PROMIDATA_CONCURRENCY_WEBHOOKS = env.int("PROMIDATA_CONCURRENCY_WEBHOOKS", default=2)
# Threads of the "stock-sync" worker group (each reads one family's variants at a time).
PROMIDATA_CONCURRENCY_STOCK = env.int("PROMIDATA_CONCURRENCY_STOCK", default=4)
# The image stage's threads are shared out over this many processes: storing an image is
# mostly Python work, which one process runs on one core at a time.
PROMIDATA_PROCESSES_IMAGES = env.int("PROMIDATA_PROCESSES_IMAGES", default=2)
# Job records older than this many days are removed by promidata_prune_jobs.
PROMIDATA_JOB_RETENTION_DAYS = env.int("PROMIDATA_JOB_RETENTION_DAYS", default=14)
# Workers write a heartbeat this often (seconds), in the database and in the broker (so a busy
# worker that fetches nothing still counts as alive); the broker gives up on a silent worker's
# unacknowledged messages (and hands them to others) after PROMIDATA_BROKER_HEARTBEAT_TIMEOUT_MS.
PROMIDATA_WORKER_HEARTBEAT_SECONDS = env.float("PROMIDATA_WORKER_HEARTBEAT_SECONDS", default=5.0)
PROMIDATA_BROKER_HEARTBEAT_TIMEOUT_MS = env.int(
    "PROMIDATA_BROKER_HEARTBEAT_TIMEOUT_MS", default=30_000
)
# A worker whose heartbeats find the database unreachable for this long (seconds; a restart
# takes a few) stops consuming and exits with status 3, and promidata_workers with it, so that
# systemd restarts them: 12 tries with the 5 s heartbeat.
PROMIDATA_WORKER_DATABASE_GIVE_UP_SECONDS = env.float(
    "PROMIDATA_WORKER_DATABASE_GIVE_UP_SECONDS", default=60.0
)
# The host name workers give in their heartbeats and job records (default: the real one).
# Two worker managers on one machine given different names stand for two machines.
PROMIDATA_WORKER_HOSTNAME = (
    env.str("PROMIDATA_WORKER_HOSTNAME", default="").strip() or socket.gethostname()
)[:100]
# Out of a million broker commands, how many also run the broker's maintenance (requeueing
# the messages of dead workers).
PROMIDATA_BROKER_MAINTENANCE_CHANCE = env.int("PROMIDATA_BROKER_MAINTENANCE_CHANCE", default=1000)

DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
_BROKER_CLASSES = {
    "rabbitmq": "dramatiq.brokers.rabbitmq.RabbitmqBroker",
    "redis": "dramatiq.brokers.redis.RedisBroker",
    "memory": "dramatiq.brokers.stub.StubBroker",
}
_BROKER_OPTIONS = {
    # Publisher confirms: enqueue returns once RabbitMQ has the (persistent) message, and a
    # queue deleted under us is declared again instead of the message being dropped.
    "rabbitmq": {"url": BROKER_URL, "confirm_delivery": True},
    "redis": {
        "url": REDIS_URL,
        "heartbeat_timeout": PROMIDATA_BROKER_HEARTBEAT_TIMEOUT_MS,
        "maintenance_chance": PROMIDATA_BROKER_MAINTENANCE_CHANCE,
    },
    "memory": {},
}
DRAMATIQ_BROKER = {
    "BROKER": _BROKER_CLASSES[BROKER_KIND],
    "OPTIONS": _BROKER_OPTIONS[BROKER_KIND],
    # Order matters: "after" hooks run in reverse, so JobRecords sees a message after Retries
    # has decided whether it will be retried.
    "MIDDLEWARE": [
        # First: a paused queue's message is put back before anything sees it start.
        "promidata_sync.queue.middleware.QueuePauses",
        "promidata_sync.queue.middleware.JobRecords",
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.ShutdownNotifications",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Pipelines",
        "dramatiq.middleware.Retries",
        "dramatiq.middleware.CurrentMessage",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
        "promidata_sync.queue.middleware.WorkerHeartbeats",
    ],
}
DRAMATIQ_RESULT_BACKEND = {
    "BACKEND": (
        "dramatiq.results.backends.redis.RedisBackend"
        if REDIS_URL
        else "dramatiq.results.backends.stub.StubBackend"
    ),
    "BACKEND_OPTIONS": {"url": REDIS_URL} if REDIS_URL else {},
    "MIDDLEWARE_OPTIONS": {"result_ttl": 86_400_000},
}
DRAMATIQ_RATE_LIMITER_BACKEND = {
    "BACKEND": (
        "dramatiq.rate_limits.backends.redis.RedisBackend"
        if REDIS_URL
        else "dramatiq.rate_limits.backends.stub.StubBackend"
    ),
    "BACKEND_OPTIONS": {"url": REDIS_URL} if REDIS_URL else {},
}
