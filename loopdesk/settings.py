"""Deployment settings, read from environment variables (see `.env.example`).

Business policy (SLA targets, routing, categories, calendars) lives in the database, not here.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import sys
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_str(name: str, default: str = "") -> str:
    """The variable's value; an empty value (as in a copied .env.example) counts as unset."""
    return os.environ.get(name) or default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("LOOPDESK_DEBUG", False)
SECRET_KEY = env_str("LOOPDESK_SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or env_bool("LOOPDESK_INSECURE_DEV_KEY", True):
        # A fixed development key keeps sessions valid across restarts of the embedded default.
        SECRET_KEY = "loopdesk-insecure-development-key-change-me-in-production"  # noqa: S105
    else:  # pragma: no cover - deployment misconfiguration
        raise RuntimeError("LOOPDESK_SECRET_KEY must be set in production")

ALLOWED_HOSTS = env_list("LOOPDESK_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("LOOPDESK_CSRF_TRUSTED_ORIGINS")

# Province and region of this deployment: every row carries them so data can be sharded later.
LOOPDESK_PROVINCE = env_str("LOOPDESK_PROVINCE", "GD")
LOOPDESK_DEFAULT_REGION = env_str("LOOPDESK_DEFAULT_REGION", "JM")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (closed networks: no CDN)
    "django_htmx",
    "loopdesk.core",
    "loopdesk.org",
    "loopdesk.customers",
    "loopdesk.sla",
    "loopdesk.routing",
    "loopdesk.tickets",
    "loopdesk.audit",
    "loopdesk.outbox",
    "loopdesk.tmf",
    "loopdesk.workbench",
    "loopdesk.reports",
    "loopdesk.followup",
    "loopdesk.notify",
    "loopdesk.surveys",
    "loopdesk.org.axes_app.SignInProtectionConfig",  # django-axes
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files from the gunicorn process itself: no web server to install.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a signed-in user's chosen language wins over the browser's.
    "loopdesk.workbench.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: answers a locked-out sign-in with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loopdesk.urls"
WSGI_APPLICATION = "loopdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "loopdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "loopdesk.workbench.context.workbench",
            ],
        },
    },
]

# SQLite file under var/ by default; PostgreSQL (or anything dj-database-url knows) by DATABASE_URL.
VAR_DIR = Path(env_str("LOOPDESK_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'loopdesk.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(env_str("DB_CONN_MAX_AGE", "60")))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # Writers take the lock when the transaction starts, so read-check-write is serialised.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "org.User"
# Sign-in protection (django-axes; 等保 asks for login failure handling): after LOOPDESK_LOGIN_FAILURE_LIMIT failed
# sign-ins for one user name from one address, that pair is locked for LOOPDESK_LOGIN_LOCKOUT_MINUTES (others go
# on: nobody locks a colleague out from another computer); a successful sign-in clears the count. Administrators
# unlock in the admin (Sign-in protection › access attempts), which also lists every sign-in (access logs).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(env_str("LOOPDESK_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(env_str("LOOPDESK_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "loopdesk.org.signin.locked_out"
AXES_CLIENT_IP_CALLABLE = "loopdesk.org.signin.client_ip"
AXES_ENABLE_ADMIN = False  # loopdesk/org/admin.py registers its own, translated, with an audited unlock
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [  # checked when a password is set in the admin or changed by its owner
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},  # 8 characters
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "loopdesk.org.passwords.CharacterKindsValidator"},  # 3 of: lower, upper, digits, others
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# A shift plus some: an expired session sends the user to sign-in and back to the page afterwards.
SESSION_COOKIE_AGE = int(env_str("LOOPDESK_SESSION_SECONDS", str(12 * 3600)))

# Served over HTTPS (TLS ending at a reverse proxy that sets X-Forwarded-Proto): cookies only over HTTPS,
# requests that came in over HTTPS known as such (CSRF origin checks, redirects and absolute links use https://),
# optionally plain HTTP redirected and HSTS (docs/deployment.md). Off by default: the default serves plain HTTP.
LOOPDESK_HTTPS = env_bool("LOOPDESK_HTTPS", False)
if LOOPDESK_HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("LOOPDESK_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = int(env_str("LOOPDESK_HSTS_SECONDS", "0"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "loopdesk" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("LOOPDESK_STATIC_ROOT") or VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Served by WhiteNoise: `collectstatic` writes hashed, compressed copies that browsers may cache for ever.
# That manifest exists only after `collectstatic`, so DEBUG and the test suite (which never collect) use
# the plain storage and let WhiteNoise find files in the apps directly.
RUNNING_TESTS = "pytest" in sys.modules or sys.argv[1:2] == ["test"]
STATIC_MANIFEST = not DEBUG and not RUNNING_TESTS
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
# The workbench's own CSS/JS.
STATICFILES_DIRS = [BASE_DIR / "loopdesk" / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("LOOPDESK_MEDIA_ROOT") or VAR_DIR / "media")
# Import files kept between the steps of the import page (upload, mapping, dry run, import); not served.
LOOPDESK_IMPORT_DIR = Path(env_str("LOOPDESK_IMPORT_DIR") or VAR_DIR / "imports")
# From this size (bytes) the import page runs a file's dry run and import in the background worker (reports.importjobs).
LOOPDESK_IMPORT_BACKGROUND_BYTES = int(env_str("LOOPDESK_IMPORT_BACKGROUND_BYTES", str(2 * 1024 * 1024)))
# The Celery queue of those background imports ("" = the default queue; e.g. "imports" for a dedicated worker).
LOOPDESK_IMPORT_QUEUE = env_str("LOOPDESK_IMPORT_QUEUE", "")
# PostgreSQL bulk imports check foreign keys a batch at a time instead of row by row at commit, when the role may
# set session_replication_role (docs/deployment.md); off: the usual per-row checks.
LOOPDESK_BULK_REFERENCE_CHECKS = env_bool("LOOPDESK_BULK_REFERENCE_CHECKS", True)

# Attachment limits (deployment facts: they protect the disk, not business policy).
LOOPDESK_ATTACHMENT_MAX_BYTES = int(env_str("LOOPDESK_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
LOOPDESK_ATTACHMENT_TYPES = env_list(
    "LOOPDESK_ATTACHMENT_TYPES",
    "image/jpeg,image/png,image/gif,application/pdf,text/plain,audio/mpeg,audio/wav,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
)
# Room for one attachment of the largest size sent by value in a JSON body (TMF621: base64, 4 bytes per 3) and 1 MB for
# the rest of the request.
DATA_UPLOAD_MAX_MEMORY_SIZE = (LOOPDESK_ATTACHMENT_MAX_BYTES + 2) // 3 * 4 + 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so an unauthenticated request gets 401 with `WWW-Authenticate: Bearer`.
        "loopdesk.tmf.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "loopdesk.tmf.auth.TokenScopePermission",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["loopdesk.tmf.auth.ApiRateThrottle"],
    # DRF's parsers; JSON's refuses a body nested too deeply with a 400 (DRF's raised a RecursionError: a 500).
    "DEFAULT_PARSER_CLASSES": [
        "loopdesk.core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "loopdesk.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LoopDesk API",
    "DESCRIPTION": "Work orders (工单) of the closed-loop complaint platform.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Stable names for the enumerations clients generate code from (were Status171Enum / StatusEc5Enum).
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "loopdesk.tickets.choices.Status",
        "TroubleTicketStatusEnum": "loopdesk.tmf.mapping.TMF_STATUSES",
        "CallbackVerdictEnum": "loopdesk.tickets.choices.CallbackVerdict",
        "TicketActionEnum": "loopdesk.tickets.choices.Action",
    },
}
# --- API tokens and rate limiting (loopdesk.tmf, docs/api.md) ---------------------------------------------
# Default rate per token / user / address; a token may carry its own. Counted in the cache named by
# LOOPDESK_THROTTLE_CACHE: "default" is a local-memory cache (the limit holds per gunicorn worker, nothing to
# set up on SQLite or PostgreSQL); "db" counts in the database table `loopdesk_cache`, shared by every worker
# (create it once with `manage.py createcachetable`).
LOOPDESK_API_RATE = env_str("LOOPDESK_API_RATE", "600/min")
LOOPDESK_THROTTLE_CACHE = env_str("LOOPDESK_THROTTLE_CACHE", "default")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "loopdesk"},
    "db": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "loopdesk_cache"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOOPDESK_LOG_LEVEL", "WARNING")},
}

# --- Background work (Celery) and customer SMS: see docs/operations.md and docs/messages.md ----------
# Redis in production (CELERY_BROKER_URL=redis://127.0.0.1:6379/0). Unset: kombu's filesystem transport in
# var/celery/, so the embedded default runs the same tasks with no Redis (scripts/demo.sh starts the worker).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _celery_queue = VAR_DIR / "celery" / "queue"
    _celery_queue.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_queue), "data_folder_out": str(_celery_queue), "store_processed": False,
        # Otherwise kombu keeps its exchange tables in ./control, wherever the worker was started.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
    # kombu's filesystem channel, with messages renamed into place when written (loopdesk/core/fsbroker.py).
    CELERY_BROKER_TRANSPORT = "loopdesk.core.fsbroker:Transport"
# Tests run every task synchronously in the calling process (the real-worker tests start their own worker).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", RUNNING_TESTS)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
# Outbox delivery: how often the worker looks for due messages, how many it claims at once, how long a claim
# holds before another worker may retry it (a killed worker's messages come back after this), attempts before
# a message is given up ("dead").
LOOPDESK_OUTBOX_POLL_SECONDS = float(env_str("LOOPDESK_OUTBOX_POLL_SECONDS", "2"))
LOOPDESK_OUTBOX_BATCH = int(env_str("LOOPDESK_OUTBOX_BATCH", "500"))
LOOPDESK_OUTBOX_LEASE_SECONDS = int(env_str("LOOPDESK_OUTBOX_LEASE_SECONDS", "120"))
LOOPDESK_OUTBOX_MAX_ATTEMPTS = int(env_str("LOOPDESK_OUTBOX_MAX_ATTEMPTS", "8"))
# Days delivered and given-up (dead) outbox rows, and the TMF delivery log, are kept (purged nightly; 0: kept for ever).
LOOPDESK_OUTBOX_KEEP_DELIVERED_DAYS = int(env_str("LOOPDESK_OUTBOX_KEEP_DELIVERED_DAYS", "30"))
LOOPDESK_OUTBOX_KEEP_DEAD_DAYS = int(env_str("LOOPDESK_OUTBOX_KEEP_DEAD_DAYS", "90"))
# Networks event callbacks (hub listeners, webhooks) may point into, as CIDR ranges: loopback, private, link-local
# and other special addresses are refused otherwise (server-side request forgery; loopdesk.tmf.callbacks).
LOOPDESK_WEBHOOK_ALLOWED_NETWORKS = [
    str(ipaddress.ip_network(item, strict=False)) for item in env_list("LOOPDESK_WEBHOOK_ALLOWED_NETWORKS")]
# SMS gateway: "file" (JSON lines under var/sms/, default), "console" (log), or "http" (generic JSON gateway).
LOOPDESK_SMS_GATEWAY = env_str("LOOPDESK_SMS_GATEWAY", "file")
LOOPDESK_SMS_FILE = Path(env_str("LOOPDESK_SMS_FILE") or VAR_DIR / "sms" / "sent.jsonl")
LOOPDESK_SMS_HTTP_URL = env_str("LOOPDESK_SMS_HTTP_URL")
LOOPDESK_SMS_HTTP_USER = env_str("LOOPDESK_SMS_HTTP_USER")
LOOPDESK_SMS_HTTP_PASSWORD = env_str("LOOPDESK_SMS_HTTP_PASSWORD")
LOOPDESK_SMS_HTTP_SECRET = env_str("LOOPDESK_SMS_HTTP_SECRET")
LOOPDESK_SMS_HTTP_TIMEOUT = float(env_str("LOOPDESK_SMS_HTTP_TIMEOUT", "10"))
# Inbound SMS webhook: the gateway signs each request with this secret (HMAC-SHA256); empty refuses every call.
LOOPDESK_SMS_INBOUND_SECRET = env_str("LOOPDESK_SMS_INBOUND_SECRET")
# Sender numbers: the service number, the window-service survey port (seed 002) and the spam-report port.
LOOPDESK_SMS_SENDER = env_str("LOOPDESK_SMS_SENDER", "10086")
LOOPDESK_SMS_SURVEY_PORT = env_str("LOOPDESK_SMS_SURVEY_PORT", "10086700")
LOOPDESK_SMS_SPAM_PORT = env_str("LOOPDESK_SMS_SPAM_PORT", "10086999")
# Public address of this site, for the one-time survey links sent by SMS.
LOOPDESK_PUBLIC_URL = env_str("LOOPDESK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Reports (issue 6): ECharts comes from npm (package.json) and is served as static/vendor/echarts/ ---------
_ECHARTS_DIST = BASE_DIR / "node_modules" / "echarts" / "dist"
if _ECHARTS_DIST.is_dir():
    STATICFILES_DIRS = [*STATICFILES_DIRS, ("vendor/echarts", _ECHARTS_DIST)]
