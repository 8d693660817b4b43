"""Reads of a merchant's transactions."""

from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from loyalty.models import PointsTransaction
from merchants.models import Merchant
from system import codes
from system.codes import CUSTOMER_CODE_LENGTH
from system.models import AuditLog
from transactions.models import Transaction


def local_midnight(day: date) -> datetime:
    """The start of `day` in the current (the merchant's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def transaction_list(*, merchant: Merchant, today_only: bool = False) -> QuerySet[Transaction]:
    qs = Transaction.objects.filter(merchant=merchant).select_related("customer").order_by("-created_at")
    if today_only:
        qs = qs.filter(created_at__gte=local_midnight(timezone.localdate()))
    return qs


def transaction_get(*, merchant: Merchant, pk, today_only: bool = False) -> Transaction:
    return get_object_or_404(transaction_list(merchant=merchant, today_only=today_only), pk=pk)


def transaction_items(*, sale: Transaction):
    return sale.items.order_by("created_at", "product_name")


def transaction_points(*, sale: Transaction) -> QuerySet[PointsTransaction]:
    return PointsTransaction.objects.filter(transaction=sale).select_related("created_by").order_by("created_at")


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
    """A customer code (exact), else any part of a name or email."""
    text = text.strip()
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) == CUSTOMER_CODE_LENGTH and codes.is_valid(code):
        return qs.filter(customer__customer_code=code)
    condition = Q()
    for word in text.split():
        condition &= (
            Q(customer__first_name__icontains=word)
            | Q(customer__last_name__icontains=word)
            | Q(customer__email__icontains=word)
        )
    return qs.filter(condition)
