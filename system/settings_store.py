"""Typed platform settings (system_settings), with the defaults the code needs.

Within a request (SettingsPerRequestMiddleware) every setting is read once, in one query, at the
first use; outside one, each call reads the table.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection

from system.models import SystemSetting

_per_request: ContextVar[dict | None] = ContextVar("settings_per_request", default=None)

# key: (default, help); every one is a whole number of at least 1
DEFAULTS = {
    "scan.max_failures": (5, "Failed scans from one user or address within the window before scanning pauses."),
    "scan.failure_window_minutes": (5, "The window in which failed scans are counted."),
    "scan.block_minutes": (10, "How long scanning pauses after too many failed scans."),
    "card.token_max_age_seconds": (180, "How long the QR code shown on a customer's card page is accepted."),
    "fraud.max_sales": (
        5,
        "More completed sales than this by one customer at one merchant within the window raise a flag.",
    ),
    "fraud.window_minutes": (10, "The window of fraud.max_sales."),
    "scan.checkout_minutes": (10, "How long after a scan its sale can be completed."),
    "api.rate_limit_requests": (120, "Requests one API key may make per window; more are answered 429."),
    "api.rate_limit_window_seconds": (60, "The window of api.rate_limit_requests."),
    "api.idempotency_hours": (24, "How long the API keeps the response of a write for its retries (24 at least)."),
}


def setting(key: str) -> int:
    """The value of `key`, or its default when the platform has not set it to a whole number of at least 1."""
    return settings_of(key)[0]


def settings_of(*keys: str) -> tuple[int, ...]:
    """The values of `keys`, as setting() gives each, read in one query."""
    found = _per_request.get()
    if found is None:
        found = _read(keys)
    elif not found:
        found.update(_read(None))
        found.setdefault("", "")  # read: an empty table is not read again
    return tuple(_whole_number(found.get(key), DEFAULTS[key][0]) for key in keys)


def _read(keys: tuple[str, ...] | None) -> dict[str, str]:
    """The stored values of `keys` (all when None). Plain SQL: every request reads them."""
    table = SystemSetting._meta.db_table
    with connection.cursor() as cursor:
        if keys is None:
            cursor.execute(f"SELECT setting_key, setting_value FROM {table}")
        else:
            cursor.execute(f"SELECT setting_key, setting_value FROM {table} WHERE setting_key = ANY(%s)", [list(keys)])
        return dict(cursor.fetchall())


@contextmanager
def settings_read_once():
    token = _per_request.set({})
    try:
        yield
    finally:
        _per_request.reset(token)


class SettingsPerRequestMiddleware:
    """A request reads the settings once, whatever number of them it uses."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with settings_read_once():
            return self.get_response(request)


def _whole_number(text: str | None, default: int) -> int:
    try:
        value = int(text) if text is not None else default
    except (TypeError, ValueError):
        return default
    return value if value >= 1 else default
