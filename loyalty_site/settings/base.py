"""Settings shared by every profile, read from the environment (django-environ; README lists the variables).

The profile is chosen by DJANGO_SETTINGS_MODULE: loyalty_site.settings.development (manage.py's default, `make
run`), .production (wsgi's default, `make serve`; fails closed) or .test (pytest). Each imports this module.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# Reverse proxies in front of the app: the client's address is then the TRUSTED_PROXY_COUNT-th address from the
# right of X-Forwarded-For (each proxy appends the address it saw); 0: REMOTE_ADDR, X-Forwarded-For ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_guid",
    "django_tables2",
    "django_filters",
    "axes",
    "ninja",  # its Swagger UI is then served from its own static files, not a CDN
    "procrastinate.contrib.django",  # background jobs, kept in the same database
    "django_prometheus",
    "loyalty_site",
    "merchants",
    "customers",
    "loyalty",
    "transactions",
    "analytics",
    "system",
    "api",
    "operations",
    "demo",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole request (/metrics)
    "django_guid.middleware.guid_middleware",  # the request id of every log line (X-Request-ID)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "system.middleware.RejectNulMiddleware",
    "system.settings_store.SettingsPerRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "system.middleware.ActingUserMiddleware",
    "merchants.middleware.MerchantTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # last
]

ROOT_URLCONF = "loyalty_site.urls"
WSGI_APPLICATION = "loyalty_site.wsgi.application"

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
                "merchants.context_processors.merchant",
            ],
        },
    },
]

# The database: DATABASE_URL, or the embedded PostgreSQL in .data/ when it is unset.
# Two roles (docs/architecture.md "Database roles"): the web app and the worker connect as the runtime role,
# which owns nothing and may not change the schema; migrations and the commands that change the schema connect
# as the owner role. LOYALTY_DB_ROLE picks one: "app" (the default) or "owner", which manage.py sets for
# OWNER_COMMANDS and the test settings set. The embedded server has both (loyalty_app, loyalty_owner, with
# passwords kept in the data directory); with DATABASE_URL (the runtime role's), DATABASE_OWNER_URL is the
# owner's, and without it every process uses DATABASE_URL's role.
DB_ROLE = env("LOYALTY_DB_ROLE", default="app")
if DB_ROLE not in ("app", "owner"):
    raise ImproperlyConfigured(f"LOYALTY_DB_ROLE must be app or owner, not {DB_ROLE!r}")
if env("DATABASE_URL", default=""):
    _owner_url = env("DATABASE_OWNER_URL", default="")
    DATABASES = {"default": env.db_url_config(_owner_url if DB_ROLE == "owner" and _owner_url else env("DATABASE_URL"))}
    # The role the migrations grant the runtime privileges to: DATABASE_URL's, when the owner's is another
    DATABASE_RUNTIME_ROLE = env.db_url_config(env("DATABASE_URL"))["USER"] if _owner_url else ""
else:
    DATABASES = {
        "default": {
            "ENGINE": "loyalty_site.embedded_postgres",
            "NAME": "loyalty",
            "DATA_DIR": env("LOYALTY_DATA_DIR", default=str(BASE_DIR / ".data")),
            "ROLE": DB_ROLE,
        }
    }
    DATABASE_RUNTIME_ROLE = "loyalty_app"
# Server-side binding lets psycopg prepare what a connection runs again and again (from the 5th run on):
# the counter's statements are then planned once per connection instead of once per request, which
# made the counter about a third faster (docs/benchmarks.md). DB_PREPARED=0 turns it off, e.g. behind a
# connection pooler that cannot keep prepared statements.
if env.bool("DB_PREPARED", default=True):
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
if env("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}
if env.bool("DB_POOL", default=True):
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": env.int("DB_POOL_SIZE", 8)}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "merchants.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed logins: after AXES_FAILURE_LIMIT failures for one email from one address, that
# email is locked out from that address for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "merchants.access.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Front-end packages come from npm (package.json) and are served from node_modules.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules/bootstrap/dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules/bootstrap-icons/font"),
    ("vendor/plotly", BASE_DIR / "node_modules/plotly.js-dist-min"),
    ("vendor/jsqr", BASE_DIR / "node_modules/jsqr/dist"),
]
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True  # serve from the finders without collectstatic (production: collected files)

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", default="")  # e.g. GB: read numbers typed without +44
SITE_URL = env("SITE_URL", default="")  # e.g. https://loyalty.example.com, for the links in emails
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Loyalty <no-reply@loyalty.local>")

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
SMS_BACKEND = env("SMS_BACKEND", default="system.sms.ConsoleBackend")  # system/sms.py: a class with send(to, body)

# Backups and point-in-time recovery (operations/backups.py; README "Backups and point-in-time recovery").
# Backups go to BACKUP_DIR, each copied to BACKUP_COPY_DIR (a second disk or a mounted remote; empty: no
# copy). The WAL archive is the embedded server's; with DATABASE_URL, BACKUP_WAL_ARCHIVE_DIR is where the
# operator's archive_command puts WAL. Backup chains are kept BACKUP_KEEP_DAYS days. The schedule is in
# cron syntax, in UTC: a full backup daily, an incremental hourly. An incremental run takes a full backup
# instead when the newest full one started more than BACKUP_FULL_EVERY_HOURS ago (the daily one was missed).
from loyalty_site import embedded_db  # noqa: E402

_LOYALTY_DATA_DIR = Path(env("LOYALTY_DATA_DIR", default=str(BASE_DIR / ".data")))


def _pg_bin_dir() -> str:
    """The embedded or the machine's PostgreSQL binaries; empty when there are none (a DATABASE_URL host
    without them: backups then ask for PG_BIN_DIR)."""
    try:
        return str(embedded_db.bin_dir())
    except embedded_db.EmbeddedDatabaseError:
        return ""


# pg_basebackup and its kin, a string: PG_BIN_DIR when set (the machine's PostgreSQL is then not looked for)
PG_BIN_DIR = env("PG_BIN_DIR", default="") or _pg_bin_dir()
BACKUP_DIR = Path(env("BACKUP_DIR", default=str(_LOYALTY_DATA_DIR / "backups")))
BACKUP_COPY_DIR = env("BACKUP_COPY_DIR", default="")
BACKUP_WAL_ARCHIVE_DIR = env("BACKUP_WAL_ARCHIVE_DIR", default="") or (
    "" if env("DATABASE_URL", default="") else str(embedded_db.wal_archive_dir(_LOYALTY_DATA_DIR))
)
BACKUP_KEEP_DAYS = env.int("BACKUP_KEEP_DAYS", default=7)
BACKUP_FULL_CRON = env("BACKUP_FULL_CRON", default="0 2 * * *")
BACKUP_INCREMENTAL_CRON = env("BACKUP_INCREMENTAL_CRON", default="30 * * * *")
BACKUP_FULL_EVERY_HOURS = env.int("BACKUP_FULL_EVERY_HOURS", default=24)

# /metrics (operations/metrics.py), in Prometheus' format. With METRICS_TOKEN set, only a request with
# `Authorization: Bearer <METRICS_TOKEN>` gets it. Without one, direct requests from METRICS_ALLOWED_NETWORKS
# (CIDRs, comma-separated; loopback in development, none in production) do; a request through a proxy never
# passes by address. Anything else gets a 403.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])

# Maintenance (operations/maintenance.py; `python manage.py maintenance`, and daily at MAINTENANCE_CRON, UTC).
# ANALYZE: tables changed by more than MAINTENANCE_ANALYZE_FRACTION of their live rows (and at least
# MAINTENANCE_ANALYZE_MIN_ROWS rows) since their last analyze; autovacuum's own trigger is 10%.
# REINDEX CONCURRENTLY: btree indexes of MAINTENANCE_REINDEX_MIN_BYTES or more whose leaf pages are on
# average less than MAINTENANCE_REINDEX_MIN_LEAF_DENSITY % full (a fresh index: about 90) or more than
# MAINTENANCE_REINDEX_MAX_LEAF_FRAGMENTATION % out of order (pgstattuple's pgstatindex).
# Archiving: audit logs older than MAINTENANCE_ARCHIVE_AUDIT_DAYS, scan logs older than
# MAINTENANCE_ARCHIVE_SCAN_DAYS and, if MAINTENANCE_ARCHIVE_ANALYTICS_DAYS is above 0, the daily and hourly
# figures older than that are written to gzip'd CSV files in ARCHIVE_DIR, then deleted
# MAINTENANCE_ARCHIVE_BATCH_SIZE rows per transaction. `python manage.py load_archive FILE` loads one back.
MAINTENANCE_CRON = env("MAINTENANCE_CRON", default="50 3 * * *")
MAINTENANCE_ANALYZE_FRACTION = env.float("MAINTENANCE_ANALYZE_FRACTION", default=0.2)
MAINTENANCE_ANALYZE_MIN_ROWS = env.int("MAINTENANCE_ANALYZE_MIN_ROWS", default=1000)
MAINTENANCE_REINDEX_MIN_BYTES = env.int("MAINTENANCE_REINDEX_MIN_BYTES", default=8 * 1024 * 1024)
MAINTENANCE_REINDEX_MIN_LEAF_DENSITY = env.float("MAINTENANCE_REINDEX_MIN_LEAF_DENSITY", default=50)
MAINTENANCE_REINDEX_MAX_LEAF_FRAGMENTATION = env.float("MAINTENANCE_REINDEX_MAX_LEAF_FRAGMENTATION", default=90)
MAINTENANCE_ARCHIVE_AUDIT_DAYS = env.int("MAINTENANCE_ARCHIVE_AUDIT_DAYS", default=730)
MAINTENANCE_ARCHIVE_SCAN_DAYS = env.int("MAINTENANCE_ARCHIVE_SCAN_DAYS", default=365)
MAINTENANCE_ARCHIVE_ANALYTICS_DAYS = env.int("MAINTENANCE_ARCHIVE_ANALYTICS_DAYS", default=0)  # 0: kept
MAINTENANCE_ARCHIVE_BATCH_SIZE = env.int("MAINTENANCE_ARCHIVE_BATCH_SIZE", default=5000)
# ARCHIVE_DIR must be the same directory (shared storage) for every machine that runs maintenance: a run
# finishes the deletions of archives an interrupted run left there. Copy it off the machine like backups.
ARCHIVE_DIR = Path(
    env("ARCHIVE_DIR", default="") or Path(env("LOYALTY_DATA_DIR", default=str(BASE_DIR / ".data"))) / "archive"
)

# Background jobs (procrastinate, in this database; README "Background jobs"): `python manage.py worker`
# runs them, `make run`/`make serve` start one beside the web server. A worker writes a heartbeat every
# WORKER_HEARTBEAT_SECONDS; one silent for WORKER_STALLED_SECONDS (killed, its machine gone) is dead,
# and the retry_stalled_jobs job runs its unfinished jobs again. WORKER_CONCURRENCY jobs run at once,
# so a long job does not hold up mail. remove_old_jobs deletes finished jobs (succeeded, cancelled,
# aborted) after JOBS_KEEP_DAYS; failed ones are never removed: the admin shows them and can retry them,
# not delete them. The schedule is operations/jobs.py.
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": env.int("WORKER_CONCURRENCY", default=2),
    "update_heartbeat_interval": env.float("WORKER_HEARTBEAT_SECONDS", default=10),
    "stalled_worker_timeout": env.float("WORKER_STALLED_SECONDS", default=30),
}
JOBS_KEEP_DAYS = env.int("JOBS_KEEP_DAYS", default=14)
# WORKER_RECURRING=0: workers queue no recurring job but retry_stalled_jobs (cron runs the commands instead).
WORKER_RECURRING = env.bool("WORKER_RECURRING", default=True)

# Logging: one line per event on standard output, with the request id (django-guid: the X-Request-ID a proxy
# sent, else a new one, returned in the response's X-Request-ID). Production writes JSON lines
# (python-json-logger); LOG_LEVEL sets the level of the project's loggers and of django.request/security.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": False,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
}
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="text")  # text or json
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(correlation_id)s %(message)s",
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "correlation_id": "request_id",
            },
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["stdout"], "level": "WARNING"},
    "loggers": {
        "django": {"level": "INFO"},
        "django.request": {"level": LOG_LEVEL},
        "django.security": {"level": LOG_LEVEL},
        "django.db.backends": {"level": "INFO"},
        "django_guid": {"level": "WARNING"},
        **{
            app: {"level": LOG_LEVEL}
            for app in (
                "loyalty_site",
                "merchants",
                "customers",
                "loyalty",
                "transactions",
                "analytics",
                "system",
                "api",
                "operations",
                "demo",
            )
        },
    },
}
