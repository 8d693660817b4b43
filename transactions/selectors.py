"""Reads of a merchant's transactions."""

from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from customers.models import Customer
from loyalty.models import CustomerLoyaltyAccount, PointsTransaction
from merchants.models import Merchant
from system import codes
from system.codes import CUSTOMER_CODE_LENGTH
from system.db import columns, from_row
from system.models import AuditLog, QRScanLog
from transactions.models import Transaction, TransactionRefund


def local_midnight(day: date) -> datetime:
    """The start of `day` in the current (the merchant's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def transaction_list(*, merchant: Merchant, today_only: bool = False) -> QuerySet[Transaction]:
    qs = Transaction.objects.filter(merchant=merchant).select_related("customer", "created_by").order_by("-created_at")
    if today_only:
        qs = qs.filter(created_at__gte=local_midnight(timezone.localdate()))
    return qs


def transaction_get(*, merchant: Merchant, pk, today_only: bool = False) -> Transaction:
    return get_object_or_404(transaction_list(merchant=merchant, today_only=today_only), pk=pk)


def transaction_items(*, sale: Transaction):
    return sale.items.order_by("created_at", "product_name")


# Rows written at one time (a bulk load) in the order a sale writes them.
LEDGER_ORDER = Case(
    When(transaction_type="redeem", then=1),
    When(transaction_type="earn", then=2),
    When(transaction_type="reverse", points_change__gt=0, then=3),
    default=4,
)


def transaction_points(*, sale: Transaction) -> QuerySet[PointsTransaction]:
    return (
        PointsTransaction.objects.filter(transaction=sale)
        .select_related("created_by")
        .order_by("created_at", LEDGER_ORDER, "id")
    )


def transaction_refunds(*, sale: Transaction):
    return TransactionRefund.objects.filter(transaction=sale).select_related("created_by").order_by("created_at", "id")


def transaction_history(*, sale: Transaction) -> QuerySet[AuditLog]:
    return (
        AuditLog.objects.filter(table_name="transactions", record_id=sale.pk)
        .select_related("user")
        .order_by("created_at")
    )


def filter_created_between(qs: QuerySet, first: date | None, last: date | None) -> QuerySet:
    if first:
        qs = qs.filter(created_at__gte=local_midnight(first))
    if last:
        qs = qs.filter(created_at__lt=local_midnight(last + timedelta(days=1)))
    return qs


def filter_customer(qs: QuerySet, text: str) -> QuerySet:
    """A customer code (exact), else any part of a name, or of an email the customer gave the sale's merchant."""
    text = text.strip()
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) == CUSTOMER_CODE_LENGTH and codes.is_valid(code):
        return qs.filter(customer__customer_code=code)
    shared_email = CustomerLoyaltyAccount.objects.filter(
        merchant=OuterRef("merchant"), customer=OuterRef("customer"), shares_email=True
    )
    condition = Q()
    for word in text.split():
        condition &= (
            Q(customer__first_name__icontains=word)
            | Q(customer__last_name__icontains=word)
            | (Q(customer__email__icontains=word) & Exists(shared_email))
        )
    return qs.filter(condition)


# The counter's lookups run at every scan and sale: plain SQL, a fraction of the ORM's cost per call
# (docs/benchmarks.md).
_CUSTOMER_SQL = "SELECT {} FROM customers c WHERE c.{} = %s"


def _customer_where(column: str, value):
    with connection.cursor() as cursor:
        cursor.execute(_CUSTOMER_SQL.format(columns(Customer, "c"), column), [value])
        row = cursor.fetchone()
    return from_row(Customer, row) if row else None


def customer_by_code(code: str):
    return _customer_where("customer_code", code)


def customer_by_id(customer_id):
    try:
        return _customer_where("id", UUID(str(customer_id)))
    except ValueError:
        return None


def card_token_used(*, customer, token: str) -> bool:
    """A card token is good for one successful scan."""
    return QRScanLog.objects.filter(customer=customer, scanned_code=token, scan_result="success").exists()


# Failed scans count from the latest lift of the pause of their user, or of their address, here (scan_pause_lifts).
_FAILED_SCANS_SQL = """
    SELECT 'user', min(created_at) FROM qr_scan_logs
     WHERE merchant_id = %(merchant)s AND scanned_by_id = %(user)s AND created_at >= %(since)s
       AND scan_result NOT IN ('success', 'rate_limited')
       AND created_at > coalesce((SELECT max(l.created_at) FROM scan_pause_lifts l
                                   WHERE l.merchant_id = %(merchant)s AND l.scanned_by_id = %(user)s), '-infinity')
     GROUP BY scanned_code
     UNION ALL
    SELECT 'address', min(created_at) FROM qr_scan_logs
     WHERE merchant_id = %(merchant)s AND ip_address = %(ip)s AND created_at >= %(since)s
       AND scan_result NOT IN ('success', 'rate_limited')
       AND created_at > coalesce((SELECT max(l.created_at) FROM scan_pause_lifts l
                                   WHERE l.merchant_id = %(merchant)s AND l.ip_address = %(ip)s), '-infinity')
     GROUP BY scanned_code
"""


def failed_scans(*, merchant: Merchant, since: datetime, user, ip_address: str | None) -> dict[str, list[datetime]]:
    """When the distinct wrong codes of `user`, and of `ip_address`, were first read since `since` and since the
    latest lift of their pause (one query)."""
    found = {"user": [], "address": []}
    with connection.cursor() as cursor:
        cursor.execute(_FAILED_SCANS_SQL, {"merchant": merchant.pk, "user": user.pk, "ip": ip_address, "since": since})
        for who, first in cursor.fetchall():
            found[who].append(first)
    return found


_FAILED_SCANS_HERE_SQL = """
    SELECT 'user', s.scanned_by_id::text, min(s.created_at) FROM qr_scan_logs s
     WHERE s.merchant_id = %(merchant)s AND s.scanned_by_id IS NOT NULL AND s.created_at >= %(since)s
       AND s.scan_result NOT IN ('success', 'rate_limited')
       AND s.created_at > coalesce((SELECT max(l.created_at) FROM scan_pause_lifts l
                                     WHERE l.merchant_id = s.merchant_id AND l.scanned_by_id = s.scanned_by_id),
                                   '-infinity')
     GROUP BY s.scanned_by_id, s.scanned_code
     UNION ALL
    SELECT 'address', host(s.ip_address), min(s.created_at) FROM qr_scan_logs s
     WHERE s.merchant_id = %(merchant)s AND s.ip_address IS NOT NULL AND s.created_at >= %(since)s
       AND s.scan_result NOT IN ('success', 'rate_limited')
       AND s.created_at > coalesce((SELECT max(l.created_at) FROM scan_pause_lifts l
                                     WHERE l.merchant_id = s.merchant_id AND l.ip_address = s.ip_address),
                                   '-infinity')
     GROUP BY s.ip_address, s.scanned_code
"""


def failed_scans_here(*, merchant: Merchant, since: datetime) -> dict[tuple[str, str], list[datetime]]:
    """failed_scans() of every user and address at `merchant`: {("user", user id) or ("address", ip): times}."""
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(_FAILED_SCANS_HERE_SQL, {"merchant": merchant.pk, "since": since})
        for who, name, first in cursor.fetchall():
            found.setdefault((who, name), []).append(first)
    return found


def scan_for_checkout(*, merchant: Merchant, user, scan_id, minutes: int) -> QRScanLog | None:
    """A successful scan by `user` here, in the last `minutes`, not used for a sale yet."""
    try:
        return (
            QRScanLog.objects.filter(
                pk=scan_id,
                merchant=merchant,
                scanned_by=user,
                scan_result="success",
                sale=None,
                created_at__gte=timezone.now() - timedelta(minutes=minutes),
            )
            .select_related("customer")
            .first()
        )
    except (ValueError, ValidationError):
        return None


def sale_by_idempotency_key(*, merchant: Merchant, key: str) -> Transaction | None:
    return Transaction.objects.filter(merchant=merchant, idempotency_key=key).first()


def completed_sales_since(*, merchant: Merchant, customer, since: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM transactions WHERE merchant_id = %s AND customer_id = %s AND created_at >= %s"
            " AND status = 'completed'",
            [merchant.pk, customer.pk, since],
        )
        return cursor.fetchone()[0]


def balance_after_sale(*, sale: Transaction) -> int | None:
    """The customer's points here right after `sale`: its earn row, else its redeem row, else none moved."""
    rows = dict(
        PointsTransaction.objects.filter(transaction=sale, transaction_type__in=["earn", "redeem"]).values_list(
            "transaction_type", "balance_after"
        )
    )
    return rows.get("earn", rows.get("redeem"))
