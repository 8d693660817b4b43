import django_tables2 as tables
from django.utils.html import format_html

from analytics.models import CustomerSummary, MerchantDailyAnalytics
from customers import phones
from system.codes import mask_code
from system.tables import WIDE_ONLY, BaseTable, LocalDateTimeColumn, MoneyColumn, NumberColumn


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


BADGES = {
    "active": "success",
    "new": "info",
    "at_risk": "warning",
    "lapsed": "secondary",
    "inactive": "dark",
    "blocked": "danger",
}


class MemberTable(BaseTable):
    name = tables.Column(
        "Name",
        accessor="last_name",
        order_by=("last_name", "first_name"),
        linkify=("customer", {"pk": tables.A("customer_id")}),
    )
    customer_code = tables.Column("Code", attrs=WIDE_ONLY)
    email = tables.Column(attrs=WIDE_ONLY)
    phone = tables.Column(attrs=WIDE_ONLY)
    current_points = NumberColumn("Points")
    total_spent = MoneyColumn("Spent here")
    total_transactions = NumberColumn("Visits")
    last_visit_at = LocalDateTimeColumn(verbose_name="Last visit", format="j M Y")
    loyalty_status = tables.Column("Status")

    class Meta(BaseTable.Meta):
        model = CustomerSummary
        fields = (
            "name",
            "customer_code",
            "email",
            "phone",
            "current_points",
            "total_spent",
            "total_transactions",
            "last_visit_at",
            "loyalty_status",
        )
        order_by = "-current_points"

    def render_name(self, record):
        if record.customer_status == "erased":
            return "Erased customer"
        return f"{record.first_name} {record.last_name}".strip()

    def value_name(self, record):
        return self.render_name(record)

    def render_customer_code(self, value):
        return mask_code(value)

    def value_customer_code(self, value):
        return mask_code(value)

    def render_phone(self, value):
        return phones.display(value)

    def render_loyalty_status(self, value):
        return format_html(
            '<span class="badge text-bg-{}">{}</span>', BADGES.get(value, "light"), value.replace("_", " ")
        )

    def value_loyalty_status(self, value):
        return value
