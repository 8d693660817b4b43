"""Writes of loyalty programs and their members: the rules, the tiers, adjustments by hand, and customers
joining a merchant's program from its poster."""

from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, connection, transaction
from django.urls import reverse

from customers.models import Customer
from loyalty.models import CustomerLoyaltyAccount, LoyaltyProgram, LoyaltyTier, PointsTransaction
from merchants.models import Merchant, User
from system.audit import set_acting_user
from system.mail import queue_email


@transaction.atomic
def program_update(*, merchant: Merchant, acting_user: User, **rules) -> LoyaltyProgram:
    """Change the earning and redemption rules of the merchant's active program (made if it has none).

    Sales completed from now on earn by the new rules; past sales keep the rate stored on them.
    """
    set_acting_user(acting_user)
    program = LoyaltyProgram.objects.select_for_update().filter(merchant=merchant, is_active=True).first()
    if program is None:
        program = LoyaltyProgram(merchant=merchant, is_active=True)
    for name, value in rules.items():
        setattr(program, name, value)
    program.full_clean()
    program.save()
    return program


class TierError(ValueError):
    """A tier that is refused; the message says why."""


@transaction.atomic
def tier_add(*, merchant: Merchant, acting_user: User, name: str, min_points: int, multiplier) -> LoyaltyTier:
    """Add a tier to the merchant's active program; sales from now on earn by it."""
    program = LoyaltyProgram.objects.filter(merchant=merchant, is_active=True).first()
    if program is None:
        raise TierError("Save the program's rules first.")
    name = " ".join(name.split())
    if not name:
        raise TierError("Give the tier a name.")
    if program.tiers.filter(name__iexact=name).exists():
        raise TierError(f"There is a tier named {name} already.")
    set_acting_user(acting_user)
    try:
        with transaction.atomic():
            return LoyaltyTier.objects.create(program=program, name=name, min_points=min_points, multiplier=multiplier)
    except IntegrityError as error:
        raise TierError("Each tier needs its own name and its own number of points.") from error


@transaction.atomic
def tier_remove(*, merchant: Merchant, acting_user: User, tier_id) -> bool:
    set_acting_user(acting_user)
    removed, _ = LoyaltyTier.objects.filter(pk=tier_id, program__merchant=merchant).delete()
    return bool(removed)


class AdjustmentError(ValueError):
    """A manual adjustment that is refused; the message says why."""


@transaction.atomic
def points_adjust(
    *, merchant: Merchant, customer_id, points_change: int, reason: str, acting_user: User
) -> PointsTransaction:
    """Add or take points by hand, with a reason; the ledger row names who did it."""
    reason = (reason or "").strip()
    if not reason:
        raise AdjustmentError("Give a reason for the adjustment.")
    if not points_change:
        raise AdjustmentError("An adjustment moves at least one point.")
    account = CustomerLoyaltyAccount.objects.filter(merchant=merchant, customer_id=customer_id).first()
    if account is None:
        raise AdjustmentError("This customer is not a member here.")
    set_acting_user(acting_user)
    try:
        with transaction.atomic():
            return PointsTransaction.objects.create(
                customer_loyalty_account=account,
                transaction_type=PointsTransaction.Type.ADJUST,
                points_change=points_change,
                description=f"Adjusted by hand: {reason}"[:255],
                created_by=acting_user,
            )
    except IntegrityError as error:
        balance = CustomerLoyaltyAccount.objects.values_list("current_points", flat=True).get(pk=account.pk)
        if balance < 0:
            raise AdjustmentError(
                f"The customer's balance is {balance} points: an adjustment cannot lower it."
            ) from error
        raise AdjustmentError(f"The customer has {balance} points: that would take the balance below zero.") from error


# Customers joining a merchant's program from its poster


@dataclass
class JoinResult:
    customer: Customer
    new: bool


def card_link(*, customer: Customer, base_url: str) -> str:
    return base_url.rstrip("/") + reverse("card", kwargs={"token": customer.card_token})


@transaction.atomic
def customer_join(
    *, merchant: Merchant, first_name: str, last_name: str = "", email: str = "", phone: str = "", base_url: str
) -> JoinResult:
    """Make a member of `merchant`: a new customer with a card, or, for an email that has a card
    already, no duplicate: that card's link goes to the email and is never shown on screen."""
    email = email.strip().lower() or None
    customer, new = None, False
    if email:
        customer = Customer.objects.filter(email=email).first()
    if customer is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(
                    first_name=first_name.strip(), last_name=last_name.strip(), email=email, phone=phone.strip()
                )
            new = True
        except IntegrityError:  # the same email joined at the same moment
            customer = Customer.objects.get(email=email)
    customer.refresh_from_db()
    program = LoyaltyProgram.objects.filter(merchant=merchant, is_active=True).first()
    CustomerLoyaltyAccount.objects.get_or_create(
        customer=customer, merchant=merchant, defaults={"loyalty_program": program}
    )
    if email:
        link = card_link(customer=customer, base_url=base_url)
        queue_email(  # sent by the worker once this transaction commits
            subject=f"Your {merchant.business_name} loyalty card",
            body=f"Hello {customer.first_name},\n\nyou are a member of {merchant.business_name}'s loyalty program. "
            f"Your card, with the QR code to show at the counter, is here:\n\n{link}\n\n"
            "Keep this link to yourself: anyone with it can show your card.",
            to=[email],
        )
    return JoinResult(customer=customer, new=new)


EXPIRY_BATCH = 200  # due lots per database transaction: the customers they lock wait no longer than that


def points_expire(*, local_midnight: bool = False) -> int:
    """Expire the due lots in batches; returns how many. With `local_midnight`, only the lots due by their
    merchant's latest local midnight (the background job's rule: a merchant's points expire at the end of
    its local day). Safe to run twice, at once, and while sales complete."""
    expired = 0
    while True:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT expire_points(%s, %s)", [EXPIRY_BATCH, local_midnight])
                written = cursor.fetchone()[0]
        except OperationalError as error:  # a deadlock with a concurrent run: its batch is retried
            if getattr(error.__cause__, "sqlstate", None) != "40P01":
                raise
            continue
        expired += written
        if not written:
            return expired
