"""A customer's own data, as their card page's "Download my data" gives it (loyalty/card_privacy_views.py): it
reads the accounts, the ledger, the sales and the visits, so it lives in the highest of their apps and the URL
wiring hands it to the card page."""

import zoneinfo
from datetime import datetime

from analytics.models import CustomerVisit
from customers.models import Customer, ErasureRequest
from loyalty.models import CustomerLoyaltyAccount, PointsTransaction
from loyalty.selectors import account_standing
from transactions.models import Transaction

LIMIT = 5000  # rows of each list at most, newest first; "truncated" says when there were more


def _time(moment: datetime | None, tz: zoneinfo.ZoneInfo) -> str | None:
    """ISO 8601 with the offset, in the merchant's time zone."""
    return moment.astimezone(tz).isoformat() if moment else None


def _limited(queryset, limit: int) -> tuple[list, bool]:
    rows = list(queryset[: limit + 1])
    return rows[:limit], len(rows) > limit


def customer_data(customer: Customer, limit: int = LIMIT) -> dict:
    """Everything the system keeps about `customer` that is theirs to see: their own fields (never the card
    link's secret), their accounts, sales, ledger rows and visits, each list newest first and at most `limit`
    rows, with `truncated` naming the lists that were cut."""
    truncated = []
    zones: dict[str, zoneinfo.ZoneInfo] = {}

    def zone(merchant) -> zoneinfo.ZoneInfo:
        if merchant.timezone not in zones:
            zones[merchant.timezone] = zoneinfo.ZoneInfo(merchant.timezone)
        return zones[merchant.timezone]

    utc = zoneinfo.ZoneInfo("UTC")
    accounts = []
    for account in CustomerLoyaltyAccount.objects.filter(customer=customer).select_related(
        "merchant", "loyalty_program"
    ):
        standing = account_standing(merchant=account.merchant, customer_id=customer.pk)
        accounts.append(
            {
                "merchant": account.merchant.business_name,
                "points": account.current_points,
                "tier": standing.tier,
                "points_earned": account.total_points_earned,
                "points_redeemed": account.total_points_redeemed,
                "expiring_points": standing.expiring_points,
                "expiring_at": _time(standing.expiring_at, zone(account.merchant)),
                "member_since": _time(account.created_at, zone(account.merchant)),
                "shares_email": account.shares_email,
                "shares_phone": account.shares_phone,
            }
        )
    accounts.sort(key=lambda row: row["merchant"])

    sales_rows, cut = _limited(
        Transaction.objects.filter(customer=customer).select_related("merchant").order_by("-created_at", "-id"), limit
    )
    if cut:
        truncated.append("sales")
    sales = [
        {
            "merchant": sale.merchant.business_name,
            "time": _time(sale.completed_at or sale.created_at, zone(sale.merchant)),
            "amount": str(sale.amount),
            "currency": sale.currency,
            "status": sale.status,
            "points_earned": sale.points_earned,
            "points_redeemed": sale.points_redeemed,
            "refunded_amount": str(sale.refunded_amount),
            "description": sale.description,
        }
        for sale in sales_rows
    ]

    ledger_rows, cut = _limited(
        PointsTransaction.objects.filter(customer_loyalty_account__customer=customer)
        .select_related("customer_loyalty_account__merchant")
        .order_by("-created_at", "-id"),
        limit,
    )
    if cut:
        truncated.append("points")
    points = [
        {
            "merchant": row.customer_loyalty_account.merchant.business_name,
            "time": _time(row.created_at, zone(row.customer_loyalty_account.merchant)),
            "type": row.transaction_type,
            "points": row.points_change,
            "balance_after": row.balance_after,
            "description": row.description,
        }
        for row in ledger_rows
    ]

    visit_rows, cut = _limited(
        CustomerVisit.objects.filter(customer=customer).select_related("merchant").order_by("-visit_date", "-id"),
        limit,
    )
    if cut:
        truncated.append("visits")
    visits = [
        {
            "merchant": visit.merchant.business_name,
            "date": visit.visit_date.isoformat(),
            "visits": visit.visit_count,
            "spent": str(visit.total_spent),
        }
        for visit in visit_rows
    ]

    requests = [
        {"time": _time(row.created_at, utc), "status": row.status}
        for row in ErasureRequest.objects.filter(customer=customer).order_by("-created_at")[:100]
    ]
    return {
        "customer": {
            "customer_code": customer.customer_code,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "phone": customer.phone,
            "date_of_birth": customer.date_of_birth.isoformat() if customer.date_of_birth else None,
            "status": customer.status,
            "member_since": _time(customer.created_at, utc),
            "total_spent": str(customer.total_spent),
            "total_sales": customer.total_transactions,
            "last_visit_at": _time(customer.last_visit_at, utc),
        },
        "accounts": accounts,
        "sales": sales,
        "points": points,
        "visits": visits,
        "erasure_requests": requests,
        "limit_per_list": limit,
        "truncated": truncated,
    }
