"""Throttling logins per account, without a lockout a stranger could keep up (README "Logins and sessions").

Per client address, django-axes locks an address out after AXES_FAILURE_LIMIT failures, whatever the emails
(settings). Per account, this module throttles: an email (known or not, so the answer tells nothing) has
LOGIN_THROTTLE_FREE_FAILURES failed passwords within LOGIN_THROTTLE_WINDOW_MINUTES free; after that it may try
once per 2, 4, 8... seconds after its latest failure, at most LOGIN_THROTTLE_MAX_DELAY_SECONDS. A throttled try
is refused before its password is checked and counts as no failure, so hammering gains no guesses and does not
lengthen the wait; when the wait is over, one try at a time takes the turn (system.ratelimit.hit).

Who is not made to wait:
- a browser that has logged in to the account before: it keeps a signed cookie naming it (a keyed digest of
  the email, for LOGIN_TRUSTED_DEVICE_DAYS);
- an address that has not failed for the account within the window, for LOGIN_THROTTLE_FRESH_TRIES tries per
  window of the account (many addresses, a botnet's, would otherwise each get a free guess).
So a stranger hammering an owner's email from a few addresses slows only those addresses; from very many, they
use up the fresh tries, and the owner then waits at most the delay on a browser that never logged in as them,
not at all on one that did. The stranger's addresses are locked out by axes after AXES_FAILURE_LIMIT failures.

Failures are kept in rate_limit_hits (scopes login.failure per email, login.failure.address per email and
address), so every web process counts the same ones.
"""

import math
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import salted_hmac

from merchants.access import login_email
from system.ratelimit import hit, recent, record
from system.urls_util import client_ip

FAILURE_SCOPE = "login.failure"
ADDRESS_FAILURE_SCOPE = "login.failure.address"
FRESH_SCOPE = "login.fresh"
TURN_SCOPE = "login.turn"
COOKIE = "trusted_logins"
COOKIE_SALT = "merchants.trusted-logins"
TRUSTED_PER_BROWSER = 10


def throttle_wait(email: str) -> tuple[int, int]:
    """(seconds `email` must still wait before its next try, the delay in force); (0, 0) when not throttled."""
    window = settings.LOGIN_THROTTLE_WINDOW_MINUTES * 60
    failures, latest = recent(scope=FAILURE_SCOPE, key=email, window_seconds=window)
    if failures < settings.LOGIN_THROTTLE_FREE_FAILURES:
        return 0, 0
    delay = min(2 ** (failures - settings.LOGIN_THROTTLE_FREE_FAILURES + 1), settings.LOGIN_THROTTLE_MAX_DELAY_SECONDS)
    waited = (timezone.now() - latest).total_seconds()
    return max(0, math.ceil(delay - waited)), delay


def _device_key(email: str) -> str:
    return salted_hmac(COOKIE_SALT, email, algorithm="sha256").hexdigest()[:24]


def _trusted_keys(request) -> list[str]:
    try:
        value = request.get_signed_cookie(
            COOKIE, salt=COOKIE_SALT, max_age=timedelta(days=settings.LOGIN_TRUSTED_DEVICE_DAYS)
        )
    except (KeyError, signing.BadSignature):
        return []
    return [key for key in value.split(",") if key]


def is_trusted(request, email: str) -> bool:
    """Has this browser logged in to `email`'s account before (within LOGIN_TRUSTED_DEVICE_DAYS)?"""
    return _device_key(email) in _trusted_keys(request)


def _refused(seconds: int) -> ValidationError:
    return ValidationError(
        f"Too many failed logins for this email: try again in {seconds} second{'s' if seconds != 1 else ''}.",
        code="throttled",
    )


def _address_key(email: str, address: str) -> str:
    return f"{email} {address}"


def _take_turn(email: str, address: str | None) -> None:
    """Raise the refusal when `email` is throttled for a try from `address`."""
    wait, delay = throttle_wait(email)
    if not delay:
        return
    window = settings.LOGIN_THROTTLE_WINDOW_MINUTES * 60
    if address and not recent(scope=ADDRESS_FAILURE_SCOPE, key=_address_key(email, address), window_seconds=window)[0]:
        if not hit(scope=FRESH_SCOPE, key=email, limit=settings.LOGIN_THROTTLE_FRESH_TRIES, window_seconds=window):
            return  # an address that has not failed for this account
    if wait:
        raise _refused(wait)
    if hit(scope=TURN_SCOPE, key=email, limit=1, window_seconds=delay):
        raise _refused(delay)  # another try took this turn


class LoginThrottleBackend:
    """An authentication backend that logs nobody in: it refuses a throttled try before the password is checked
    (a ValidationError, which the login form shows), and marks the request of a try whose password is checked.
    It has no get_user: the test client's force_login takes the first backend that has one."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or not username:
            return None
        email, address = login_email(username), client_ip(request)
        if not is_trusted(request, email):
            _take_turn(email, address)
        request.login_throttle = (email, address)
        return None


def login_failed(sender, credentials, request=None, **kwargs):
    """user_login_failed: a checked password that was wrong counts against its email, and its address for that
    email (a try refused by axes or by the throttle was never checked and does not)."""
    email, address = getattr(request, "login_throttle", (None, None))
    if email:
        record(scope=FAILURE_SCOPE, key=email)
        if address:
            record(scope=ADDRESS_FAILURE_SCOPE, key=_address_key(email, address))


def login_succeeded(sender, request, user, **kwargs):
    """user_logged_in: this browser is trusted for the account from now on (the middleware sets the cookie)."""
    if request is not None:
        request.trusted_login = _device_key(login_email(user.email))


class TrustedDeviceMiddleware:
    """Adds the account a request logged in to to the browser's signed cookie of trusted accounts."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        key = getattr(request, "trusted_login", None)
        if key:
            keys = [k for k in _trusted_keys(request) if k != key][-(TRUSTED_PER_BROWSER - 1) :] + [key]
            response.set_signed_cookie(
                COOKIE,
                ",".join(keys),
                salt=COOKIE_SALT,
                max_age=settings.LOGIN_TRUSTED_DEVICE_DAYS * 86400,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
