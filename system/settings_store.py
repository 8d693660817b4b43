"""Typed platform settings (system_settings), with the defaults the code needs."""

from system.models import SystemSetting

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
}


def setting(key: str):
    """The typed value of `key`, or its default when the platform has not set it."""
    default, _ = DEFAULTS[key]
    found = SystemSetting.objects.filter(setting_key=key).first()
    if found is None:
        return default
    try:
        return found.typed_value()
    except ValueError:
        return default
