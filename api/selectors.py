"""Reads of the point-of-sale API, always for the key's merchant."""

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from analytics.selectors import FIGURES, daily_rows
from api.models import ApiKey
from loyalty.models import PointsTransaction
from merchants.models import Merchant
from transactions.models import Transaction, TransactionRefund


def api_key_list(*, merchant: Merchant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(merchant=merchant).select_related("created_by").order_by("revoked_at", "-created_at")


class CursorError(ValueError):
    pass


def cursor_encode(created_at: datetime, pk: UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, UUID]:
    """The (time, id) a page starts after; CursorError for anything that is not a cursor of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, pk = raw.split("|")
        created_at = datetime.fromisoformat(when)
        if created_at.tzinfo is None:
            raise ValueError("naive time")
        return created_at, UUID(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise CursorError("This is not a cursor from a previous page.") from error


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _page(qs: QuerySet, *, cursor: str | None, limit: int) -> Page:
    """Newest first, by (created_at, id): a row written while paging never shifts a page."""
    if cursor:
        created_at, pk = cursor_decode(cursor)
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    rows = list(qs.order_by("-created_at", "-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, cursor_encode(rows[-1].created_at, rows[-1].pk) if more and rows else None)


REFUNDS = Prefetch("refunds", queryset=TransactionRefund.objects.order_by("created_at", "id"))


def sale_get(*, merchant: Merchant, transaction_id) -> Transaction:
    return get_object_or_404(
        Transaction.objects.filter(merchant=merchant)
        .select_related("customer", "merchant")
        .prefetch_related("items", REFUNDS),
        pk=transaction_id,
    )


def sale_page(
    *,
    merchant: Merchant,
    cursor: str | None = None,
    limit: int = 50,
    status: str | None = None,
    payment_method: str | None = None,
    customer_id: UUID | None = None,
    external_reference: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> Page:
    qs = Transaction.objects.filter(merchant=merchant).select_related("customer").prefetch_related("items", REFUNDS)
    if status:
        qs = qs.filter(status=status)
    if payment_method:
        qs = qs.filter(payment_method=payment_method)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if external_reference:
        qs = qs.filter(external_reference=external_reference)
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    return _page(qs, cursor=cursor, limit=limit)


def ledger_page(*, account_id, cursor: str | None = None, limit: int = 50) -> Page:
    qs = PointsTransaction.objects.filter(customer_loyalty_account_id=account_id)
    return _page(qs, cursor=cursor, limit=limit)


def daily_figures(*, merchant: Merchant, first: date, last: date) -> list[dict]:
    """One entry per merchant-local date of the range, zeros where there were no sales."""
    by_date = {row.date: row for row in daily_rows(merchant=merchant, first=first, last=last)}
    days = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        row = by_date.get(day)
        days.append({"date": day, **{name: getattr(row, name) if row else 0 for name in FIGURES}})
    return days
