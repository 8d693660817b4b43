"""Customers joining a merchant's program from its poster, and finding their card again.

Nothing is created until the customer proves the email or phone they typed: an email gets a link, a phone a
one-time code by SMS. A merchant gets an account for a customer only when the customer confirms (here) or
presents their card at its counter (the sale's trigger opens it). The pages answer the same whether or not the
email or phone has a card, so they tell nobody who is a member where."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from customers.models import Customer
from customers.services import card_link_issue
from loyalty.models import CustomerLoyaltyAccount, LoyaltyProgram, PhoneVerification
from merchants.models import Merchant
from system.mail import queue_email
from system.ratelimit import hits
from system.settings_store import setting, settings_of
from system.sms import queue_sms

JOIN_SALT = "loyalty.join"
RECOVER_SALT = "loyalty.recover"
LINK_MAX_AGE = timedelta(days=2)
CODE_MINUTES = 10


class JoinError(ValueError):
    """A join or a recovery that is refused; the message says why, for the customer."""


@dataclass
class Card:
    """A customer who proved their email or phone, and their card page's new secret."""

    customer: Customer
    secret: str


def join_limited(*, merchant: Merchant | None, address: str | None, contact: str) -> bool:
    """Too many join or recovery requests from this address, for this email or phone, or at this merchant in the
    last hour (each counted, allowed or not)."""
    per_address, per_contact, per_merchant = settings_of(
        "privacy.join_per_address_per_hour", "privacy.join_per_contact_per_hour", "privacy.join_per_merchant_per_hour"
    )
    return hits(
        scope="join",
        window_seconds=3600,
        contact=(contact.lower(), per_contact),
        address=(address, per_address),
        merchant=(merchant and str(merchant.pk), per_merchant),
    )


def _phone_code_hmac(phone: str, code: str) -> str:
    return salted_hmac("loyalty.phone-code", f"{phone}:{code}", algorithm="sha256").hexdigest()


@transaction.atomic
def join_request(
    *, merchant: Merchant, first_name: str, last_name: str = "", email: str = "", phone: str = "", base_url: str
) -> PhoneVerification | None:
    """Start joining `merchant`; creates no customer and no account. An email gets a link that confirms the join
    (returns None); a phone (E.164) gets a one-time code by SMS (returns the verification to enter it into)."""
    if email:
        signed = signing.dumps(
            {"m": str(merchant.pk), "e": email.lower(), "f": first_name.strip(), "l": last_name.strip()},
            salt=JOIN_SALT,
            compress=True,
        )
        link = base_url.rstrip("/") + reverse("join_confirm", kwargs={"signed": signed})
        queue_email(  # sent by the worker once this transaction commits
            subject=f"Confirm joining {merchant.business_name}'s loyalty program",
            body=f"Hello {first_name.strip()},\n\nto join {merchant.business_name}'s loyalty program and open your "
            f"card, follow this link within two days:\n\n{link}\n\nIf you did not ask to join, ignore this email: "
            "nothing happens without it. If you have a card with us already, it is the same card, with its points.",
            to=[email.lower()],
        )
        return None
    return _phone_code_send(phone=phone, merchant=merchant, first_name=first_name, last_name=last_name, always=True)


def _phone_code_send(*, phone: str, merchant: Merchant | None, first_name: str, last_name: str, always: bool):
    """A verification for `phone`; its code goes by SMS when `always` (joining) or when the phone has a card
    (recovering): the caller shows the same page either way."""
    code = f"{secrets.randbelow(10**6):06d}"
    verification = PhoneVerification.objects.create(
        phone=phone,
        code_hmac=_phone_code_hmac(phone, code),
        merchant=merchant,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        expires_at=timezone.now() + timedelta(minutes=CODE_MINUTES),
    )
    if always or Customer.objects.filter(phone=phone, status=Customer.Status.ACTIVE).exists():
        where = f"join {merchant.business_name}'s loyalty program" if merchant else "open your loyalty card"
        queue_sms(to=phone, body=f"{code} is your code to {where}. It works for {CODE_MINUTES} minutes.")
    return verification


def _account_open(*, customer: Customer, merchant: Merchant, shares_email: bool, shares_phone: bool) -> None:
    """The customer's account at `merchant` (opened if new), sharing what they confirmed to it."""
    program = LoyaltyProgram.objects.filter(merchant=merchant, is_active=True).first()
    account, created = CustomerLoyaltyAccount.objects.get_or_create(
        customer=customer,
        merchant=merchant,
        defaults={"loyalty_program": program, "shares_email": shares_email, "shares_phone": shares_phone},
    )
    if not created and ((shares_email and not account.shares_email) or (shares_phone and not account.shares_phone)):
        CustomerLoyaltyAccount.objects.filter(pk=account.pk).update(
            shares_email=account.shares_email or shares_email, shares_phone=account.shares_phone or shares_phone
        )


def _customer_find_or_create(*, field: str, value: str, first_name: str, last_name: str) -> Customer:
    """The customer with this email or phone, or a new one (two joining at once make one)."""
    customer = Customer.objects.filter(**{field: value}).first()
    if customer is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(first_name=first_name, last_name=last_name, **{field: value})
        except IntegrityError:
            customer = Customer.objects.get(**{field: value})
    if customer.status == Customer.Status.MERGED:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    if customer.status != Customer.Status.ACTIVE:
        raise JoinError(f"This card is {customer.status}: ask the shop for help.")
    return customer


def join_link_read(signed: str) -> dict:
    """The join request inside an emailed link; raises JoinError when it is expired or not ours."""
    try:
        return signing.loads(signed, salt=JOIN_SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as error:
        raise JoinError("This link has expired: join again from the shop's poster.") from error
    except signing.BadSignature as error:
        raise JoinError("This link is not one of ours: copy the whole link from the email.") from error


@transaction.atomic
def join_confirm_email(*, signed: str) -> Card:
    """The customer followed the emailed link: their card (a new one for a new email) and an account at the
    merchant that shares the email."""
    data = join_link_read(signed)
    merchant = Merchant.objects.filter(pk=data["m"], status=Merchant.Status.ACTIVE).first()
    if merchant is None:
        raise JoinError("This shop no longer takes new members.")
    customer = _customer_find_or_create(field="email", value=data["e"], first_name=data["f"], last_name=data["l"])
    _account_open(customer=customer, merchant=merchant, shares_email=True, shares_phone=False)
    return Card(customer, card_link_issue(customer=customer))


def recover_request(*, email: str = "", phone: str = "", base_url: str) -> PhoneVerification | None:
    """A customer who lost their card's link asks for it: an email that has a card gets a link that opens it; a
    phone gets a verification whose code is sent only when the phone has a card."""
    if email:
        customer = Customer.objects.filter(email=email.lower(), status=Customer.Status.ACTIVE).first()
        if customer is not None:
            signed = signing.dumps({"c": str(customer.pk)}, salt=RECOVER_SALT)
            link = base_url.rstrip("/") + reverse("card_recover_confirm", kwargs={"signed": signed})
            queue_email(
                subject="Your loyalty card",
                body=f"Hello {customer.first_name},\n\nto open your loyalty card, follow this link within two "
                f"days:\n\n{link}\n\nIt gives your card a new address: the old one stops working. If you did not "
                "ask for it, ignore this email.",
                to=[customer.email],
            )
        return None
    return _phone_code_send(phone=phone, merchant=None, first_name="", last_name="", always=False)


@transaction.atomic
def recover_confirm_email(*, signed: str) -> Card:
    try:
        data = signing.loads(signed, salt=RECOVER_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature as error:  # SignatureExpired is one
        raise JoinError("This link has expired or is not ours: ask for a new one.") from error
    customer = Customer.objects.filter(pk=data["c"], status=Customer.Status.ACTIVE).first()
    if customer is None:
        raise JoinError("This card is no longer in use.")
    return Card(customer, card_link_issue(customer=customer))


_CODE_TRY_SQL = """
    UPDATE phone_verifications SET attempts = attempts + 1
     WHERE id = %s AND used_at IS NULL AND expires_at > now() AND attempts < %s
 RETURNING code_hmac, phone
"""


def phone_code_confirm(*, verification_id, code: str) -> Card:
    """The code the customer typed: a wrong one counts (up to privacy.otp_attempts), the right one opens the
    phone's card (a new one when joining with a new phone) and, when joining, the account at the merchant."""
    with transaction.atomic(), connection.cursor() as cursor:  # the try counts even when the code is wrong
        cursor.execute(_CODE_TRY_SQL, [verification_id, setting("privacy.otp_attempts")])
        row = cursor.fetchone()
    if row is None:
        raise JoinError("This code has expired or was tried too many times: ask for a new one.")
    code_hmac, phone = row
    if not constant_time_compare(code_hmac, _phone_code_hmac(phone, "".join(code.split()))):
        raise JoinError("That code is not the one we sent: check the message and try again.")
    with transaction.atomic():
        verification = PhoneVerification.objects.select_related("merchant").get(pk=verification_id)
        used = PhoneVerification.objects.filter(pk=verification_id, used_at__isnull=True).update(used_at=timezone.now())
        if not used:
            raise JoinError("This code was used already.")
        if verification.merchant is None:  # recovering: the code went only to a phone with a card
            customer = Customer.objects.filter(phone=phone, status=Customer.Status.ACTIVE).first()
            if customer is None:
                raise JoinError("This card is no longer in use.")
        else:
            customer = _customer_find_or_create(
                field="phone", value=phone, first_name=verification.first_name, last_name=verification.last_name
            )
            _account_open(customer=customer, merchant=verification.merchant, shares_email=False, shares_phone=True)
        return Card(customer, card_link_issue(customer=customer))


def phone_verifications_purge() -> int:
    """Delete the one-time codes texted to phones that expired more than a day ago; returns how many."""
    deleted, _ = PhoneVerification.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted
