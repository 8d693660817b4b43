"""A sale after the counter: refunded in full or in part, or, pending, completed or cancelled."""

from decimal import Decimal

from django.db import DataError, IntegrityError, transaction
from django.db.models import F

from merchants.models import Merchant, User
from system.audit import set_acting_user
from transactions.models import Transaction, TransactionRefund
from transactions.services.checkout import CheckoutError, refusal
from transactions.services.fraud import flag_frequent_buyer


class RefundError(ValueError):
    """A refund that is refused; the message says why."""


@transaction.atomic
def transaction_refund(*, merchant: Merchant, transaction_id, acting_user: User, amount: Decimal | None = None):
    """Refund a completed sale, in full (`amount` None: everything left) or in part.

    The database gives back the redeemed points and takes back the earned ones in proportion,
    under the program's shortfall policy, and records a `transaction_refunds` row. Returns the
    sale as it is after the refund, with that row as `sale.refund`.
    """
    set_acting_user(acting_user)
    sales = Transaction.objects.filter(pk=transaction_id, merchant=merchant, status=Transaction.Status.COMPLETED)
    if amount is None:
        change = {"status": Transaction.Status.REFUNDED}
    else:
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise RefundError("A refund is an amount of more than zero, in cents at most.")
        # A conditional update: two refunds at once cannot refund more than the sale.
        sales = sales.filter(refunded_amount__lte=F("amount") - amount)
        change = {"refunded_amount": F("refunded_amount") + amount}
    try:
        with transaction.atomic():
            updated = sales.update(**change)
    except (IntegrityError, DataError) as error:
        raise RefundError(refusal(error)) from error
    if not updated:
        sale = Transaction.objects.filter(pk=transaction_id, merchant=merchant).first()
        if sale is None or sale.status != Transaction.Status.COMPLETED:
            raise RefundError("Only a completed sale can be refunded.")
        left = sale.amount - sale.refunded_amount
        raise RefundError(f"Only {left} {sale.currency} of this sale is left to refund.")
    sale = Transaction.objects.get(pk=transaction_id)
    # Ours is the newest: a refund racing this one waits on the sale's row lock until this commits.
    sale.refund = TransactionRefund.objects.filter(transaction=sale).latest("created_at")
    return sale


class TransactionStateError(ValueError):
    """A status move that is refused (completing a sale that is not pending, ...); the message says why."""


def transaction_complete(*, merchant: Merchant, transaction_id, acting_user: User | None) -> Transaction:
    """Complete a pending sale; the database awards and redeems its points, or refuses it (CheckoutError)."""
    try:
        with transaction.atomic():
            set_acting_user(acting_user)
            updated = Transaction.objects.filter(
                pk=transaction_id, merchant=merchant, status=Transaction.Status.PENDING
            ).update(status=Transaction.Status.COMPLETED)
    except IntegrityError as error:
        raise CheckoutError(refusal(error)) from error
    except DataError as error:
        raise CheckoutError("These figures are too large for one sale.") from error
    if not updated:
        raise TransactionStateError("Only a pending sale can be completed, once.")
    sale = Transaction.objects.select_related("customer").get(pk=transaction_id)
    transaction.on_commit(lambda: flag_frequent_buyer(merchant=merchant, customer=sale.customer), robust=True)
    return sale


@transaction.atomic
def transaction_cancel(*, merchant: Merchant, transaction_id, acting_user: User | None) -> Transaction:
    """Cancel a pending sale: nothing was awarded, nothing moves. A completed sale is refunded instead."""
    set_acting_user(acting_user)
    updated = Transaction.objects.filter(
        pk=transaction_id, merchant=merchant, status=Transaction.Status.PENDING
    ).update(status=Transaction.Status.CANCELLED)
    if not updated:
        raise TransactionStateError("Only a pending sale can be cancelled; refund a completed one.")
    return Transaction.objects.get(pk=transaction_id)
