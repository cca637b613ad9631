"""Caseload settings: one module, configured by environment variables.

Every variable is documented in docs/configuration.md. Defaults are safe for local use:
SQLite, a file outbox for email, the database task queue, DEBUG off unless asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (container secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return env(name, default)


DEBUG = env_bool("DEBUG")
SECRET_KEY = env_secret(
    "SECRET_KEY", "local-only-secret-key-change-me-for-any-real-deployment-0123456789"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # First: its `runserver` serves the ASGI application, websockets included (decision 0011).
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_tasks_db",
    "caseload.worker",
    "caseload.accounts",
    "caseload.practices",
    "caseload.clients",
    "caseload.clinical",
    "caseload.visits",
    "caseload.scheduling",
    "caseload.plans",
    "caseload.documents",
    "caseload.portal",
    "caseload.messaging",
    "caseload.audit",
    "caseload.workspace",
    "caseload.imports",
    "caseload.exports",
    "ninja",  # the API docs' own static files (no CDN under the CSP)
    "caseload.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "caseload.lib.middleware.RequestIdMiddleware",
    "caseload.lib.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "caseload.lib.middleware.StripControlCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After MessageMiddleware: a timed-out session is told why it was signed out.
    "caseload.lib.middleware.SessionTimeoutMiddleware",
    "caseload.practices.middleware.PracticeTimeZoneMiddleware",
    # After PracticeTimeZoneMiddleware (the membership): staff set up a required second factor.
    "caseload.practices.middleware.StaffTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "caseload.audit.middleware.AuditDeniedMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "caseload.urls"
WSGI_APPLICATION = "caseload.wsgi.application"
ASGI_APPLICATION = "caseload.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "caseload" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "caseload.workspace.context_processors.navigation",
                "caseload.portal.context_processors.account_practice",
            ],
        },
    },
]

# Database: SQLite (WAL) by default; PostgreSQL via DATABASE_URL.
DATABASE_URL = env("DATABASE_URL")
# What this process serves: asgi.py sets "asgi" (so does `manage.py runserver`, which serves
# caseload.asgi), wsgi.py "wsgi"; unset for other commands, the task worker and the tests.
SERVER_MODE = env("SERVER_MODE")
if DATABASE_URL:
    # Under ASGI each request runs in a thread of its own (reused, but as many as there are
    # requests at once), so a persistent connection would be kept by every such thread: an
    # ASGI server takes connections from a pool of at most DATABASE_POOL_MAX_SIZE per process
    # instead (README: sizing it). A WSGI worker serves one request at a time and keeps its
    # connection (DATABASE_CONN_MAX_AGE, 60 s by default).
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if SERVER_MODE == "wsgi" else 0),
            conn_health_checks=True,
        )
    }
    if (
        SERVER_MODE == "asgi"
        and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
        and env_bool("DATABASE_POOL", True)
    ):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them (Django requires 0)
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1),
            "max_size": env_int("DATABASE_POOL_MAX_SIZE", 6),
            # Seconds a request waits for a free connection before failing.
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(BASE_DIR / "var" / "caseload.sqlite3")),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A connection per thread, kept: WSGI workers and the ASGI handler's request
            # threads (lib/handlers.py) are reused, so their connections are too.
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60 if SERVER_MODE else 0),
            "CONN_HEALTH_CHECKS": True,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: shared by every app server (rate limits live here). Database by default.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "caseload_cache",
        }
    }

# Live updates (MSG-2, decision 0011): a channel layer carries "something changed" events to
# the open pages of a user. Several app server processes need Redis; in one process (the
# demo, the tests) an in-memory layer is enough.
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env("CHANNEL_LAYER_PREFIX", "caseload"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: email-only accounts, verified addresses, invitation-only signup.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
# The address is the identity invitations and guardianships are bound to: no second address.
ACCOUNT_MAX_EMAIL_ADDRESSES = 1
ACCOUNT_ADAPTER = "caseload.portal.adapter.AccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PASSWORD_INPUT_RENDER_VALUE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Caseload] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",
    "login": "30/m/ip",
    "reset_password": "5/m/ip,5/5m/key",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "Caseload"
# Two-factor sign-in (decision 0023): a practice may require it of its staff; the adapter
# keeps a required factor from being removed, the forms audit codes refused by the limit.
MFA_ADAPTER = "caseload.portal.adapter.MFAAdapter"
MFA_FORMS = {
    "authenticate": "caseload.audit.forms.AuditedAuthenticateForm",
    "reauthenticate": "caseload.audit.forms.AuditedReauthenticateForm",
}
# Passkeys need HTTPS, except on a developer's own machine.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# "Send me a sign-in code": the way in for someone locked out by others' wrong passwords.
# The code goes to the account's address, works once, in the browser that asked, for 10
# minutes and 3 tries; an account with a second factor is still asked for it.
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 10 * 60

# Sessions (I7): server-side, idle and absolute limits enforced by SessionTimeoutMiddleware.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60)
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env_int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_HTTPS = env_bool("SECURE_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# The preload directive only allows submitting the domain to browsers' preload lists; set
# SECURE_HSTS_PRELOAD=false for a domain whose subdomains can't all be served over HTTPS.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS >= 31536000)
if env_bool("BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Rate limits and audit IPs take the address the last trusted proxy appended to
    # X-Forwarded-For; without this every sign-in would share the load balancer's address.
    ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# Email: Django 6.1 MAILERS. A file outbox by default (readable at /outbox/ in DEBUG).
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Caseload <no-reply@caseload.local>")
OUTBOX_DIR = Path(env("OUTBOX_DIR", str(BASE_DIR / "var" / "outbox")))
if env("SMTP_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env("SMTP_HOST"),
                "port": env_int("SMTP_PORT", 587),
                "username": env("SMTP_USER"),
                "password": env_secret("SMTP_PASSWORD"),
                "use_tls": env_bool("SMTP_STARTTLS", not env_bool("SMTP_SSL")),
                "use_ssl": env_bool("SMTP_SSL"),
                "timeout": env_int("SMTP_TIMEOUT", 20),
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(OUTBOX_DIR)},
        }
    }
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 8)
EMAIL_RETRY_BASE_SECONDS = env_int("EMAIL_RETRY_BASE_SECONDS", 30)
# An email handed to the mail server this long ago with no outcome recorded: its worker died
# mid-send; the invitation shows "not delivered — retrying" until the task runs again.
EMAIL_HANDOFF_STALE_SECONDS = env_int("EMAIL_HANDOFF_STALE_SECONDS", 90)

# Background tasks: the database queue, served by `manage.py run_worker --queue-name '*'`
# (db_worker with leases and reconnection, decision 0020).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "email"]}}

INVITATION_VALID_DAYS = 14

# Whole-record exports (decision 0031): the ZIP waits this long for its single download.
RECORD_EXPORT_VALID_HOURS = env_int("RECORD_EXPORT_VALID_HOURS", 24)

# Secure messaging (MSG-1 … MSG-3).
MESSAGE_MAX_LENGTH = 5000

# JSON API (decision 0029): requests per minute per token (or session user).
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 120)
# The "you have a message" email waits this long, and is not sent if everything was read by
# then: two people chatting live don't get an email for each message.
MESSAGE_EMAIL_DELAY_SECONDS = env_int("MESSAGE_EMAIL_DELAY_SECONDS", 120)

# Treatment plan generation (TP-3): an OpenAI-compatible chat-completions service when
# PLAN_AI_BASE_URL is set; otherwise the offline clinical knowledge base.
PLAN_AI_BASE_URL = env("PLAN_AI_BASE_URL")
PLAN_AI_MODEL = env("PLAN_AI_MODEL")
PLAN_AI_API_KEY = env_secret("PLAN_AI_API_KEY")
PLAN_AI_TIMEOUT = env("PLAN_AI_TIMEOUT", "30")  # seconds, may be fractional

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "caseload" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND", "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "caseload.lib.middleware.RequestIdLogFilter"},
        "mask_secrets": {"()": "caseload.lib.log_masking.MaskSecretsLogFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id", "mask_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own console handler (DEBUG only, a second copy of each line) is dropped:
        # its records reach the root handler, where secrets are masked.
        "django": {"level": "INFO"},
        # Loggers of request paths: invitation and password-reset links are masked before
        # any handler (Django's own included) sees them (caseload.lib.log_masking).
        "django.request": {"filters": ["mask_secrets"]},
        "django.channels.server": {"filters": ["mask_secrets"]},
        "django.server": {"handlers": ["console"], "propagate": False, "filters": ["mask_secrets"]},
        "weasyprint": {"level": "WARNING"},  # a line per rendering step at INFO
    },
}
DEFAULT_EXCEPTION_REPORTER_FILTER = "caseload.lib.errors.SensitiveDataExceptionReporterFilter"
LOGIN_URL_PATH = "/accounts/login/"
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", "US")
# App servers load the ICD-10-CM index and warm PDF rendering up when they start, before
# their first request (caseload/startup.py); off under pytest.
WARM_UP_AT_START = env_bool("WARM_UP_AT_START", True)
SILENCED_SYSTEM_CHECKS = ["auth.W004"]  # email uniqueness is a case-insensitive constraint

# Session reminders (SCH-3, caseload/scheduling/reminders.py): the worker looks for due
# reminders this often (`manage.py send_reminders` starts the chain). Text messages go
# through SMS_PROVIDER, the dotted path of a class with `send(to, body) -> str` that reads its
# own credentials from the environment; unset (the default), no text message is ever sent.
REMINDER_SCAN_SECONDS = env_int("REMINDER_SCAN_SECONDS", 300)
SMS_PROVIDER = env("SMS_PROVIDER") or None
