"""The counter: a scanned code becomes a customer, a checkout becomes a completed sale."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from customers import tokens
from customers.models import Customer
from merchants.models import Merchant, User
from system import codes
from system.audit import set_acting_user
from system.models import FraudFlag, QRScanLog
from system.settings_store import setting
from transactions.models import Transaction

Result = QRScanLog.Result
FAILURES = [r for r in Result.values if r not in (Result.SUCCESS, Result.RATE_LIMITED)]
SCAN_VALID_MINUTES = 30  # a checkout needs a successful scan of its customer this recently


@dataclass
class ScanOutcome:
    result: str
    message: str
    customer: Customer | None = None

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
    customer_id: UUID
    amount: Decimal
    payment_method: str
    idempotency_key: str
    points_to_redeem: int = 0
    items: list[Item] = field(default_factory=list)


def scan_is_rate_limited(*, merchant: Merchant, user: User, ip_address: str | None) -> bool:
    """Too many failed scans by this user, or from this address, in a short window: paused for a while."""
    limit = setting("scan.max_failures")
    window = timedelta(minutes=setting("scan.failure_window_minutes"))
    block = timedelta(minutes=setting("scan.block_minutes"))
    now = timezone.now()
    for who in ({"scanned_by": user}, {"ip_address": ip_address} if ip_address else None):
        if who is None:
            continue
        times = sorted(
            QRScanLog.objects.filter(
                merchant=merchant, scan_result__in=FAILURES, created_at__gte=now - window - block, **who
            ).values_list("created_at", flat=True)
        )
        for i in range(limit - 1, len(times)):
            if times[i] - times[i - limit + 1] <= window and now - times[i] <= block:
                return True
    return False


def _identify(merchant: Merchant, text: str) -> ScanOutcome:
    if tokens.is_card_token(text):
        try:
            code = tokens.customer_code_of(text, max_age_seconds=setting("card.token_max_age_seconds"))
        except tokens.TokenError as error:
            return ScanOutcome(error.reason, str(error))
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
    customer = Customer.objects.filter(customer_code=code).first()
    if customer is None:
        return ScanOutcome(Result.UNKNOWN_CODE, "No customer has this code.")
    if customer.status != Customer.Status.ACTIVE:
        return ScanOutcome(Result.INACTIVE_CUSTOMER, f"This customer's card is {customer.status}.", customer)
    return ScanOutcome(Result.SUCCESS, f"{customer.full_name}", customer)


@transaction.atomic
def scan_resolve(
    *, merchant: Merchant, user: User, text: str, ip_address: str | None = None, user_agent: str = ""
) -> ScanOutcome:
    """Turn what the camera or the cashier read into a customer; every attempt is logged."""
    text = (text or "").strip()[:512]
    if scan_is_rate_limited(merchant=merchant, user=user, ip_address=ip_address):
        outcome = ScanOutcome(
            Result.RATE_LIMITED,
            f"Too many failed scans: scanning is paused for up to {setting('scan.block_minutes')} minutes.",
        )
    else:
        outcome = _identify(merchant, text)
    QRScanLog.objects.create(
        merchant=merchant,
        scanned_by=user,
        scanned_code=text,
        scan_result=outcome.result,
        customer=outcome.customer,
        ip_address=ip_address,
        user_agent=user_agent[:1000],
    )
    return outcome


def _refusal(error: IntegrityError) -> str:
    """The database's own words for a refused sale (a trigger's or a constraint's)."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    if constraint == "customer_loyalty_accounts_current_points_nonnegative":
        return "The customer does not have that many points."
    message = getattr(diag, "message_primary", None) or str(error).split("\n")[0]
    return message[0].upper() + message[1:] + "." if message else "The sale was refused."


def checkout_complete(*, merchant: Merchant, user: User, checkout: Checkout) -> tuple[Transaction, bool]:
    """Record a completed sale; the database awards and redeems the points.

    Returns the sale and whether it is new: the same idempotency key again (a double click, a
    resubmitted form) returns the first sale, and a different sale under a used key is refused.
    """
    if checkout.items:
        total = sum((item.unit_price * item.quantity for item in checkout.items), Decimal("0"))
        if total != checkout.amount:
            raise CheckoutError(f"The items add up to {total}, not {checkout.amount}.")
    existing = _replay(merchant, checkout)
    if existing:
        return existing, False
    customer = Customer.objects.filter(pk=checkout.customer_id).first()
    if customer is None or customer.status != Customer.Status.ACTIVE:
        raise CheckoutError("This customer cannot buy with points here: scan their card again.")
    scanned = QRScanLog.objects.filter(
        merchant=merchant,
        scanned_by=user,
        customer=customer,
        scan_result=Result.SUCCESS,
        created_at__gte=timezone.now() - timedelta(minutes=SCAN_VALID_MINUTES),
    )
    if not scanned.exists():
        raise CheckoutError("Scan the customer's card first.")
    try:
        with transaction.atomic():
            set_acting_user(user)
            sale = Transaction.objects.create(
                merchant=merchant,
                customer=customer,
                amount=checkout.amount,
                payment_method=checkout.payment_method,
                status=Transaction.Status.COMPLETED,
                points_redeemed=checkout.points_to_redeem,
                idempotency_key=checkout.idempotency_key,
                created_by=user,
            )
            for item in checkout.items:
                sale.items.create(
                    product_name=item.product_name,
                    product_sku=item.product_sku,
                    quantity=item.quantity,
                    unit_price=item.unit_price,
                )
    except IntegrityError as error:
        existing = _replay(merchant, checkout)  # another request with this key won the race
        if existing:
            return existing, False
        raise CheckoutError(_refusal(error)) from error
    sale.refresh_from_db()
    transaction.on_commit(lambda: flag_frequent_buyer(merchant=merchant, customer=customer))
    return sale, True


def _replay(merchant: Merchant, checkout: Checkout) -> Transaction | None:
    sale = Transaction.objects.filter(merchant=merchant, idempotency_key=checkout.idempotency_key).first()
    if sale is None:
        return None
    same = (sale.customer_id, sale.amount, sale.points_redeemed) == (
        checkout.customer_id,
        checkout.amount,
        checkout.points_to_redeem,
    )
    if not same:
        raise CheckoutError("This checkout form was already used for another sale: start a new one.")
    return sale


@transaction.atomic
def flag_frequent_buyer(*, merchant: Merchant, customer: Customer) -> FraudFlag | None:
    """Flag a customer completing more than fraud.max_sales sales here within fraud.window_minutes."""
    window = timedelta(minutes=setting("fraud.window_minutes"))
    since = timezone.now() - window
    sales = Transaction.objects.filter(
        merchant=merchant, customer=customer, created_at__gte=since, status=Transaction.Status.COMPLETED
    ).aggregate(n=Count("id"))["n"]
    if sales <= setting("fraud.max_sales"):
        return None
    if FraudFlag.objects.filter(merchant=merchant, customer=customer, created_at__gte=since).exists():
        return None
    return FraudFlag.objects.create(
        merchant=merchant,
        customer=customer,
        reason=f"{sales} sales by {customer.full_name} ({customer.customer_code}) within "
        f"{setting('fraud.window_minutes')} minutes",
    )
