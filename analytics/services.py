from datetime import timedelta

from django.db import connection, transaction

from merchants.models import Merchant


@transaction.atomic
def analytics_rollup(*, merchant: Merchant) -> None:
    """Fold the merchant's pending per-sale deltas into its day rows, so the table is current to the second.

    Sales do this themselves when no other sale of the merchant is at it; a page that reads the
    day rows does it first for the few deltas a burst of sales may have left.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT rollup_merchant_daily_analytics(%s)", [merchant.pk])


def analytics_fold_pending() -> int:
    """Fold every merchant's pending deltas into its figures (a sale skips the roll-up while another
    holds it, and its deltas wait for the next one); returns the day rows it changed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT rollup_merchant_daily_analytics()")
        return cursor.fetchone()[0]


def analytics_rebuild_recent() -> int:
    """Recompute each merchant's figures of its local yesterday and today from the sales, one merchant per
    transaction (its roll-up lock is held only that long); returns the day rows written."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, (now() AT TIME ZONE timezone)::date FROM merchants ORDER BY id")
        merchants = cursor.fetchall()
    rows = 0
    for merchant_id, today in merchants:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT rebuild_merchant_daily_analytics(%s, %s, %s)", [today - timedelta(days=1), today, merchant_id]
            )
            rows += cursor.fetchone()[0]
    return rows
