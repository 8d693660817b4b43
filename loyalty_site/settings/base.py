"""Settings shared by every profile, read from the environment (django-environ; README lists the variables).

The profile is chosen by DJANGO_SETTINGS_MODULE: loyalty_site.settings.development (manage.py's default, `make
run`), .production (wsgi's default, `make serve`; fails closed) or .test (pytest). Each imports this module.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# Reverse proxies in front of the app: the client's address is then the TRUSTED_PROXY_COUNT-th address from the
# right of X-Forwarded-For (each proxy appends the address it saw); 0: REMOTE_ADDR, X-Forwarded-For ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# The project's own apps (docs/architecture.md: their layers).
PROJECT_APPS = ["loyalty_site", "merchants", "customers", "loyalty", "transactions", "analytics", "system", "api"]
PROJECT_APPS += ["operations", "demo"]

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
    "csp",
    "django_otp",  # the second factor (merchants/two_factor.py): authenticator apps and recovery codes
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ninja",  # its Swagger UI is then served from its own static files, not a CDN
    "procrastinate.contrib.django",  # background jobs, kept in the same database
    "django_prometheus",
    *PROJECT_APPS,
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole request (/metrics)
    "django_guid.middleware.guid_middleware",  # the request id of every log line (X-Request-ID)
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # the Content-Security-Policy header (CONTENT_SECURITY_POLICY below)
    "system.outage.DatabaseUnavailableMiddleware",  # the database out of reach: 503 + Retry-After (DB_UNAVAILABLE_*)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "system.middleware.RejectNulMiddleware",
    "system.settings_store.SettingsPerRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "system.replica.ReadYourWritesMiddleware",  # a user who wrote reads the primary until the replica has it
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): a second factor was given this session
    "system.middleware.ActingUserMiddleware",
    "merchants.middleware.MerchantTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "merchants.sessions.SessionPolicyMiddleware",  # ends sessions past their time (after auth and messages)
    "merchants.login_throttle.TrustedDeviceMiddleware",
    "merchants.middleware.SecondFactorMiddleware",  # sends who must give a second factor to verify or set one up
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # last
]

# Content-Security-Policy (django-csp): scripts only from our own static files, never inline code or on*
# attributes; behaviours are declared with data-* attributes (static/js/forms.js) and data reaches scripts in
# <script type="application/json"> blocks, which are not run. A script that must stay inline takes
# nonce="{{ request.csp_nonce }}" (the header then carries that request's nonce). Styles keep 'unsafe-inline'
# (style attributes; Plotly writes <style> elements). Pages and files are ours alone: no CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],  # Bootstrap's icons in its CSS, the empty favicon
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

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
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DB_POOL_SIZE", 8),
        "timeout": env.float("DB_POOL_TIMEOUT", 5),  # seconds a request waits for a connection, then 503
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# The database out of reach or restarting (system/outage.py): every request answers 503 with Retry-After:
# DB_UNAVAILABLE_RETRY_AFTER seconds, the API as {"code": "database_unavailable", ...}, pages with
# templates/503.html; one warning line is logged, and the next request connects again. A connection attempt
# gives up after DB_CONNECT_TIMEOUT seconds (libpq waits forever by default on an unreachable host).
DB_UNAVAILABLE_RETRY_AFTER = env.int("DB_UNAVAILABLE_RETRY_AFTER", default=5)
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", 5))

# A read replica for the dashboards (system/replica.py; README "Read replica"): DATABASE_REPLICA_URL (any
# streaming replica, the runtime role's login), or LOYALTY_REPLICA=1 for the embedded server's (`make
# replica`). The dashboards, daily analytics, lists and CSV exports read from it while it lags by at most
# DATABASE_REPLICA_MAX_LAG seconds; a user who just wrote reads the primary until the replica has their write
# (a cookie, at most DATABASE_REPLICA_PIN_SECONDS). Each process checks the replica at most once per
# DATABASE_REPLICA_CHECK_SECONDS, and one that did not answer after DATABASE_REPLICA_RETRY_SECONDS.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url_config(env("DATABASE_REPLICA_URL"))
elif env.bool("LOYALTY_REPLICA", default=False) and not env("DATABASE_URL", default=""):
    DATABASES["replica"] = {**DATABASES["default"], "ROLE": "app", "REPLICA": True}
if "replica" in DATABASES:
    DATABASES["replica"]["OPTIONS"] = {
        **{k: v for k, v in DATABASES["default"].get("OPTIONS", {}).items() if k != "pool"},
        "connect_timeout": env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", 2),
        # a query waiting on a lock the replay of a TRUNCATE or DDL holds gives up, and the page reads the primary
        "options": f"-c lock_timeout={env.int('DATABASE_REPLICA_LOCK_TIMEOUT_MS', 2000)}",
    }
    DATABASES["replica"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)  # no pool: a down replica fails fast
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Only with a replica: the router costs a few microseconds per query, which the counter need not pay.
DATABASE_ROUTERS = ["system.replica.ReplicaRouter"] if "replica" in DATABASES else []
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=5)
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=300)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=1)
DATABASE_REPLICA_RETRY_SECONDS = env.float("DATABASE_REPLICA_RETRY_SECONDS", default=5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "merchants.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out address before the password is checked
    "merchants.login_throttle.LoginThrottleBackend",  # then a throttled account, unless the browser is trusted
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The second factor (django-otp; merchants/two_factor.py): a code from an authenticator app (TOTP) or a
# one-time recovery code, asked after the password of platform admins, of staff of a merchant that requires
# it, and of anyone who set one up. OTP_ISSUER names the account in the authenticator app. After each wrong
# code the device refuses codes for OTP_THROTTLE_FACTOR seconds, doubled at each further failure.
OTP_TOTP_ISSUER = env("OTP_ISSUER", default="Loyalty")
OTP_TOTP_THROTTLE_FACTOR = env.int("OTP_THROTTLE_FACTOR", default=1)
OTP_STATIC_THROTTLE_FACTOR = OTP_TOTP_THROTTLE_FACTOR
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin lists and deletes devices (a lost phone), never shows keys or codes

# Logins (merchants/login_throttle.py, README "Logins and sessions").
# Per client address (axes, the address from system.urls_util.client_ip): AXES_FAILURE_LIMIT failed logins
# from one address, whatever the emails, lock that address out for AXES_COOLOFF_MINUTES (each further try
# restarts the cool-off); a success does not wipe an address's failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "system.urls_util.client_ip"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "merchants.access.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False
# Per account (an email, known or not), a throttle rather than a lockout: after LOGIN_THROTTLE_FREE_FAILURES
# failed passwords within LOGIN_THROTTLE_WINDOW_MINUTES, the email may try once per 2, 4, 8... seconds
# after its latest failure, at most LOGIN_THROTTLE_MAX_DELAY_SECONDS. Not made to wait: a browser that logged
# in to the account before (a signed cookie, LOGIN_TRUSTED_DEVICE_DAYS), and an address that has not failed for
# the account, for LOGIN_THROTTLE_FRESH_TRIES tries per window of the account.
LOGIN_THROTTLE_FREE_FAILURES = env.int("LOGIN_THROTTLE_FREE_FAILURES", default=5)
LOGIN_THROTTLE_WINDOW_MINUTES = env.int("LOGIN_THROTTLE_WINDOW_MINUTES", default=60)
LOGIN_THROTTLE_MAX_DELAY_SECONDS = env.int("LOGIN_THROTTLE_MAX_DELAY_SECONDS", default=60)
LOGIN_THROTTLE_FRESH_TRIES = env.int("LOGIN_THROTTLE_FRESH_TRIES", default=10)
LOGIN_TRUSTED_DEVICE_DAYS = env.int("LOGIN_TRUSTED_DEVICE_DAYS", default=90)
if not (
    1 <= LOGIN_THROTTLE_WINDOW_MINUTES <= 1440
    and 0 <= LOGIN_THROTTLE_MAX_DELAY_SECONDS <= 86400
    and LOGIN_THROTTLE_FREE_FAILURES >= 1
):
    raise ImproperlyConfigured(
        "LOGIN_THROTTLE_WINDOW_MINUTES is 1 to 1440, LOGIN_THROTTLE_MAX_DELAY_SECONDS 0 to 86400, "
        "LOGIN_THROTTLE_FREE_FAILURES 1 or more"
    )
# Password reset requests per hour, per client address and per email typed (known or not: the answer is the
# same, and a refused request sends nothing). Reset links are valid for PASSWORD_RESET_TIMEOUT seconds.
PASSWORD_RESET_TIMEOUT = 3600
PASSWORD_RESET_PER_ADDRESS_PER_HOUR = env.int("PASSWORD_RESET_PER_ADDRESS_PER_HOUR", default=10)
PASSWORD_RESET_PER_EMAIL_PER_HOUR = env.int("PASSWORD_RESET_PER_EMAIL_PER_HOUR", default=3)
# Staff invitations per hour, per client address, per email invited and per merchant.
INVITE_PER_ADDRESS_PER_HOUR = env.int("INVITE_PER_ADDRESS_PER_HOUR", default=20)
INVITE_PER_EMAIL_PER_HOUR = env.int("INVITE_PER_EMAIL_PER_HOUR", default=3)
INVITE_PER_MERCHANT_PER_HOUR = env.int("INVITE_PER_MERCHANT_PER_HOUR", default=20)

# Sessions (merchants/sessions.py): SESSION_MAX_HOURS after logging in at most, however busy; owners,
# managers and platform admins are logged out after SESSION_IDLE_MINUTES without a request; a user who is
# only ever a cashier gets a shift of SESSION_CASHIER_SHIFT_HOURS from logging in instead (a counter device
# sits idle between customers); SESSION_MAX_HOURS still applies.
SESSION_MAX_HOURS = env.int("SESSION_MAX_HOURS", default=12)
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_CASHIER_SHIFT_HOURS = env.int("SESSION_CASHIER_SHIFT_HOURS", default=10)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
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
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))  # where collectstatic writes
WHITENOISE_USE_FINDERS = True  # serve from the finders without collectstatic (production: collected files)

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"
# CSV exports of the dashboard's tables (system/tables.py) are streamed from a server-side cursor and cut at
# EXPORT_MAX_ROWS rows, shown beside each CSV button; a cut file ends with a line that says so. An export must
# end within gunicorn's 30 s worker timeout: 20,000 transactions took 18 s on a busy 2-core machine.
EXPORT_MAX_ROWS = env.int("EXPORT_MAX_ROWS", default=20_000)
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
# The month partitions of audit_logs and qr_scan_logs made ahead of time (system/partitions.py): the daily job
# operations.create_partitions keeps this many months after the current one ready (1 to 120).
PARTITIONS_AHEAD_MONTHS = env.int("PARTITIONS_AHEAD_MONTHS", default=3)
if not 1 <= PARTITIONS_AHEAD_MONTHS <= 120:
    raise ImproperlyConfigured(f"PARTITIONS_AHEAD_MONTHS is {PARTITIONS_AHEAD_MONTHS}: it must be 1 to 120.")
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
# sent when it is a UUID, else a new one, returned in the response's X-Request-ID). Production writes JSON lines
# (python-json-logger); LOG_LEVEL sets the level of the project's loggers and of django.request/security.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
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
        **{app: {"level": LOG_LEVEL} for app in PROJECT_APPS},
    },
}
