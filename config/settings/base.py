"""Settings shared by every environment. Each value that differs between machines comes from
``config.env`` so that one place documents and validates it (see ``.env.example``)."""

from __future__ import annotations

from copy import deepcopy
from datetime import timedelta
from pathlib import Path
from typing import Any

from config.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_cache,
    env_database,
    env_float,
    env_int,
    env_list,
    env_path,
    env_rate,
    env_storage,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = env_path("ROLLCALL_VAR_DIR", BASE_DIR / "var")

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

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
    "drf_spectacular_sidecar",  # Swagger UI / Redoc assets served locally: no CDN at run time
    "attendance",
    "axes",  # failed sign-ins: lockouts, and the audit of every attempt (see Security below)
    "django_prometheus",  # /metrics: requests, database, cache (attendance/metrics.py adds ours)
]

MIDDLEWARE = [
    # /healthz and /readyz for load balancers: before the host check and the HTTPS redirect.
    "attendance.health.HealthCheckMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # First: a request over the size limit is refused before anything reads its body.
    "attendance.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "attendance.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "attendance.middleware.QueryStringGuardMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out sign-in into the lockout page
    "django_prometheus.middleware.PrometheusAfterMiddleware",
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
                "attendance.views.errors.undo_offer",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
# Reports are cached keyed by a version of their data; with Redis every process shares them.
CACHES = {"default": env_cache("ROLLCALL_CACHE_URL")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes checks every sign-in (pages and admin) before the password is even compared.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "attendance:home"
LOGOUT_REDIRECT_URL = "login"

# Email: teacher invitations and password resets. The console backend prints them (local use);
# production sets django.core.mail.backends.smtp.EmailBackend and the SMTP server below.
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "RollCall <rollcall@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# How long an invitation or reset link works (Django's password-reset tokens), in seconds.
PASSWORD_RESET_TIMEOUT = env_int("ROLLCALL_INVITE_LINK_SECONDS", 7 * 24 * 3600, minimum=60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("ROLLCALL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Part of the build (the image runs collectstatic), never of the data folder: compose mounts a
# volume on ROLLCALL_VAR_DIR, which would hide the files collected there.
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Student photos, crops and class photos are biometric data. They live in a storage with no public
# URL at all; the only way to read them is a view that checks permission. Local files by default;
# a private S3-compatible bucket with ROLLCALL_STORAGE_URL=s3://... (or AWS_STORAGE_BUCKET_NAME),
# which several web and worker hosts share (config/env.py, README "Scaling").
PRIVATE_MEDIA_ROOT = env_path("ROLLCALL_PRIVATE_MEDIA_ROOT", VAR_DIR / "private")
PRIVATE_STORAGE = env_storage("ROLLCALL_STORAGE_URL", location=PRIVATE_MEDIA_ROOT)
STORAGES: dict[str, dict[str, Any]] = {
    "default": deepcopy(PRIVATE_STORAGE),
    "private": deepcopy(PRIVATE_STORAGE),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads: a class photo from a phone is a few MB; anything far larger is refused before decoding.
ROLLCALL_MAX_UPLOAD_BYTES = env_int("ROLLCALL_MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1024)
ROLLCALL_MAX_IMAGE_PIXELS = env_int("ROLLCALL_MAX_IMAGE_PIXELS", 40_000_000, minimum=10_000)
# A whole request (several photos, a ZIP) may be larger than one file, but not without bound: over
# this, attendance.middleware answers 413 from the Content-Length, before reading the body.
ROLLCALL_MAX_REQUEST_BYTES = env_int(
    "ROLLCALL_MAX_REQUEST_BYTES", 8 * ROLLCALL_MAX_UPLOAD_BYTES, minimum=ROLLCALL_MAX_UPLOAD_BYTES
)
DATA_UPLOAD_MAX_MEMORY_SIZE = ROLLCALL_MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Celery. Without Redis (a fresh laptop) kombu's filesystem transport still gives a real worker
# process its queue; production and CI set CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'celery-results'}")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
# A web request that enqueues must answer at once when Redis is down: it tries the broker for at
# most ROLLCALL_BROKER_CONNECT_TIMEOUT seconds, once (no retry loop), keeps the row "queued" and
# the sweep sends it later. The visibility timeout is how long Redis waits before it redelivers a
# task whose worker vanished without acknowledging it: longer than the longest legitimate task (a
# 10,000-row import), because a redelivery of a task still running runs it twice. A dead worker's
# captures and jobs come back sooner through the sweep (ROLLCALL_STUCK_AFTER_SECONDS, below).
ROLLCALL_BROKER_CONNECT_TIMEOUT = env_float("ROLLCALL_BROKER_CONNECT_TIMEOUT", 2.0)
CELERY_BROKER_CONNECTION_TIMEOUT = ROLLCALL_BROKER_CONNECT_TIMEOUT
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 600, minimum=60)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = (
    {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "socket_connect_timeout": ROLLCALL_BROKER_CONNECT_TIMEOUT,
    }
)
# Workers hold a memory-heavy model (the detector and two TensorFlow backbones: loading alone
# peaks at 2.3 GB resident, README "Scaling"). Each pool process loads it once, lazily
# (attendance.tasks warms it up at start), and takes one task at a time (prefetch 1, acknowledged
# after it ran: config/celery_app.py). A pool process whose *peak* resident memory (Celery reads
# getrusage's ru_maxrss, a high-water mark) has passed ROLLCALL_WORKER_MAX_MEMORY_MB after a task
# is replaced by a fresh one, which loads the model again (~20-50 s): so the limit must sit well
# above the normal peak, or every task pays a reload. It is there for a leak or a pathological
# photo, so a process is recycled before the kernel's OOM killer takes the whole container.
ROLLCALL_WORKER_MAX_MEMORY_MB = env_int("ROLLCALL_WORKER_MAX_MEMORY_MB", 6144, minimum=256)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = ROLLCALL_WORKER_MAX_MEMORY_MB * 1024  # KiB, as Celery counts
# Nothing reads task results (the rows carry the state), and a send that also subscribes to the
# result store would wait ~20 s on a dead Redis before failing.
CELERY_TASK_IGNORE_RESULT = True
# The file-based broker and result store need their folders before the first message, in both the
# web process (producer) and the worker.
if CELERY_BROKER_URL.startswith("filesystem"):
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
if CELERY_RESULT_BACKEND.startswith("file://"):
    Path(CELERY_RESULT_BACKEND.removeprefix("file://")).mkdir(parents=True, exist_ok=True)

# Recovery (attendance.tasks.sweep, run by beat and when a worker starts): captures, photos and
# import jobs queued longer than REQUEUE_AFTER (the broker was down when they were saved) are sent
# again, and so are captures whose worker stopped beating. A worker processing a capture touches
# it every HEARTBEAT seconds (attendance.services.liveness), so "stuck" means "no sign of life for
# STUCK_AFTER seconds", however long a capture legitimately takes (a 36-megapixel photo on a
# loaded machine takes minutes): a dead worker's capture is sent again within STUCK_AFTER + SWEEP
# seconds (20 + 10 by default), and a warm pool process finishes it. Jobs commit a batch at a time
# under the job's row lock, so they cannot beat during a batch: JOB_STALLED_AFTER stays above the
# longest batch. Every task is idempotent, so a duplicate costs only CPU. Measured figures: README,
# "Operations".
ROLLCALL_SWEEP_SECONDS = env_float("ROLLCALL_SWEEP_SECONDS", 10.0)
ROLLCALL_REQUEUE_AFTER_SECONDS = env_float("ROLLCALL_REQUEUE_AFTER_SECONDS", 30.0)
ROLLCALL_HEARTBEAT_SECONDS = env_float("ROLLCALL_HEARTBEAT_SECONDS", 5.0)
ROLLCALL_STUCK_AFTER_SECONDS = env_float("ROLLCALL_STUCK_AFTER_SECONDS", 20.0)
ROLLCALL_JOB_STALLED_AFTER_SECONDS = env_float("ROLLCALL_JOB_STALLED_AFTER_SECONDS", 60.0)
ROLLCALL_SWEEP_ON_WORKER_START = env_bool("ROLLCALL_SWEEP_ON_WORKER_START", True)
if ROLLCALL_STUCK_AFTER_SECONDS < 3 * ROLLCALL_HEARTBEAT_SECONDS:
    raise ImproperlyConfiguredEnv(
        "ROLLCALL_STUCK_AFTER_SECONDS must be at least three heartbeats "
        f"({ROLLCALL_STUCK_AFTER_SECONDS:g} < 3 x {ROLLCALL_HEARTBEAT_SECONDS:g})"
    )
for _name, _seconds in [
    ("ROLLCALL_STUCK_AFTER_SECONDS", ROLLCALL_STUCK_AFTER_SECONDS),
    ("ROLLCALL_JOB_STALLED_AFTER_SECONDS", ROLLCALL_JOB_STALLED_AFTER_SECONDS),
]:
    if _seconds >= CELERY_VISIBILITY_TIMEOUT:
        raise ImproperlyConfiguredEnv(
            f"{_name} must be below CELERY_VISIBILITY_TIMEOUT "
            f"({_seconds:g} >= {CELERY_VISIBILITY_TIMEOUT})"
        )
# A pool process loads the face models before it tells the worker it is ready for tasks
# (attendance.tasks._warm_up_face_models): a task given back by a killed pool process goes to a
# warm sibling, not to the cold replacement. Loading takes ~20 s, minutes on a loaded machine;
# Celery's default (4 s) would kill the process while it loads.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env_float("CELERY_WORKER_PROC_ALIVE_TIMEOUT", 600.0)
# Retention (attendance.tasks.retention_purge, run by beat): this many days after a session is
# finalized its class photos and the crops and embeddings of faces matched to nobody are deleted;
# attendance records, matched faces and the audit trail stay.
ROLLCALL_RETENTION_DAYS = env_int("ROLLCALL_RETENTION_DAYS", 30, minimum=0)
ROLLCALL_RETENTION_CHECK_SECONDS = env_float("ROLLCALL_RETENTION_CHECK_SECONDS", 6 * 3600.0)
CELERY_BEAT_SCHEDULE = {
    "rollcall-sweep": {
        "task": "attendance.sweep",
        "schedule": ROLLCALL_SWEEP_SECONDS,
        "options": {"expires": ROLLCALL_SWEEP_SECONDS},
    },
    "rollcall-retention": {
        "task": "attendance.retention_purge",
        "schedule": ROLLCALL_RETENTION_CHECK_SECONDS,
    },
}

# Face matching: the accept and review distances come from the shipped model's metadata; these
# optional overrides let a school be stricter without retraining.
ROLLCALL_MATCH_THRESHOLD = env_float("ROLLCALL_MATCH_THRESHOLD", 0.0) or None
ROLLCALL_REVIEW_THRESHOLD = env_float("ROLLCALL_REVIEW_THRESHOLD", 0.0) or None
ROLLCALL_DATASETS_DIR = env_path("ROLLCALL_DATASETS", BASE_DIR.parent / "shared" / "datasets")

# Security -------------------------------------------------------------------------------------
# Sign-in: after LOGIN_FAILURE_LIMIT wrong passwords for one account, or from one address, that
# account (or address) is locked for LOGIN_COOLOFF_MINUTES; every failure extends it. The lock is
# per account *or* per address so neither a botnet on one account nor one address trying many
# accounts gets through. Admins see attempts and lockouts in the admin (Axes) and can lift them.
ROLLCALL_LOGIN_FAILURE_LIMIT = env_int("ROLLCALL_LOGIN_FAILURE_LIMIT", 5, minimum=1)
ROLLCALL_LOGIN_COOLOFF_MINUTES = env_int("ROLLCALL_LOGIN_COOLOFF_MINUTES", 15, minimum=1)
# Reverse proxies in front of gunicorn that append to X-Forwarded-For (0: clients connect
# directly). Without it every client would share the proxy's address and lock each other out.
ROLLCALL_PROXY_COUNT = env_int("ROLLCALL_PROXY_COUNT", 0, minimum=0)
AXES_FAILURE_LIMIT = ROLLCALL_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=ROLLCALL_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks: see above
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # the audit: one row per failed attempt, kept
AXES_HANDLER = "attendance.lockout.SignInAttempts"
AXES_LOCKOUT_CALLABLE = "attendance.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "attendance.lockout.client_ip"
AXES_HTTP_RESPONSE_CODE = 429

# API tokens are stored as SHA-256 hashes; a token expires this many days after its creation
# (0: never). Changing it applies to tokens created afterwards.
ROLLCALL_API_TOKEN_LIFETIME_DAYS = env_int("ROLLCALL_API_TOKEN_LIFETIME_DAYS", 0, minimum=0)
# API rates, per token (or signed-in user), per address for anonymous calls; uploads (captures and
# reference photos: the expensive requests) have their own, stricter budget. Over it: 429 with
# Retry-After. Counters live in the default cache: set ROLLCALL_CACHE_URL so processes share them.
ROLLCALL_API_RATES = {
    "anon": env_rate("ROLLCALL_API_RATE_ANON", "30/min"),
    "user": env_rate("ROLLCALL_API_RATE_USER", "600/min"),
    "uploads": env_rate("ROLLCALL_API_RATE_UPLOADS", "30/min"),
}
# /metrics (Prometheus): signed-in staff, or a scraper sending "Authorization: Bearer <token>".
ROLLCALL_METRICS_TOKEN = env_str("ROLLCALL_METRICS_TOKEN", "")
# The OpenAPI schema and Swagger UI describe every endpoint: signed-in users only, unless opened.
ROLLCALL_API_DOCS_PUBLIC = env_bool("ROLLCALL_API_DOCS_PUBLIC", False)
# Content-Security-Policy of every response: scripts and styles only from our static files.
# Swagger UI (/api/docs/) follows it too: its start-up script is served as a file.
ROLLCALL_CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Webhooks (attendance/services/webhooks.py): a failed POST is tried again after each of these
# delays (seconds; the defaults make 6 tries over about an hour), then given up. An endpoint
# whose attempts fail DISABLE_AFTER times in a row is switched off and the admins are told.
ROLLCALL_WEBHOOK_RETRY_DELAYS = [
    float(d) for d in env_list("ROLLCALL_WEBHOOK_RETRY_DELAYS", ["30", "120", "300", "900", "2400"])
]
ROLLCALL_WEBHOOK_TIMEOUT = env_float("ROLLCALL_WEBHOOK_TIMEOUT", 10.0)
ROLLCALL_WEBHOOK_DISABLE_AFTER = env_int("ROLLCALL_WEBHOOK_DISABLE_AFTER", 18, minimum=1)
# Receivers should refuse a signature whose timestamp is older than this (documented replay window).
ROLLCALL_WEBHOOK_TOLERANCE_SECONDS = env_int("ROLLCALL_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "attendance.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "attendance.api.throttles.AnonThrottle",
        "attendance.api.throttles.UserThrottle",
        "attendance.api.throttles.UploadThrottle",
    ],
    "NUM_PROXIES": ROLLCALL_PROXY_COUNT,
    "DEFAULT_SCHEMA_CLASS": "attendance.api.schema.ApiSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["attendance.api.filters.StrictFilterBackend"],
    "EXCEPTION_HANDLER": "attendance.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RollCall API",
    "DESCRIPTION": "Class attendance by face recognition: courses, students, sessions, captures, "
    "attendance records and reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RecordStatusEnum": "attendance.models.AttendanceRecord.Status",
        "RecordSourceEnum": "attendance.models.AttendanceRecord.Source",
        "PhotoStatusEnum": "attendance.models.ReferencePhoto.Status",
        "CaptureSourceEnum": "attendance.models.Capture.Source",
        "WebhookEventEnum": "attendance.models.WebhookEndpoint.Event",
        "SessionStateEnum": "attendance.models.ClassSession.State",
        "CaptureStateEnum": "attendance.models.Capture.State",
        "JobStateEnum": "attendance.models.Job.State",
        "DeliveryStateEnum": "attendance.models.WebhookDelivery.State",
        "ConsentMethodEnum": "attendance.models.ConsentMethod",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ROLLCALL_LOG_LEVEL", "INFO")},
}
