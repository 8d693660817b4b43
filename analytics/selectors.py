"""Reads of the dashboard pages and of a merchant's members (the customer_summary view), all for one merchant."""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractIsoWeekDay, TruncMonth
from django.shortcuts import get_object_or_404

from analytics.models import (
    CustomerSummary,
    CustomerVisit,
    MerchantDailyAnalytics,
    MerchantDashboard,
    MerchantHourlyAnalytics,
)
from customers.models import Customer
from loyalty.models import CustomerLoyaltyAccount, PointsTransaction
from merchants.models import Merchant
from transactions.models import Transaction
from transactions.selectors import LEDGER_ORDER

PERIODS = (7, 30, 90)
FIGURES = (
    "total_sales",
    "total_transactions",
    "unique_customers",
    "new_customers",
    "points_issued",
    "points_redeemed",
    "points_reversed",
    "total_refunds",
    "refund_count",
)


@dataclass
class PeriodFigures:
    first: date
    last: date
    total_sales: Decimal = Decimal("0")
    total_transactions: int = 0
    customers: int = 0
    new_customers: int = 0
    points_issued: int = 0
    points_redeemed: int = 0
    total_refunds: Decimal = Decimal("0")
    days: list[dict] = field(default_factory=list)  # one per date, zeros where no sales

    @property
    def average_ticket(self) -> Decimal:
        if not self.total_transactions:
            return Decimal("0")
        return (self.total_sales / self.total_transactions).quantize(Decimal("0.01"))


def dashboard_today(*, merchant: Merchant) -> MerchantDashboard:
    return MerchantDashboard.objects.get(merchant=merchant)


def daily_rows(*, merchant: Merchant, first: date, last: date) -> QuerySet[MerchantDailyAnalytics]:
    return MerchantDailyAnalytics.objects.filter(merchant=merchant, date__range=(first, last)).order_by("date")


def period_figures(*, merchant: Merchant, last: date, days: int, through_today: bool = False) -> PeriodFigures:
    """Figures of the `days` days ending `last` (merchant-local dates), from the pre-aggregated days.

    `through_today`: `last` is the merchant's today, so the period's customers are those whose last
    visit is in it.
    """
    first = last - timedelta(days=days - 1)
    period = PeriodFigures(first=first, last=last)
    by_date = {row.date: row for row in daily_rows(merchant=merchant, first=first, last=last)}
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_date.get(day)
        values = {name: getattr(row, name) if row else 0 for name in FIGURES}
        period.days.append({"date": day, **values})
        period.total_sales += Decimal(values["total_sales"])
        period.total_transactions += values["total_transactions"]
        period.new_customers += values["new_customers"]
        period.points_issued += values["points_issued"]
        period.points_redeemed += values["points_redeemed"]
        period.total_refunds += Decimal(values["total_refunds"])
    if through_today:  # whoever came since the first day: an index range over the accounts
        since = datetime.combine(first, time.min, tzinfo=zoneinfo.ZoneInfo(merchant.timezone))
        period.customers = CustomerLoyaltyAccount.objects.filter(merchant=merchant, last_visit_at__gte=since).count()
    else:
        period.customers = (
            CustomerVisit.objects.filter(merchant=merchant, visit_date__range=(first, last))
            .values("customer_id")
            .distinct()
            .count()
        )
    return period


def visits_by_weekday_and_hour(*, merchant: Merchant, first: date, last: date) -> dict[tuple[int, int], int]:
    """Completed sales per (ISO weekday 1-7, local hour 0-23) over the period, from the hourly figures."""
    rows = (
        MerchantHourlyAnalytics.objects.filter(merchant=merchant, date__range=(first, last))
        .annotate(weekday=ExtractIsoWeekDay("date"))
        .values("weekday", "hour")
        .annotate(sales=Sum("total_transactions"))
        .values_list("weekday", "hour", "sales")
    )
    return {(weekday, hour): sales for weekday, hour, sales in rows}


def recent_transactions(*, merchant: Merchant, limit: int = 10) -> QuerySet[Transaction]:
    return Transaction.objects.filter(merchant=merchant).select_related("customer").order_by("-created_at")[:limit]


# A merchant's loyalty members: customers with an account there, with their figures here


def member_at(*, merchant: Merchant, customer: Customer) -> CustomerSummary | None:
    return CustomerSummary.objects.filter(merchant=merchant, customer=customer).first()


def member_list(*, merchant: Merchant, search: str = "") -> QuerySet[CustomerSummary]:
    """The merchant's members (customers with an account there); search by name, email, phone or code."""
    qs = CustomerSummary.objects.filter(merchant=merchant)
    for word in search.split():
        code = word.replace("-", "").upper()
        qs = qs.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
            | Q(customer_code=code)
        )
    return qs.order_by("-current_points", "last_name")


def member_get(*, merchant: Merchant, customer_id) -> CustomerSummary:
    return get_object_or_404(CustomerSummary.objects.filter(merchant=merchant), customer_id=customer_id)


MEMBER_LEDGER_ROWS = 50  # a member's page shows their latest movements and sales, and says how many at most
MEMBER_TRANSACTION_ROWS = 10


def member_ledger(*, member: CustomerSummary, limit: int = MEMBER_LEDGER_ROWS) -> QuerySet[PointsTransaction]:
    return (
        PointsTransaction.objects.filter(customer_loyalty_account_id=member.account_id)
        .select_related("transaction", "created_by")
        .order_by("-created_at", LEDGER_ORDER.desc(), "-id")[:limit]
    )


def member_transactions(*, member: CustomerSummary, limit: int = MEMBER_TRANSACTION_ROWS) -> QuerySet[Transaction]:
    return Transaction.objects.filter(merchant_id=member.merchant_id, customer_id=member.customer_id).order_by(
        "-created_at"
    )[:limit]


def member_months(*, member: CustomerSummary, since: date) -> list[dict]:
    """Visits and spend per month at this merchant, from the visits kept per day."""
    return list(
        CustomerVisit.objects.filter(
            customer_id=member.customer_id, merchant_id=member.merchant_id, visit_date__gte=since
        )
        .annotate(month=TruncMonth("visit_date"))
        .values("month")
        .annotate(visits=Sum("visit_count"), spent=Sum("total_spent"), days=Count("id"))
        .order_by("month")
    )
