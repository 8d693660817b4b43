"""Merging two customers who are the same person: the SQL function merge_customers()
(transactions/sql/merge_customers.sql) does the moving, so the app and a raw SQL writer agree."""

from django.db import DatabaseError, connection, transaction

from customers.models import Customer
from loyalty.models import CustomerLoyaltyAccount
from merchants.models import Merchant, User
from system.audit import set_acting_user
from transactions.models import CustomerMerge


class MergeError(ValueError):
    """A merge that is refused; the message says why, and nothing changed."""


def _database_words(error: DatabaseError) -> str:
    diag = getattr(error.__cause__, "diag", None)
    message = getattr(diag, "message_primary", None) or str(error).split("\n")[0]
    return message[0].upper() + message[1:] + "." if message else "The merge was refused."


def _merge(*, source: Customer, target: Customer, merchant: Merchant | None, acting_user: User | None) -> CustomerMerge:
    set_acting_user(acting_user)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT merge_customers(%s, %s, %s)", [source.pk, target.pk, merchant.pk if merchant else None]
            )
            merge_id = cursor.fetchone()[0]
    except DatabaseError as error:
        raise MergeError(_database_words(error)) from error
    return CustomerMerge.objects.get(pk=merge_id)


@transaction.atomic
def customers_merge(*, source: Customer, target: Customer, acting_user: User | None) -> CustomerMerge:
    """A platform admin's merge: everything of `source` moves to `target` (accounts at every merchant, their
    ledgers, lots, sales and visits); `source` becomes merged into `target`."""
    return _merge(source=source, target=target, merchant=None, acting_user=acting_user)


@transaction.atomic
def members_merge(*, merchant: Merchant, source: Customer, target: Customer, acting_user: User) -> CustomerMerge:
    """An owner's merge of two members of `merchant`: `source`'s account there (points, sales, visits) goes
    into `target`'s; `source` stays a customer of other merchants. The caller checks the user is an owner."""
    members = CustomerLoyaltyAccount.objects.filter(merchant=merchant, customer__in=[source.pk, target.pk]).count()
    if source.pk != target.pk and members < 2:
        raise MergeError("Both customers must be members here.")
    return _merge(source=source, target=target, merchant=merchant, acting_user=acting_user)
