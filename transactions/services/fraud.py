"""Fraud flags: patterns worth a look, checked after sales. A flag blocks nothing."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from merchants.models import Merchant
from system.models import FraudFlag
from system.settings_store import settings_of
from transactions import selectors


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
