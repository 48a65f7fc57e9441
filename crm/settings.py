"""Abonent CRM settings.

One module for every environment: everything that differs between a laptop and production comes
from environment variables (a ``.env`` file in the project folder is read when present). Bad values
fail at start-up, not at the first request. See ``.env.example`` for every variable.
"""

import copy
from datetime import date, timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 - DEBUG only, refused above otherwise

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin, its default site replaced by one that asks for a TOTP code (RELIABILITY R09).
    "staff.admin_config.OtpAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "core",
    "staff",
    "inbox",
    "clients",
    "retention",
    "referrals",
    "kpi",
    "team",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "crm.middleware.ApiNoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "crm.middleware.RussianFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "crm.middleware.SessionLifetimeMiddleware",
    "crm.middleware.OtpRequiredMiddleware",
    "crm.middleware.FieldHistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
                "crm.context_processors.notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# The embedded default is a SQLite file next to manage.py; production points DATABASE_URL at
# PostgreSQL (postgres://user:password@host:5432/name).
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once ("database is locked").
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # Bounded queries (RELIABILITY R31): a runaway statement, a lock wait or a transaction left
    # open fails instead of holding a worker and its locks. Milliseconds; 0 turns one off.
    # Background jobs that need longer raise them for their own connection (core.tasks).
    DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
    DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=10_000)
    DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=60_000)
    # jit=off: the planner's cost estimates for the pages' per-row subqueries pass the JIT
    # threshold at scale L, and compiling them costs more than running them (SPEC §9, bench/).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
        f" -c lock_timeout={DB_LOCK_TIMEOUT_MS}"
        f" -c idle_in_transaction_session_timeout={DB_IDLE_IN_TRANSACTION_TIMEOUT_MS}"
        " -c jit=off"
    )
    # An unreachable database fails a connection attempt in seconds instead of hanging a worker
    # (and the /healthz/ probes) on the operating system's TCP timeout.
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Security events (RELIABILITY R26) are written through a second connection to the same
# PostgreSQL database, in autocommit, so that a request whose transaction rolls back still leaves
# its event (core.db_routers). SQLite gets no second connection: a second writer would wait on the
# first one's lock; there the event also goes to the "security" log, which no rollback can undo.
SECURITY_EVENTS_DB = "security_events"
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    DATABASES[SECURITY_EVENTS_DB] = copy.deepcopy(DATABASES["default"])
DATABASE_ROUTERS = ["core.db_routers.SecurityEventRouter"]

AUTH_USER_MODEL = "staff.User"
# The attempt counter first: a locked-out (username, address) pair is refused before the password
# is even checked (RELIABILITY R10).
AUTHENTICATION_BACKENDS = [
    "staff.two_factor.LoginAttemptsBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Krasnoyarsk")
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Redis, cache and Celery ----------------------------------------------------------------
# Without REDIS_URL the product runs embedded: tasks execute eagerly in the calling process and the
# cache is process-local memory.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_RESULT_EXPIRES = timedelta(days=1)
# A broken or frozen Redis must not hang a web request that enqueues a task: fail fast instead.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
    "visibility_timeout": 60 * 60,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# Sending a task also subscribes to its result on the Redis result backend, which by default
# retries a lost connection 20 times a second apart: the same fail-fast limits apply there.
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
CELERY_REDIS_SOCKET_TIMEOUT = 1
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker keeps reconnecting however long Redis is away (the default gives up after 100 tries
# and the worker exits), so it consumes again as soon as Redis is back (RELIABILITY R36).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# The worker-health probe (/healthz/worker/) waits this long for a worker to answer a ping.
WORKER_PING_TIMEOUT = 1.0

# The one static beat schedule (exactly one beat process runs it, see docker-compose.yml).
CELERY_BEAT_SCHEDULE = {
    # SPEC §5: statuses → return window → tasks → KPI snapshots, in that order, under a lock.
    "nightly-chain": {
        "task": "crm.nightly.nightly_chain_task",
        "schedule": crontab(hour=2, minute=0),
    },
    # RELIABILITY R08: the files of client exports are erased once their 48-hour link expires.
    "export-files-purge": {
        "task": "clients.tasks.export_files_purge_task",
        "schedule": crontab(minute=17),
    },
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request then gets 401 with "WWW-Authenticate: Token" (session
    # first would make it a 403). No Basic auth.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token authentication that also names the actor of the field history (R24).
        "core.api.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: authenticated, plus the per-action role gate of each viewset.
    "DEFAULT_PERMISSION_CLASSES": ["core.api.RoleAllowed"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON first; forms for the browsable API, multipart only when it really is multipart.
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "core.api.StrictMultiPartParser",
    ],
    # Page numbers; exact counts up to 100,000 rows, the planner's estimate above (SPEC §9).
    "DEFAULT_PAGINATION_CLASS": "core.pagination.ListPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "staff.security_events.api_exception_handler",
    # A convenience against runaway scripts, not a security control: fail-open when the cache
    # (Redis) is down. "auth" guards auth/token/ per client IP.
    "DEFAULT_THROTTLE_CLASSES": ["core.api.AnonRateThrottle", "core.api.UserRateThrottle"],
    # "user" leaves room for a telephony integration logging every call of the department.
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "600/min", "auth": "10/min"},
    # The client address is the one the last of this many reverse proxies saw; 0 ignores
    # X-Forwarded-For, which a client could forge.
    "NUM_PROXIES": env.int("TRUSTED_PROXIES", default=0),
}
TRUSTED_PROXIES = REST_FRAMEWORK["NUM_PROXIES"]
SPECTACULAR_SETTINGS = {
    "TITLE": "Abonent CRM API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Lists also document their 400 (a bad filter) and 404 (a page past the last), and that an
    # empty optional query parameter means it is not given.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.schema_hooks.document_list_errors",
        "crm.schema_hooks.document_empty_filters",
    ],
    # Choice sets that share a field name get names of their own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ClientKindEnum": "clients.models.ClientKind",
        "ContractKindEnum": "clients.models.ContractKind",
        "NewContractKindEnum": "retention.serializers.NEW_CONTRACT_KINDS",
        "InteractionKindEnum": "clients.models.InteractionKind",
        "TaskKindEnum": "clients.models.TaskKind",
        "TerminationReasonEnum": "clients.models.TerminationReason",
        "ReassignReasonEnum": "clients.serializers.REASSIGN_REASONS",
    },
}

# --- Business rules (SPEC §3, §8) -----------------------------------------------------------
RETURN_WINDOW_DAYS = env.int("RETURN_WINDOW_DAYS", default=90)
CONTACT_CADENCE_DAYS = env.int("CONTACT_CADENCE_DAYS", default=30)
REQUEST_SLA_URGENT_HOURS = env.int("REQUEST_SLA_URGENT_HOURS", default=4)
REQUEST_SLA_NORMAL_WORKING_DAYS = env.int("REQUEST_SLA_NORMAL_WORKING_DAYS", default=2)
# SPEC §16: months a new client manager needs to reach full capacity (3–6), and the support
# requests a month the technical department can handle (unset: the planner shows the load only).
RAMP_MONTHS = env.int("RAMP_MONTHS", default=4)
if not 3 <= RAMP_MONTHS <= 6:
    raise ImproperlyConfigured("RAMP_MONTHS must be between 3 and 6.")
_support_capacity = env.str("SUPPORT_CAPACITY_REQUESTS", default="").strip()
SUPPORT_CAPACITY_REQUESTS = int(_support_capacity) if _support_capacity else None
# SPEC §10: no business date (contract, call, case, hiring, goal) lies before this day.
try:
    EARLIEST_BUSINESS_DATE = date.fromisoformat(
        env.str("EARLIEST_BUSINESS_DATE", default="2000-01-01")
    )
except ValueError:
    raise ImproperlyConfigured("EARLIEST_BUSINESS_DATE must be a date, YYYY-MM-DD.") from None
for _name in ("RETURN_WINDOW_DAYS", "CONTACT_CADENCE_DAYS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number of days.")

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Absolute lifetime of a signed-in session, and the idle time after which it ends (RELIABILITY
# R14); both are enforced by crm.middleware.SessionLifetimeMiddleware.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)

# Login attempts (django-axes, RELIABILITY R10–R12): 5 failures of one username from one address
# lock that pair for 15 minutes; a success clears the count. The records are database rows.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_CALLABLE = "staff.two_factor.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# The address the nearest trusted proxy saw (TRUSTED_PROXIES), never a client-supplied header.
AXES_CLIENT_IP_CALLABLE = "core.http.client_ip"
AXES_VERBOSE = False

# Two-factor (TOTP, django-otp; RELIABILITY R09, R13). Directors confirm every login with a code
# from an authenticator app, and the admin asks every staff user for one. On by default; off by
# default only on a DEBUG laptop so the demo logins work without a phone.
OTP_REQUIRED_FOR_DIRECTORS = env.bool("OTP_REQUIRED_FOR_DIRECTORS", default=not DEBUG)
OTP_REQUIRED_FOR_ADMIN = env.bool("OTP_REQUIRED_FOR_ADMIN", default=OTP_REQUIRED_FOR_DIRECTORS)
OTP_TOTP_ISSUER = "Abonent CRM"

# Content security policy (django-csp 4): only this site's own files run; no inline script.
# Inline style attributes stay allowed (bar widths computed in templates, htmx's indicator style).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
