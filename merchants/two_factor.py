"""The second factor after the password (django-otp): an authenticator app (TOTP) and ten recovery codes.

Who must give one (SecondFactorMiddleware enforces it on every page but the API's): platform admins, staff of a
merchant that requires it (Merchant.require_2fa), and anyone who set one up. A session counts as verified once
a code was accepted in it (django_otp.login; `request.user.is_verified()`). Each device refuses codes for a while
after a wrong one (django-otp's throttling: 1 s, 2 s, 4 s ... after successive failures).
"""

import logging
import math
import re
from base64 import b32encode

import django_otp
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from merchants.models import User
from system.urls_util import client_ip

logger = logging.getLogger(__name__)

RECOVERY_CODES = 10
AUTHENTICATOR = "Authenticator app"
RECOVERY = "Recovery codes"
TOTP_CODE = re.compile(r"^\d{6}$")


class TwoFactorError(Exception):
    """A code that was refused, or a change that is not allowed; the message says why."""


def has_second_factor(user: User, memberships=()) -> bool:
    """Whether `user` has an authenticator; their memberships, as merchants.access loads them, say it without a
    query."""
    for membership in memberships:
        return membership.user_has_second_factor
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def required_of(user: User, memberships) -> str:
    """Why `user` must have a second factor ("" when they need not): `memberships` are their active ones."""
    if user.is_staff or user.is_superuser:
        return "Platform admins need a second factor."
    for membership in memberships:
        if membership.merchant.require_2fa:
            return f"{membership.merchant.business_name} requires a second factor of all its staff."
    return ""


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def normalize(code: str) -> str:
    """What the user typed, without spaces and dashes, in lower case (recovery codes are shown as abcd-efgh)."""
    return re.sub(r"[\s-]", "", code or "").lower()[:16]


def pending_device(user: User) -> TOTPDevice:
    """The authenticator being set up (unconfirmed until a code from it is entered); the same one until then."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)


def secret_for_typing(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for an app that cannot scan the QR code."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


WRONG = "That code is not right. Enter the current code from your app, or a recovery code."


def _check_not_throttled(device) -> None:
    """Raise, saying how long to wait, while `device` refuses codes after wrong ones."""
    allowed, data = device.verify_is_allowed()
    if not allowed:
        wait = math.ceil((data["locked_until"] - timezone.now()).total_seconds()) if data.get("locked_until") else 1
        raise TwoFactorError(f"Too many wrong codes: wait {max(wait, 1)} seconds, then enter a new code.")


@transaction.atomic
def confirm(*, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Turn on the pending authenticator with a code from it; returns it and new recovery codes (shown once)."""
    if has_second_factor(user):  # a second device is set up only after the first is removed, with its code
        raise TwoFactorError("Two-factor sign-in is already on.")
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        raise TwoFactorError("Start again: scan the new QR code.")
    _check_not_throttled(device)
    if not device.verify_token(normalize(code)):
        raise TwoFactorError(WRONG)
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device, new_recovery_codes(user=user)


@transaction.atomic
def new_recovery_codes(*, user: User) -> list[str]:
    """Ten new recovery codes; the old ones stop working. Returned in clear once, as abcd-efgh."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
    tokens = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=token) for token in tokens)
    return [f"{token[:4]}-{token[4:]}" for token in tokens]


def verify(*, request, code: str):
    """Check a code from the authenticator (six digits) or a recovery code (used up); on success the session
    counts as verified. Raises TwoFactorError when refused; each device is throttled after wrong codes."""
    user = request.user
    code = normalize(code)
    model = TOTPDevice if TOTP_CODE.match(code) else StaticDevice
    device = model.objects.filter(user=user, confirmed=True).first()
    if device is None:
        raise TwoFactorError(WRONG)
    _check_not_throttled(device)
    verified = django_otp.verify_token(user, device.persistent_id, code)
    if verified is None:
        logger.warning("A wrong second-factor code for user %s from %s", user.pk, client_ip(request))
        raise TwoFactorError(WRONG)
    login_with(request, verified)
    return verified


def login_with(request, device) -> None:
    """This session has given a second factor (django-otp keeps the device's id in the session); a new session
    key, as at a login."""
    request.session.cycle_key()
    django_otp.login(request, device)


def turn_off(*, request, code: str, memberships) -> None:
    """Remove the user's authenticator and recovery codes, given a current code; refused when a second factor is
    required of them (`memberships`: their active ones)."""
    user = request.user
    reason = required_of(user, memberships)
    if reason:
        raise TwoFactorError(f"{reason} It cannot be turned off.")
    verify(request=request, code=code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
