"""Typed platform settings (system_settings): every setting the code reads, with its default, what it does and
the values it may take, written once here.

The admin form (SystemSetting.clean), setting_set() and the readers below all take the rules from KNOWN: a stored
value outside its range reads as the default, so a row written around the form cannot set the counter's limits to
nonsense. Within a request (SettingsPerRequestMiddleware) every setting is read once, in one query, at the first
use; outside one, each call reads the table.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import connection, transaction

from system.audit import set_acting_user
from system.models import SystemSetting

_per_request: ContextVar[dict | None] = ContextVar("settings_per_request", default=None)


@dataclass(frozen=True)
class Known:
    """A setting the code reads: a whole number from `minimum` to `maximum`."""

    default: int
    help: str
    minimum: int
    maximum: int
    value_type = SystemSetting.ValueType.INTEGER

    @property
    def allowed(self) -> str:
        return f"a whole number from {self.minimum:,} to {self.maximum:,}"

    def problem(self, value) -> str | None:
        """Why `value` (of the setting's type) cannot be this setting's value, or None."""
        if not self.minimum <= value <= self.maximum:
            return f"This setting is {self.allowed}."
        return None

    def read(self, text: str | None) -> int:
        """The stored text as the setting's value, or the default when it is unset or not an allowed value."""
        if text is None:
            return self.default
        try:
            value = SystemSetting(setting_value=text, value_type=self.value_type).typed_value()
        except ValueError:
            return self.default
        return self.default if self.problem(value) else value


KNOWN: dict[str, Known] = {
    "scan.max_failures": Known(
        5, "Failed scans from one user or address within the window before scanning pauses.", 1, 100
    ),
    "scan.failure_window_minutes": Known(5, "The window in which failed scans are counted.", 1, 1440),
    "scan.block_minutes": Known(10, "How long scanning pauses after too many failed scans.", 1, 1440),
    # The card page shows a new code every minute: a shorter life would expire the code on the screen.
    "card.token_max_age_seconds": Known(
        180, "How long the QR code shown on a customer's card page is accepted.", 60, 3600
    ),
    "fraud.max_sales": Known(
        5, "More completed sales than this by one customer at one merchant within the window raise a flag.", 1, 1000
    ),
    "fraud.window_minutes": Known(10, "The window of fraud.max_sales.", 1, 1440),
    "scan.checkout_minutes": Known(10, "How long after a scan its sale can be completed.", 1, 240),
    # Load tests lift the API's limit out of the way (bench/run.py sets 100,000,000).
    "api.rate_limit_requests": Known(
        120, "Requests one API key may make per window; more are answered 429.", 1, 1_000_000_000
    ),
    "api.rate_limit_window_seconds": Known(60, "The window of api.rate_limit_requests.", 1, 86_400),
    "api.idempotency_hours": Known(
        24, "How long the API keeps the response of a write for its retries (24 at least).", 24, 24 * 90
    ),
    # Joining and card recovery (system.ratelimit.hit): attempts per hour, beyond which they are refused.
    "privacy.join_per_address_per_hour": Known(
        20, "Join or recovery attempts from one network address per hour.", 1, 100_000
    ),
    "privacy.join_per_contact_per_hour": Known(
        5, "Join or recovery attempts for one email address or phone number per hour.", 1, 1000
    ),
    "privacy.join_per_merchant_per_hour": Known(
        200, "Join or recovery attempts at one merchant per hour.", 1, 1_000_000
    ),
    "privacy.otp_attempts": Known(5, "Wrong entries of a one-time code before the code is void.", 1, 20),
    # The retention job (operations.apply_retention) forgets the address and browser of older scans.
    "privacy.scan_log_days": Known(
        90, "Days a scan log keeps the network address and browser of the scan; then they are erased.", 1, 3650
    ),
    "privacy.card_code_minutes": Known(5, "How long a short card code, typed at the counter, is accepted.", 1, 60),
}


def setting(key: str) -> int:
    """The value of `key`, or its default when the platform has not set it to an allowed value."""
    return settings_of(key)[0]


def settings_of(*keys: str) -> tuple[int, ...]:
    """The values of `keys`, as setting() gives each, read in one query."""
    found = _per_request.get()
    if found is None:
        found = _read(keys)
    elif not found:
        found.update(_read(None))
        found.setdefault("", "")  # read: an empty table is not read again
    return tuple(KNOWN[key].read(found.get(key)) for key in keys)


@transaction.atomic
def setting_set(*, key: str, value: str, acting_user=None) -> SystemSetting:
    """Store `value` (as text) for the known setting `key`; a value of the wrong type or out of its range raises
    ValidationError with the message the admin form shows, and nothing is stored."""
    known = KNOWN[key]
    set_acting_user(acting_user)
    row = SystemSetting.objects.select_for_update().filter(setting_key=key).first() or SystemSetting(
        setting_key=key, value_type=known.value_type, description=known.help
    )
    row.setting_value = value
    row.full_clean()
    row.save()
    return row


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
