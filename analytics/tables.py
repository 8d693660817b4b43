import django_tables2 as tables

from analytics.models import MerchantDailyAnalytics
from loyalty_site.tables import BaseTable, MoneyColumn, NumberColumn


class DailyAnalyticsTable(BaseTable):
    date = tables.DateColumn(format="D j M Y")
    total_sales = MoneyColumn("Sales")
    total_transactions = NumberColumn("Transactions")
    average_transaction_value = MoneyColumn("Average ticket")
    unique_customers = NumberColumn("Customers")
    new_customers = NumberColumn("New customers")
    points_issued = NumberColumn("Points issued")
    points_redeemed = NumberColumn("Points redeemed")
    total_refunds = MoneyColumn("Refunds")
    refund_count = NumberColumn("Refund count")

    class Meta(BaseTable.Meta):
        model = MerchantDailyAnalytics
        fields = (
            "date",
            "total_sales",
            "total_transactions",
            "average_transaction_value",
            "unique_customers",
            "new_customers",
            "points_issued",
            "points_redeemed",
            "total_refunds",
            "refund_count",
        )
        order_by = "-date"
