"""Settings for the Xcode Cloud artifacts dashboard.

Everything comes from the environment (or a `.env` file at the project root)
through django-environ, with defaults that make a fresh clone run locally on
SQLite. See `.env.example` for every variable.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

# Outside DEBUG a real secret is required: a guessable one would let anyone forge sessions.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: put a long random value in the environment or .env "
            "(or set DEBUG=true for local development)."
        )
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "artifacts_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # /api/v1/* and /export.csv: API tokens, and 401 JSON instead of the login redirect.
    "artifacts_app.middleware.ApiAuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Refuses logins for a username and address that failed too often, before any check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "dashboard.urls"

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
                "artifacts_app.context_processors.data_source",
            ],
        },
    },
]

WSGI_APPLICATION = "dashboard.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dashboard read while a sync writes; the timeout rides out short write locks,
    # and IMMEDIATE transactions take the write lock up front, where the timeout applies,
    # instead of failing at once on a lock upgrade half way through.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Chart.js comes from npm (package.json) and is served from our own origin, never a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    ("vendor/chartjs-chart-treemap", BASE_DIR / "node_modules" / "chartjs-chart-treemap" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Archived artifact files. A FileSystemStorage without "location" is rooted at ARCHIVE_ROOT;
    # an S3-compatible backend (django-storages) can be named here instead.
    "archive": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# HTTPS hardening: off by default for plain local use, on from the environment in production.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: scripts, styles and everything else from this origin only, so an
# injected tag can neither run nor load anything (data reaches scripts through json_script).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Failed logins (django-axes): after LOGIN_FAILURE_LIMIT failures for one username from one
# address, that pair is refused (429) until LOGIN_COOLOFF_MINUTES pass without another try.
# The address is REMOTE_ADDR: behind a proxy that is the proxy's, so the limit is then per
# username, and a header a client could forge is never trusted.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are enough; no row per successful login

# App Store Connect. The key is a secret: it is read here and never logged or rendered.
ASC_ISSUER_ID = env.str("ASC_ISSUER_ID", default="")
ASC_KEY_ID = env.str("ASC_KEY_ID", default="")
ASC_PRIVATE_KEY_PATH = env.str("ASC_PRIVATE_KEY_PATH", default="")
ASC_PRIVATE_KEY = env.str("ASC_PRIVATE_KEY", default="", multiline=True)
ASC_API_BASE_URL = env.str("ASC_API_BASE_URL", default="https://api.appstoreconnect.apple.com")
# Set by `make run` when it serves the bundled simulator: the dashboard labels the data as demo.
ASC_DEMO_DATA = env.bool("ASC_DEMO_DATA", default=False)

# Share of the hourly API budget the sync leaves for other tools using the same key.
SYNC_RESERVE_CALLS = env.int("SYNC_RESERVE_CALLS", default=500)
# Workers fetching build runs' actions and artifacts at once (1: one call after another).
# Apple answers in 0.1-0.5 s: with 8 calls in flight a 600-call first sync waits ~8 s, not 60.
SYNC_CONCURRENCY = env.int("SYNC_CONCURRENCY", default=8)
# /healthz says "stale" when the last successful sync is older than this.
SYNC_STALE_AFTER_MINUTES = env.int("SYNC_STALE_AFTER_MINUTES", default=180)
# After each sync pass, read what is inside the zip artifacts that pass found.
INSPECT_AFTER_SYNC = env.bool("INSPECT_AFTER_SYNC", default=True)

# Xcode Cloud webhooks: the secret part of `/hooks/xcode-cloud/<token>`. Comma-separated to
# rotate (the old token keeps working until App Store Connect has the new one); empty: off.
XCODE_CLOUD_WEBHOOK_TOKEN = env.list("XCODE_CLOUD_WEBHOOK_TOKEN", default=[])
# The dashboard's public address, for links in alerts and the webhook URL shown to admins.
SITE_URL = env.str("SITE_URL", default="").rstrip("/")
# Fernet keys for secrets kept in the database (notification URLs), comma-separated, newest
# first; empty: derived from SECRET_KEY (then changing SECRET_KEY loses those secrets).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")

# A relative ARCHIVE_ROOT is taken from the project root, wherever the command runs.
ARCHIVE_ROOT = BASE_DIR / env.str("ARCHIVE_ROOT", default="archive")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    # The webhook's secret is in its URL, which Django logs with every 4xx (and runserver with
    # every request): keep it out.
    "filters": {"webhook_token": {"()": "artifacts_app.webhooks.logs.RedactWebhookToken"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["webhook_token"],
        },
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["webhook_token"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        # At DEBUG urllib3 logs whole URLs, and a download URL's query is its signature.
        "urllib3": {"level": "INFO"},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
}

# --- Operations: /metrics, compute usage, S3-compatible archive storage ---
# Bearer token Prometheus sends to /metrics; while empty, /metrics answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Xcode Cloud compute hours a month in the team's plan (25, 100, 250 or 1000): the usage page
# draws it as the line the months' estimated usage is measured against.
USAGE_PLAN_HOURS = env.int("USAGE_PLAN_HOURS", default=25)
# Archive to an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, Ceph) instead of
# ARCHIVE_ROOT. Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, a profile, an instance role), never from these settings.
ARCHIVE_S3_BUCKET = env.str("ARCHIVE_S3_BUCKET", default="")
if ARCHIVE_S3_BUCKET:
    STORAGES["archive"] = {
        "BACKEND": "artifacts_app.archive.s3.ArchiveS3Storage",
        "OPTIONS": {
            "bucket_name": ARCHIVE_S3_BUCKET,
            "endpoint_url": env.str("ARCHIVE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ARCHIVE_S3_REGION", default="") or None,
            "location": env.str("ARCHIVE_S3_PREFIX", default="").strip("/"),
        },
    }
