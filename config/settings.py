"""Settings for the postmortem tracker.

Every value that differs between deployments comes from the environment
(django-environ). The defaults give a working single-machine install with no
services: SQLite in ``var/`` and kombu's filesystem broker in ``var/broker``.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Absolute base URL used for links in emails and feeds.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

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
    "drf_spectacular_sidecar",  # Swagger UI's assets, served locally
    "django_celery_beat",
    "taggit",
    "bootstrap",  # Bootstrap 5 CSS and JS, served by the app (django-bootstrap-static)
    "axes",  # sign-in lockout per account and per address
    "csp",  # Content-Security-Policy header
    "incidents",
    "postmortems",
    "actions",
    # Sign-in with the organisation's OpenID Connect provider (see the OIDC block below). Always
    # installed so its tables exist; its admin pages show only when a provider is configured.
    "accounts",
    "trackers",  # action items in GitHub Issues and Jira (docs/trackers.md)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the request: a NUL or non-UTF-8 byte in it is a 400.
    "incidents.middleware.MalformedRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "incidents.middleware.TimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A statement PostgreSQL cancelled (DATABASE_STATEMENT_TIMEOUT) becomes a 503 that says so.
    "incidents.middleware.DatabaseTimeoutMiddleware",
    # Last: it turns a sign-in that axes refused into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "accounts.access.template_context",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database: SQLite file by default, anything dj-database-url style via DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for locks instead of failing,
    # take the write lock at BEGIN so read-then-write transactions never deadlock,
    # and let readers proceed while one process writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The pages' queries are short; PostgreSQL's JIT compiles the large ones (archive
        # search, metrics) for ~100 ms and saves less than that, so it is off for the app.
        # No request may hold the database for minutes: in a web process (config/wsgi.py,
        # config/asgi.py, `manage.py runserver` set TRACKER_PROCESS=web) PostgreSQL cancels any
        # statement past DATABASE_STATEMENT_TIMEOUT seconds (0: never) and the page says so with
        # a 503 (incidents.middleware). Workers, beat and commands (migrations, index rebuilds)
        # do bigger work: they take DATABASE_JOB_STATEMENT_TIMEOUT, none by default.
        _web = os.environ.get("TRACKER_PROCESS") == "web"
        _timeout_name = "DATABASE_STATEMENT_TIMEOUT" if _web else "DATABASE_JOB_STATEMENT_TIMEOUT"
        _statement_timeout = env.int(_timeout_name, default=30 if _web else 0)
        if _statement_timeout < 0:
            raise ImproperlyConfigured(f"{_timeout_name} is in whole seconds, 0 for none.")
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "options", f"-c jit=off -c statement_timeout={_statement_timeout * 1000}"
        )

# The cache holds the rate limits (password reset, failed token checks), so every web process
# must share it: a directory under VAR_DIR by default, e.g. redis://host:6379/1 across machines.
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in lockout (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username,
# or from one client address, sign-in (the admin's too) is refused until no attempt has been
# made for AXES_COOLOFF_MINUTES. The lockout page says when to try again.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
_cooloff_minutes = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes)
if AXES_FAILURE_LIMIT < 1 or _cooloff_minutes < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be at least 1.")
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "incidents.accounts.lockout_response"
# Every limit counts by incidents.accounts.client_ip: behind TRUSTED_PROXY_COUNT proxies that
# append to X-Forwarded-For, the address the outermost one saw; otherwise REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if env.bool("BEHIND_PROXY", default=False) else 0)
AXES_CLIENT_IP_CALLABLE = "incidents.accounts.client_ip"
# Password reset: requests allowed per client address and per email address (django-ratelimit),
# and failed API token checks allowed per client address, before a 429.
PASSWORD_RESET_RATE_PER_IP = env.str("PASSWORD_RESET_RATE_PER_IP", default="10/h")
PASSWORD_RESET_RATE_PER_EMAIL = env.str("PASSWORD_RESET_RATE_PER_EMAIL", default="3/h")
API_TOKEN_FAILURE_RATE = env.str("API_TOKEN_FAILURE_RATE", default="20/h")
RATELIMIT_IP_META_KEY = "incidents.accounts.client_ip"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# ---- Sign-in with the organisation's OpenID Connect provider (mozilla-django-oidc, accounts/) ----
# Off unless OIDC_RP_CLIENT_ID is set: then the site behaves exactly as without this block.
# Endpoints come from the issuer's discovery document (fetched on first use, never at import)
# unless set one by one. README "Signing in with your identity provider" lists the variables.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="").rstrip("/")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default="")  # RP-initiated logout
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_TOKEN_USE_BASIC_AUTH = env.bool("OIDC_TOKEN_USE_BASIC_AUTH", default=False)
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on")  # "Sign in with <name>"
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="")  # e.g. groups; teams from the admin's mapping
# A provider sign-in is checked with the provider again (prompt=none) after this many seconds, so
# an account deactivated there is signed out here at its next page load after that.
OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = env.int("OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS", default=15 * 60)
OIDC_CLOCK_LEEWAY_SECONDS = env.int("OIDC_CLOCK_LEEWAY_SECONDS", default=30)
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of RP-initiated logout
# The password form (break-glass admins); turning it off needs a provider.
LOCAL_LOGIN_ENABLED = env.bool("LOCAL_LOGIN_ENABLED", default=True)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)  # seconds; Django's default
if OIDC_ENABLED:
    _endpoints = (OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT, OIDC_OP_JWKS_ENDPOINT)
    if not OIDC_OP_ISSUER and not all(_endpoints):
        raise ImproperlyConfigured(
            "With OIDC_RP_CLIENT_ID set, set OIDC_OP_ISSUER (discovery) or the four OIDC_OP_*_ENDPOINT variables."
        )
    AUTHENTICATION_BACKENDS.insert(1, "accounts.backends.OIDCBackend")  # after axes' lockout check
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
        "accounts.middleware.SessionRefresh",
    )
if not LOCAL_LOGIN_ENABLED:
    if not OIDC_ENABLED:
        raise ImproperlyConfigured("LOCAL_LOGIN_ENABLED=false needs a provider (OIDC_RP_CLIENT_ID) to sign in with.")
    AUTHENTICATION_BACKENDS.remove("django.contrib.auth.backends.ModelBackend")  # the admin's form too

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Serve static files from the finders in development, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Email: console by default; SMTP (or anything) via EMAIL_URL, e.g. smtp://user:pw@host:587/?tls=True
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Postmortem tracker <postmortems@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: kombu's filesystem transport needs no server; Redis or RabbitMQ via CELERY_BROKER_URL.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
    }
else:
    # Keep the visibility timeout well above the longest task and retry countdown,
    # or Redis redelivers a task that is still running.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600)}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Tasks without an explicit queue go here; a test worker gets a queue of its own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")

# The one base for the REST API (config/api_urls.py): sessions for the browser, personal
# tokens (incidents.api_auth) for scripts; the same permission rules as the pages.
REST_FRAMEWORK = {
    # Session first: its lack of a WWW-Authenticate header makes a missing sign-in a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "incidents.api_auth.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "config.api_errors.ApiAutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    # JSON only: the browsable renderer's pre-filled forms held redacted sections; /api/docs/ serves people.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PARSER_CLASSES": [
        "config.api_parsers.SafeJSONParser",  # a depth limit, and only numbers a field can hold
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # A 429 with Retry-After past these (config.api_throttles): per personal token (a session counts
    # as its user), per address for requests without a sign-in, and per address for alert webhooks.
    "DEFAULT_THROTTLE_CLASSES": [
        "config.api_throttles.TokenOrUserRateThrottle",
        "config.api_throttles.AnonIPRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api-user": env.str("API_RATE_USER", default="3000/h"),
        "api-anon": env.str("API_RATE_ANON", default="120/h"),
        "api-webhook": env.str("API_RATE_WEBHOOK", default="600/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Postmortem tracker API",
    "DESCRIPTION": (
        "Incidents, postmortems and action items. Authenticate with a personal token "
        "(`Authorization: Bearer <token>`, created at /api/tokens/) or a browser session. "
        "Relations are plain ids; every list is paginated (`page`) and filterable; errors are "
        'JSON: `{"detail": "...", "code": "...", "errors": {"field": ["..."]}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "webhookSecret": {
                "type": "http",
                "scheme": "bearer",
                "description": "The shared secret ALERT_WEBHOOK_SECRET, for the alert webhooks only.",
            }
        }
    },
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "PostmortemStatusEnum": "postmortems.models.Postmortem.Status",
        "ActionItemStatusEnum": "actions.models.ActionItem.Status",
        "NotificationStateEnum": "actions.models.Notification.State",
        "NotificationKindEnum": "actions.models.Notification.Kind",
        "TimelineEventKindEnum": "incidents.models.TimelineEvent.Kind",
        "ActionItemKindEnum": "actions.models.ActionItem.Kind",
        "AlertStatusEnum": ["firing", "resolved"],
    },
}

# Alert webhooks (/api/v1/webhooks/...): off until ALERT_WEBHOOK_SECRET is set; senders
# authenticate with "Authorization: Bearer <secret>". The map turns an alert's "severity"
# label into a severity name; labels it does not know get ALERT_DEFAULT_SEVERITY.
ALERT_WEBHOOK_SECRET = env.str("ALERT_WEBHOOK_SECRET", default="")
ALERT_SEVERITY_MAP = env.json("ALERT_SEVERITY_MAP", default={"critical": "SEV2", "warning": "SEV3", "info": "SEV4"})
if not isinstance(ALERT_SEVERITY_MAP, dict) or not all(isinstance(v, str) for v in ALERT_SEVERITY_MAP.values()):
    raise ImproperlyConfigured(
        'ALERT_SEVERITY_MAP must be a JSON object of label -> severity name, e.g. {"critical": "SEV2"}.'
    )
ALERT_DEFAULT_SEVERITY = env.str("ALERT_DEFAULT_SEVERITY", default="SEV4")

TAGGIT_CASE_INSENSITIVE = True

# Archive search: the PostgreSQL text search configuration (stemming and stop words).
SEARCH_CONFIG = env.str("SEARCH_CONFIG", default="english")

# Action items: when the chase job reminds owners and escalates (days overdue, in the
# owner's time zone), and when reminders and digests go out (local hour and weekdays,
# Monday = 0). Reminders follow the steps, then keep doubling past the last one.
ACTION_REMINDER_STEPS = env.list("ACTION_REMINDER_STEPS", cast=int, default=[1, 2, 4, 8, 16, 32, 64])
_steps = ACTION_REMINDER_STEPS
if not _steps or sorted(set(_steps)) != _steps or _steps[0] < 1:
    raise ImproperlyConfigured("ACTION_REMINDER_STEPS must be increasing whole days, from 1 up.")
ACTION_ESCALATE_AFTER_DAYS = env.int("ACTION_ESCALATE_AFTER_DAYS", default=7)
ACTION_DUE_SOON_DAYS = env.int("ACTION_DUE_SOON_DAYS", default=7)
ACTION_CHASE_HOUR = env.int("ACTION_CHASE_HOUR", default=9)
ACTION_CHASE_WEEKDAYS = env.list("ACTION_CHASE_WEEKDAYS", cast=int, default=[0, 1, 2, 3, 4])
ACTION_DIGEST_WEEKDAY = env.int("ACTION_DIGEST_WEEKDAY", default=0)
ACTION_DIGEST_HOUR = env.int("ACTION_DIGEST_HOUR", default=8)
# The weekly organisation summary goes here when set.
ORG_DIGEST_EMAIL = env.str("ORG_DIGEST_EMAIL", default="")

# Security: strict by default outside debug; each can be relaxed from the environment
# (e.g. SECURE_SSL_REDIRECT=false behind a proxy that already redirects).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from our own static files (no inline code,
# no handlers in attributes). Styles keep 'unsafe-inline': Bootstrap's components and
# Swagger UI set styles inline. data: images are Bootstrap's icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own console handler would print each line a second time beside the root's.
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}

# Issue trackers (trackers/, docs/trackers.md). Tokens and webhook secrets are stored encrypted
# with this Fernet key (`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
# Development derives one from SECRET_KEY; a production server without it refuses to store credentials.
TRACKER_ENCRYPTION_KEY = env.str("TRACKER_ENCRYPTION_KEY", default="")
TRACKER_DERIVE_DEV_KEY = DEBUG
# The reconcile job reads back each linked issue not read for this many seconds.
TRACKER_RECONCILE_AFTER = env.int("TRACKER_RECONCILE_AFTER", default=3600)
