"""The counter's sales: a checkout for a scan becomes a completed (or, for a till, pending) sale."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from customers.models import Customer
from merchants.models import Merchant, User
from system.audit import set_acting_user
from system.db import columns, from_row, set_prefetched
from system.settings_store import setting
from transactions import selectors
from transactions.models import Transaction, TransactionItem
from transactions.services.fraud import flag_frequent_buyer


@dataclass
class Item:
    product_name: str
    quantity: int
    unit_price: Decimal
    product_sku: str = ""


class CheckoutError(ValueError):
    """A sale that is refused; the message says why, for the cashier."""


@dataclass
class Checkout:
    scan_id: UUID
    customer_id: UUID
    amount: Decimal
    payment_method: str
    idempotency_key: str
    points_to_redeem: int = 0
    items: list[Item] = field(default_factory=list)
    external_reference: str = ""
    # PENDING: a sale the till completes (transaction_complete) or cancels (transaction_cancel) later.
    status: str = Transaction.Status.COMPLETED


def refusal(error: IntegrityError) -> str:
    """The database's own words for a refused sale (a trigger's or a constraint's)."""
    diag = getattr(error.__cause__, "diag", None)
    if getattr(diag, "constraint_name", None) == "customer_loyalty_accounts_current_points_nonnegative":
        return "The customer does not have that many points."
    message = getattr(diag, "message_primary", None) or str(error).split("\n")[0]
    return message[0].upper() + message[1:] + "." if message else "The sale was refused."


# The scan is taken for the sale (and its customer read) in one statement; the sale's key is
# checked at commit (the foreign key is deferred), after the sale is inserted. qr_scan_logs is
# partitioned by month: %(from)s and %(to)s, the app's clock with selectors.SCAN_SLACK either
# side, let the planner read the recent partitions only; the rule is the database's now().
_TAKE_SCAN_SQL = f"""
    UPDATE qr_scan_logs s SET sale_id = %(sale)s
      FROM customers c
     WHERE s.id = %(scan)s AND s.merchant_id = %(merchant)s AND s.scanned_by_id = %(user)s
       AND s.scan_result = 'success' AND s.sale_id IS NULL
       AND s.created_at >= now() - make_interval(mins => %(minutes)s) AND s.customer_id = %(customer)s
       AND s.created_at BETWEEN %(from)s AND %(to)s
       AND c.id = s.customer_id
 RETURNING {columns(Customer, "c")}
"""
# The scan given back (a sale had the key already), in the partitions the take read.
_GIVE_BACK_SQL = "UPDATE qr_scan_logs SET sale_id = NULL WHERE id = %(scan)s AND created_at BETWEEN %(from)s AND %(to)s"
# The new sale as the triggers completed it (points, discount, currency, times), and the customer's
# completed sales here since the fraud window began (flag_frequent_buyer).
_INSERT_SALE_SQL = f"""
    INSERT INTO transactions AS t (id, merchant_id, customer_id, amount, currency, payment_method, status,
                                   points_redeemed, external_reference, idempotency_key, created_by_id)
    VALUES (%(id)s, %(merchant)s, %(customer)s, %(amount)s, '', %(payment_method)s, %(status)s,
            %(points_redeemed)s, %(external_reference)s, %(idempotency_key)s, %(user)s)
        ON CONFLICT (merchant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
 RETURNING {columns(Transaction, "t")},
           (SELECT count(*) FROM transactions r  -- the statement's snapshot: the customer's earlier sales
             WHERE r.merchant_id = t.merchant_id AND r.customer_id = t.customer_id AND r.status = 'completed'
               AND r.created_at >= %(fraud_since)s)
"""


def checkout_complete(
    *, merchant: Merchant, user: User, checkout: Checkout, savepoint: bool = True
) -> tuple[Transaction, bool]:
    """Record a completed (or, for a till, pending) sale for a scan; the database awards and redeems the points.

    Each successful scan makes one sale, within scan.checkout_minutes. Returns the sale and
    whether it is new: the same idempotency key again (a double click, a resubmitted form)
    returns the first sale, and a different sale under a used key is refused. A new sale carries
    its items and (no) refunds, as if prefetched.

    Inside a transaction of the caller's, a refusal rolls back to a savepoint; savepoint=False saves
    that round trip for a caller that rolls back its whole transaction on a refusal (the API's
    idempotent writes).
    """
    if checkout.items:
        total = sum((item.unit_price * item.quantity for item in checkout.items), Decimal("0"))
        if total != checkout.amount:
            raise CheckoutError(f"The items add up to {total}, not {checkout.amount}.")
    if checkout.status not in (Transaction.Status.COMPLETED, Transaction.Status.PENDING):
        raise CheckoutError("A new sale is either completed or pending.")
    sale_id = uuid4()
    fraud_since = timezone.now() - timedelta(minutes=setting("fraud.window_minutes"))
    sale = None
    minutes = setting("scan.checkout_minutes")
    now = timezone.now()
    slack = selectors.SCAN_SLACK
    scan_times = {"from": now - timedelta(minutes=minutes) - slack, "to": now + slack}
    with transaction.atomic(savepoint=savepoint), connection.cursor() as cursor:
        set_acting_user(user)
        cursor.execute(
            _TAKE_SCAN_SQL,
            {
                "sale": sale_id,
                "scan": checkout.scan_id,
                "customer": checkout.customer_id,
                "merchant": merchant.pk,
                "user": user.pk,
                "minutes": minutes,
                **scan_times,
            },
        )
        row = cursor.fetchone()
        customer = from_row(Customer, row) if row else None
        if customer is not None:
            if customer.status != Customer.Status.ACTIVE:
                raise CheckoutError(f"This customer's card is {customer.status}.")
            try:
                cursor.execute(
                    _INSERT_SALE_SQL,
                    {
                        "id": sale_id,
                        "merchant": merchant.pk,
                        "customer": customer.pk,
                        "amount": checkout.amount,
                        "payment_method": checkout.payment_method,
                        "status": checkout.status,
                        "points_redeemed": checkout.points_to_redeem,
                        "external_reference": checkout.external_reference,
                        "idempotency_key": checkout.idempotency_key,
                        "user": user.pk,
                        "fraud_since": fraud_since,
                    },
                )
            except IntegrityError as error:  # a trigger's or a constraint's refusal
                raise CheckoutError(refusal(error)) from error
            except DataError as error:
                raise CheckoutError("These figures are too large for one sale.") from error
            row = cursor.fetchone()
            if row is None:  # a sale has this key already: the scan is given back, the sale replayed below
                cursor.execute(_GIVE_BACK_SQL, {"scan": checkout.scan_id, **scan_times})
            else:
                *row, earlier_sales = row
                sale = from_row(Transaction, row)
                items = TransactionItem.objects.bulk_create(
                    TransactionItem(
                        transaction=sale,
                        merchant_id=sale.merchant_id,
                        product_name=item.product_name,
                        product_sku=item.product_sku,
                        quantity=item.quantity,
                        unit_price=item.unit_price,
                    )
                    for item in checkout.items
                )
    if sale is None:
        # The scan was used, by this form sent twice or another sale, or a sale has this key already.
        existing = _replay(merchant, checkout)
        if existing:
            return existing, False
        raise CheckoutError("Scan the customer's card again: each scan is good for one sale, for a few minutes.")
    sale.merchant, sale.customer, sale.created_by = merchant, customer, user
    set_prefetched(sale, "items", items)
    set_prefetched(sale, "refunds", [])
    recent = earlier_sales + (sale.status == Transaction.Status.COMPLETED)
    transaction.on_commit(
        lambda: flag_frequent_buyer(merchant=merchant, customer=customer, sales=recent, since=fraud_since), robust=True
    )
    return sale, True


def _same_sale(sale: Transaction, checkout: Checkout) -> bool:
    items = sorted((i.product_name, i.quantity, i.unit_price) for i in sale.items.all())
    asked = sorted((i.product_name, i.quantity, i.unit_price) for i in checkout.items)
    return (sale.customer_id, sale.amount, sale.points_redeemed, sale.payment_method, items) == (
        checkout.customer_id,
        checkout.amount,
        checkout.points_to_redeem,
        checkout.payment_method,
        asked,
    )


def _replay(merchant: Merchant, checkout: Checkout) -> Transaction | None:
    sale = selectors.sale_by_idempotency_key(merchant=merchant, key=checkout.idempotency_key)
    if sale is None:
        return None
    if not _same_sale(sale, checkout):
        raise CheckoutError("This checkout form was already used for another sale: start a new one.")
    return sale
