"""Reads of a merchant's transactions, and the counter's lookups."""

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
    code = codes.compact(text)
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
# (docs/benchmarks.md). A merged customer's code finds the customer it was merged into: `t`, the target of `c`.
TARGET_JOIN = "JOIN customers t ON t.id = coalesce(c.merged_into_id, c.id)"
_CUSTOMER_SQL = "SELECT {} FROM customers c " + TARGET_JOIN + " WHERE c.{} = %s"


def _customer_where(column: str, value):
    with connection.cursor() as cursor:
        cursor.execute(_CUSTOMER_SQL.format(columns(Customer, "t"), column), [value])
        row = cursor.fetchone()
    return from_row(Customer, row) if row else None


def customer_by_code(code: str):
    """The customer with this printed code (or the one a merged customer was merged into)."""
    return _customer_where("customer_code", code)


def customer_by_id(customer_id):
    try:
        return _customer_where("id", UUID(str(customer_id)))
    except ValueError:
        return None


def card_code_state(code: str) -> str:
    """Why a short card code was refused: "unknown", "used" or "expired"."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT used_at IS NOT NULL FROM card_codes WHERE code = %s", [code])
        row = cursor.fetchone()
    return "unknown" if row is None else "used" if row[0] else "expired"


_MEMBER_BY_PHONE_SQL = f"""
    SELECT {columns(Customer, "t")} FROM customers c {TARGET_JOIN}
     WHERE c.phone = %(phone)s
       AND EXISTS (SELECT 1 FROM customer_loyalty_accounts a
                    WHERE a.merchant_id = %(merchant)s AND a.customer_id = t.id AND a.shares_phone)
"""


def member_by_phone(*, merchant: Merchant, phone: str) -> Customer | None:
    """The customer with this phone (E.164) who gave it to `merchant` (their account there shares it): a number
    finds nobody at a shop it was not given to. None for anyone else."""
    if not phone:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_BY_PHONE_SQL, {"phone": phone, "merchant": merchant.pk})
        row = cursor.fetchone()
    return from_row(Customer, row) if row else None


# The slack allowed the database's clock around the app's in the time bounds that let the planner read only the
# recent partitions of qr_scan_logs (partitioned by month): the rules themselves use the database's now().
SCAN_SLACK = timedelta(hours=1)


def _scans_until() -> datetime:
    """An upper bound on the scans written so far: with `since`, the planner reads only the recent partitions of
    qr_scan_logs instead of the months ahead."""
    return timezone.now() + SCAN_SLACK


# Failed scans count from the latest lift of the pause of their user, or of their address, here (scan_pause_lifts).
# The same wrong code read again counts once (a camera resting on it); every failed phone lookup counts, as its
# logged code ("phone …0123") does not tell two numbers apart.
_FAILED_SCANS_SQL = """
    SELECT 'user', min(created_at) FROM qr_scan_logs
     WHERE merchant_id = %(merchant)s AND scanned_by_id = %(user)s
       AND created_at BETWEEN %(since)s AND %(until)s
       AND scan_result NOT IN ('success', 'rate_limited')
       AND created_at > coalesce((SELECT max(l.created_at) FROM scan_pause_lifts l
                                   WHERE l.merchant_id = %(merchant)s AND l.scanned_by_id = %(user)s), '-infinity')
     GROUP BY scanned_code, CASE WHEN scanned_code LIKE 'phone %%' THEN id END
     UNION ALL
    SELECT 'address', min(created_at) FROM qr_scan_logs
     WHERE merchant_id = %(merchant)s AND ip_address = %(ip)s
       AND created_at BETWEEN %(since)s AND %(until)s
       AND scan_result NOT IN ('success', 'rate_limited')
       AND created_at > coalesce((SELECT max(l.created_at) FROM scan_pause_lifts l
                                   WHERE l.merchant_id = %(merchant)s AND l.ip_address = %(ip)s), '-infinity')
     GROUP BY scanned_code, CASE WHEN scanned_code LIKE 'phone %%' THEN id END
"""


def failed_scans(*, merchant: Merchant, since: datetime, user, ip_address: str | None) -> dict[str, list[datetime]]:
    """When the distinct wrong codes of `user`, and of `ip_address`, were first read since `since` and since the
    latest lift of their pause (one query)."""
    found = {"user": [], "address": []}
    with connection.cursor() as cursor:
        cursor.execute(
            _FAILED_SCANS_SQL,
            {"merchant": merchant.pk, "user": user.pk, "ip": ip_address, "since": since, "until": _scans_until()},
        )
        for who, first in cursor.fetchall():
            found[who].append(first)
    return found


_FAILED_SCANS_HERE_SQL = """
    SELECT 'user', s.scanned_by_id::text, min(s.created_at) FROM qr_scan_logs s
     WHERE s.merchant_id = %(merchant)s AND s.scanned_by_id IS NOT NULL
       AND s.created_at BETWEEN %(since)s AND %(until)s
       AND s.scan_result NOT IN ('success', 'rate_limited')
       AND s.created_at > coalesce((SELECT max(l.created_at) FROM scan_pause_lifts l
                                     WHERE l.merchant_id = s.merchant_id AND l.scanned_by_id = s.scanned_by_id),
                                   '-infinity')
     GROUP BY s.scanned_by_id, s.scanned_code, CASE WHEN s.scanned_code LIKE 'phone %%' THEN s.id END
     UNION ALL
    SELECT 'address', host(s.ip_address), min(s.created_at) FROM qr_scan_logs s
     WHERE s.merchant_id = %(merchant)s AND s.ip_address IS NOT NULL
       AND s.created_at BETWEEN %(since)s AND %(until)s
       AND s.scan_result NOT IN ('success', 'rate_limited')
       AND s.created_at > coalesce((SELECT max(l.created_at) FROM scan_pause_lifts l
                                     WHERE l.merchant_id = s.merchant_id AND l.ip_address = s.ip_address),
                                   '-infinity')
     GROUP BY s.ip_address, s.scanned_code, CASE WHEN s.scanned_code LIKE 'phone %%' THEN s.id END
"""


def failed_scans_here(*, merchant: Merchant, since: datetime) -> dict[tuple[str, str], list[datetime]]:
    """failed_scans() of every user and address at `merchant`: {("user", user id) or ("address", ip): times}."""
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(_FAILED_SCANS_HERE_SQL, {"merchant": merchant.pk, "since": since, "until": _scans_until()})
        for who, name, first in cursor.fetchall():
            found.setdefault((who, name), []).append(first)
    return found


def checkout_scans(*, merchant: Merchant, user, scan_id, minutes: int):
    """The successful scans by `user` here, in the last `minutes`, not used for a sale yet, with that id."""
    return QRScanLog.objects.filter(
        pk=scan_id,
        merchant=merchant,
        scanned_by=user,
        scan_result="success",
        sale=None,
        created_at__gte=timezone.now() - timedelta(minutes=minutes),
        created_at__lte=_scans_until(),
    ).select_related("customer")


def scan_for_checkout(*, merchant: Merchant, user, scan_id, minutes: int) -> QRScanLog | None:
    """A successful scan by `user` here, in the last `minutes`, not used for a sale yet."""
    try:
        return checkout_scans(merchant=merchant, user=user, scan_id=scan_id, minutes=minutes).first()
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
