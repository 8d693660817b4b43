import django_tables2 as tables
from django.utils.html import format_html

from system.codes import mask_code
from system.tables import WIDE_ONLY, BaseTable, LocalDateTimeColumn, MoneyColumn, NumberColumn
from transactions.models import Transaction

BADGES = {
    "completed": "success",
    "pending": "warning",
    "refunded": "secondary",
    "cancelled": "dark",
    "failed": "danger",
}


class TransactionTable(BaseTable):
    created_at = LocalDateTimeColumn(
        verbose_name="Time", format="j M Y H:i", linkify=("transaction", {"pk": tables.A("pk")})
    )
    customer = tables.Column("Customer", order_by=("customer__last_name", "customer__first_name"))
    customer_code = tables.Column("Code", accessor="customer__customer_code", orderable=False, attrs=WIDE_ONLY)
    amount = MoneyColumn()
    payment_method = tables.Column("Payment", attrs=WIDE_ONLY)
    status = tables.Column()
    points_earned = NumberColumn("Points")
    external_reference = tables.Column("Reference", orderable=False, attrs=WIDE_ONLY)

    class Meta(BaseTable.Meta):
        model = Transaction
        fields = (
            "created_at",
            "amount",
            "customer",
            "status",
            "points_earned",
            "payment_method",
            "customer_code",
            "external_reference",
        )
        sequence = fields
        order_by = "-created_at"

    def render_customer_code(self, value):
        return mask_code(value)

    def value_customer_code(self, value):
        return mask_code(value)

    def render_customer(self, record):
        return record.customer.full_name

    def value_customer(self, record):
        return record.customer.full_name

    def render_payment_method(self, record):
        return record.get_payment_method_display()

    def render_status(self, record):
        badge = format_html(
            '<span class="badge text-bg-{}">{}</span>', BADGES.get(record.status, "light"), record.status
        )
        if record.status == "completed" and record.refunded_amount:
            badge += format_html(' <span class="badge text-bg-light border">part refunded</span>')
        return badge

    def value_status(self, record):
        return "completed, part refunded" if record.status == "completed" and record.refunded_amount else record.status
