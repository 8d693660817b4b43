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
