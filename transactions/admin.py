from django.contrib import admin

from system.admin import ReadOnlyAdmin
from transactions.models import Transaction, TransactionItem, TransactionRefund


class TransactionItemInline(admin.TabularInline):
    model = TransactionItem
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    """Sales are made at the counter or through the API, and their status moves there: here they are read."""

    list_display = [
        "created_at",
        "merchant",
        "customer",
        "amount",
        "currency",
        "payment_method",
        "status",
        "points_earned",
    ]
    list_filter = ["status", "payment_method", "currency", "created_at"]
    search_fields = ["=id", "=customer__customer_code", "=merchant__merchant_code", "external_reference"]
    list_select_related = ["merchant", "customer"]
    inlines = [TransactionItemInline]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(TransactionItem)
class TransactionItemAdmin(ReadOnlyAdmin):
    list_display = ["product_name", "product_sku", "quantity", "unit_price", "total_price", "transaction"]
    search_fields = ["product_name", "product_sku", "=transaction__id"]
    show_full_result_count = False


@admin.register(TransactionRefund)
class TransactionRefundAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "amount",
        "points_taken_back",
        "points_given_back",
        "points_shortfall",
        "merchant",
    ]
    list_filter = ["kind", "created_at"]
    ordering = ["-created_at"]
    search_fields = ["=transaction__id", "=merchant__merchant_code"]
    list_select_related = ["merchant"]
    show_full_result_count = False
