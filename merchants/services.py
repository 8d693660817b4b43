"""Writes about merchants and their staff."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from merchants.models import Merchant, MerchantStaff, User
from system.audit import set_acting_user
from system.mail import queue_email
from system.models import FraudFlag
from system.ratelimit import hits


class StaffError(ValueError):
    """A staff change that is refused; the message says why."""


def password_reset_limited(*, email: str, address: str | None) -> bool:
    """Too many password reset requests for this email (known or not) or from this address in the last hour
    (each counted, allowed or not)."""
    return hits(
        scope="reset",
        window_seconds=3600,
        email=(email.strip().lower(), settings.PASSWORD_RESET_PER_EMAIL_PER_HOUR),
        address=(address, settings.PASSWORD_RESET_PER_ADDRESS_PER_HOUR),
    )


def staff_invite_limited(*, merchant: Merchant, email: str, address: str | None) -> bool:
    """Too many invitations to this email (from any merchant), from this address or by this merchant in the last
    hour (each counted, allowed or not)."""
    return hits(
        scope="invite",
        window_seconds=3600,
        email=(email.strip().lower(), settings.INVITE_PER_EMAIL_PER_HOUR),
        merchant=(str(merchant.pk), settings.INVITE_PER_MERCHANT_PER_HOUR),
        address=(address, settings.INVITE_PER_ADDRESS_PER_HOUR),
    )


def set_password_link(*, user: User, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url.rstrip("/") + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


@transaction.atomic
def staff_invite(*, merchant: Merchant, email: str, role: str, acting_user: User, base_url: str) -> MerchantStaff:
    """Give `email` the `role` at `merchant`, creating the login if new; mail a link to set a password."""
    set_acting_user(acting_user)
    email = email.strip().lower()
    user, created = User.objects.get_or_create(email=email, defaults={"is_active": True})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    membership, new = MerchantStaff.objects.select_for_update().get_or_create(
        merchant=merchant, user=user, defaults={"role": role}
    )
    if not new:
        if membership.is_active:
            raise StaffError(f"{email} is already {membership.get_role_display().lower()} here.")
        membership.role, membership.is_active = role, True
        membership.save(update_fields=["role", "is_active", "updated_at"])
    link = (
        set_password_link(user=user, base_url=base_url)
        if not user.has_usable_password()
        else (base_url.rstrip("/") + reverse("login"))
    )
    queue_email(  # sent by the worker once this transaction commits
        subject=f"You are invited to {merchant.business_name}",
        body=f"{acting_user.email} added you as {membership.get_role_display().lower()} of {merchant.business_name} "
        f"on Loyalty.\n\n"
        + (
            f'Set your password here: {link}\n\nThe link works for an hour. After that, choose "Forgot your '
            'password?" on the login page and enter this email for a new one.\n'
            if not user.has_usable_password()
            else f"Log in here: {link}\n"
        ),
        to=[email],
    )
    return membership


@transaction.atomic
def staff_deactivate(*, merchant: Merchant, membership_id, acting_user: User) -> MerchantStaff:
    """Take away a staff member's access to `merchant`; the last active owner stays."""
    set_acting_user(acting_user)
    membership = MerchantStaff.objects.select_for_update().get(pk=membership_id, merchant=merchant)
    if membership.user_id == acting_user.pk:
        raise StaffError("You cannot deactivate yourself.")
    if not membership.is_active:
        raise StaffError(f"{membership.user.email} is already deactivated.")
    if membership.role == MerchantStaff.Role.OWNER:
        # Lock every owner row of the merchant, so two owners cannot remove each other at once.
        owners = list(
            MerchantStaff.objects.select_for_update()
            .filter(merchant=merchant, role=MerchantStaff.Role.OWNER, is_active=True)
            .order_by("pk")
        )
        if len(owners) <= 1:
            raise StaffError("A merchant keeps at least one active owner.")
    membership.is_active = False
    membership.save(update_fields=["is_active", "updated_at"])
    return membership


@transaction.atomic
def merchant_update(*, merchant: Merchant, acting_user: User, **fields) -> Merchant:
    """Change the merchant's business details; the audit trigger records who did."""
    set_acting_user(acting_user)
    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    for name, value in fields.items():
        setattr(merchant, name, value)
    merchant.full_clean()
    merchant.save(update_fields=[*fields, "updated_at"])
    return merchant


@transaction.atomic
def flag_review(*, merchant: Merchant, flag_id, acting_user: User):
    """Mark a fraud flag of `merchant` as looked at."""
    try:
        updated = FraudFlag.objects.filter(pk=flag_id, merchant=merchant, reviewed_at=None).update(
            reviewed_at=timezone.now(), reviewed_by=acting_user
        )
    except (ValueError, ValidationError):
        updated = 0
    if not updated:
        raise StaffError("No such open flag.")
