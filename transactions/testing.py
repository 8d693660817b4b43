"""Helpers for the test suites: a completed sale."""

from decimal import Decimal

from transactions.models import Transaction


def complete_sale(*, merchant, customer, amount="10.00", **fields) -> Transaction:
    """A sale inserted as completed through the ORM; the triggers do the rest."""
    sale = Transaction.objects.create(
        merchant=merchant, customer=customer, amount=Decimal(amount), status=Transaction.Status.COMPLETED, **fields
    )
    sale.refresh_from_db()
    return sale
