"""The counter: a scanned code becomes a customer, a checkout becomes a completed sale."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from customers import tokens
from customers.models import Customer
from loyalty_site.db import columns, from_row, set_prefetched
from merchants.models import Merchant, User
from system import codes
from system.audit import set_acting_user
from system.models import FraudFlag, QRScanLog
from system.settings_store import setting, settings_of
from transactions import selectors
from transactions.models import Transaction, TransactionItem, TransactionRefund

Result = QRScanLog.Result


@dataclass
class ScanOutcome:
    result: str
    message: str
    customer: Customer | None = None
    log: QRScanLog | None = None

    @property
    def ok(self) -> bool:
        return self.result == Result.SUCCESS


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


def scan_is_rate_limited(*, merchant: Merchant, user: User, ip_address: str | None) -> bool:
    """Too many failed scans by this user, or from this address, in a short window: paused for a while.

    The same wrong code read again and again (a camera resting on it) counts once; an address,
    which a shop's devices share, has three times a user's allowance.
    """
    limit, window_minutes, block_minutes = settings_of(
        "scan.max_failures", "scan.failure_window_minutes", "scan.block_minutes"
    )
    window, block = timedelta(minutes=window_minutes), timedelta(minutes=block_minutes)
    now = timezone.now()
    found = selectors.failed_scans(merchant=merchant, since=now - window - block, user=user, ip_address=ip_address)
    for who, allowed in (("user", limit), ("address", 3 * limit)):
        times = sorted(found[who])
        for i in range(allowed - 1, len(times)):
            if times[i] - times[i - allowed + 1] <= window and now - times[i] <= block:
                return True
    return False


def _identify(merchant: Merchant, text: str) -> ScanOutcome:
    if tokens.is_card_token(text):
        try:
            customer_id = tokens.customer_id_of(text, max_age_seconds=setting("card.token_max_age_seconds"))
        except tokens.TokenError as error:
            return ScanOutcome(error.reason, str(error))
        customer = selectors.customer_by_id(customer_id)
        if customer is None:
            return ScanOutcome(Result.UNKNOWN_CODE, "No customer has this code.")
        if selectors.card_token_used(customer=customer, token=text):
            return ScanOutcome(
                Result.EXPIRED_TOKEN, "This card code was used already: ask the customer to reopen their card."
            )
    else:
        try:
            code = codes.normalize(text, codes.CUSTOMER_CODE_LENGTH)
        except codes.CodeError as error:
            message = (
                "This is not a customer code."
                if error.reason == "malformed"
                else "This code has a mistyped character: check it and try again."
            )
            return ScanOutcome(error.reason, message)
        if not merchant.allow_static_codes:
            return ScanOutcome(
                Result.STATIC_CODE_REFUSED,
                "Printed codes are not accepted here: ask for the QR code on the customer's card page.",
            )
        customer = selectors.customer_by_code(code)
        if customer is None:
            return ScanOutcome(Result.UNKNOWN_CODE, "No customer has this code.")
    if customer.status != Customer.Status.ACTIVE:
        return ScanOutcome(Result.INACTIVE_CUSTOMER, f"This customer's card is {customer.status}.", customer)
    return ScanOutcome(Result.SUCCESS, customer.full_name, customer)


_LOG_SCAN_SQL = f"""
    INSERT INTO qr_scan_logs AS s (id, merchant_id, scanned_by_id, scanned_code, scan_result, customer_id,
                                   ip_address, user_agent, created_at)
    VALUES (gen_random_uuid(), %(merchant)s, %(user)s, %(code)s, %(result)s, %(customer)s, %(ip)s, %(user_agent)s,
            now())
 RETURNING {columns(QRScanLog, "s")}
"""


def scan_resolve(
    *, merchant: Merchant, user: User, text: str, ip_address: str | None = None, user_agent: str = ""
) -> ScanOutcome:
    """Turn what the camera or the cashier read into a customer; every attempt is logged."""
    text = (text or "").replace("\x00", "").strip()[:512]
    if scan_is_rate_limited(merchant=merchant, user=user, ip_address=ip_address):
        outcome = ScanOutcome(
            Result.RATE_LIMITED,
            f"Too many failed scans: scanning is paused for up to {setting('scan.block_minutes')} minutes.",
        )
    else:
        outcome = _identify(merchant, text)
    with connection.cursor() as cursor:  # plain SQL: every scan writes one
        cursor.execute(
            _LOG_SCAN_SQL,
            {
                "merchant": merchant.pk,
                "user": user.pk,
                "code": text,
                "result": outcome.result,
                "customer": outcome.customer.pk if outcome.customer else None,
                "ip": ip_address or None,
                "user_agent": (user_agent or "").replace("\x00", "")[:1000],
            },
        )
        outcome.log = from_row(QRScanLog, cursor.fetchone())
    return outcome


def _refusal(error: IntegrityError) -> str:
    """The database's own words for a refused sale (a trigger's or a constraint's)."""
    diag = getattr(error.__cause__, "diag", None)
    if getattr(diag, "constraint_name", None) == "customer_loyalty_accounts_current_points_nonnegative":
        return "The customer does not have that many points."
    message = getattr(diag, "message_primary", None) or str(error).split("\n")[0]
    return message[0].upper() + message[1:] + "." if message else "The sale was refused."


# The scan is taken for the sale (and its customer read) in one statement; the sale's key is
# checked at commit (the foreign key is deferred), after the sale is inserted.
_TAKE_SCAN_SQL = f"""
    UPDATE qr_scan_logs s SET sale_id = %(sale)s
      FROM customers c
     WHERE s.id = %(scan)s AND s.merchant_id = %(merchant)s AND s.scanned_by_id = %(user)s
       AND s.scan_result = 'success' AND s.sale_id IS NULL
       AND s.created_at >= now() - make_interval(mins => %(minutes)s) AND s.customer_id = %(customer)s
       AND c.id = s.customer_id
 RETURNING {columns(Customer, "c")}
"""
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
                "minutes": setting("scan.checkout_minutes"),
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
                raise CheckoutError(_refusal(error)) from error
            except DataError as error:
                raise CheckoutError("These figures are too large for one sale.") from error
            row = cursor.fetchone()
            if row is None:  # a sale has this key already: the scan is given back, the sale replayed below
                cursor.execute("UPDATE qr_scan_logs SET sale_id = NULL WHERE id = %s", [checkout.scan_id])
            else:
                *row, earlier_sales = row
                sale = from_row(Transaction, row)
                items = TransactionItem.objects.bulk_create(
                    TransactionItem(
                        transaction=sale,
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


def flag_frequent_buyer(
    *, merchant: Merchant, customer: Customer, sales: int | None = None, since=None
) -> FraudFlag | None:
    """Flag a customer completing more than fraud.max_sales sales here within fraud.window_minutes.

    Runs after every sale: the usual answer (no flag) costs one read (none when the caller counted the
    `sales` since `since` already) and no transaction.
    """
    window_minutes, max_sales = settings_of("fraud.window_minutes", "fraud.max_sales")
    if sales is None:
        since = timezone.now() - timedelta(minutes=window_minutes)
        sales = selectors.completed_sales_since(merchant=merchant, customer=customer, since=since)
    if sales <= max_sales:
        return None
    with transaction.atomic():
        if FraudFlag.objects.filter(merchant=merchant, customer=customer, created_at__gte=since).exists():
            return None
        return FraudFlag.objects.create(
            merchant=merchant,
            customer=customer,
            reason=f"{sales} sales by {customer.full_name} ({customer.customer_code}) within {window_minutes} minutes",
        )


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
        raise RefundError(_refusal(error)) from error
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
        raise CheckoutError(_refusal(error)) from error
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
