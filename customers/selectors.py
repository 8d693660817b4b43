"""Reads of a merchant's loyalty members."""

from datetime import date

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404

from analytics.models import CustomerSummary, CustomerVisit
from customers.models import Customer
from loyalty.models import CustomerLoyaltyAccount, PointsTransaction
from merchants.models import Merchant
from transactions.models import Transaction
from transactions.selectors import LEDGER_ORDER


def customer_get(customer_id) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def member_at(*, merchant: Merchant, customer: Customer) -> CustomerSummary | None:
    return CustomerSummary.objects.filter(merchant=merchant, customer=customer).first()


def card_balances(*, customer: Customer):
    return (
        CustomerLoyaltyAccount.objects.filter(customer=customer)
        .select_related("merchant")
        .order_by("merchant__business_name")
    )


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


def member_ledger(*, member: CustomerSummary, limit: int = 50) -> QuerySet[PointsTransaction]:
    return (
        PointsTransaction.objects.filter(customer_loyalty_account_id=member.account_id)
        .select_related("transaction", "created_by")
        .order_by("-created_at", LEDGER_ORDER.desc(), "-id")[:limit]
    )


def member_transactions(*, member: CustomerSummary, limit: int = 10) -> QuerySet[Transaction]:
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
