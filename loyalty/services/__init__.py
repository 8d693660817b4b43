"""Writes of loyalty programs and their members: the rules, the tiers, adjustments by hand, expiry.
Joining a merchant's program is in loyalty.services.joining."""

from django.db import IntegrityError, OperationalError, connection, transaction

from loyalty.models import CustomerLoyaltyAccount, LoyaltyProgram, LoyaltyTier, PointsTransaction
from merchants.models import Merchant, User
from system.audit import set_acting_user


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
            return LoyaltyTier.objects.create(
                program=program, merchant=merchant, name=name, min_points=min_points, multiplier=multiplier
            )
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
