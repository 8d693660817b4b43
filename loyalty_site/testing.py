"""Helpers for the test suites of every app."""

from decimal import Decimal

from django.db import connection

from loyalty.models import CustomerLoyaltyAccount
from transactions.models import Transaction


def complete_sale(*, merchant, customer, amount="10.00", **fields) -> Transaction:
    """A sale inserted as completed through the ORM; the triggers do the rest."""
    sale = Transaction.objects.create(
        merchant=merchant, customer=customer, amount=Decimal(amount), status=Transaction.Status.COMPLETED, **fields
    )
    sale.refresh_from_db()
    return sale


def account_of(customer, merchant) -> CustomerLoyaltyAccount:
    return CustomerLoyaltyAccount.objects.get(customer=customer, merchant=merchant)


def ledger_sum(account) -> int:
    return sum(account.ledger.values_list("points_change", flat=True))


def sql(query: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []
